"""Op parameters, with one owner: the table of parameter kinds.

An op declares its tunable parameters keyword-only with defaults and annotated with the
vocabulary in :mod:`medinteract.params.markers` (:class:`Range`, :class:`Choice`,
:class:`FromImage`, :class:`Point`, :class:`Region`, :class:`Data`). :func:`describe` turns
each into a :class:`Param` of a *kind* from :data:`KINDS`; the kind owns the parameter's
validation, its bounds for an image, its widget and its JSON form (see
:mod:`medinteract.params.kinds`, which also says how to add a kind). Ops, pipelines, panels
and checkers all go through it, so a value is accepted or refused the same way everywhere,
with a :class:`~medinteract.errors.ParameterError` naming the op, the parameter and what is
allowed.

>>> from typing import Annotated
>>> def smooth(image: ImageIn, *, spacing: Spacing = None,
...            sigma: Annotated[float, Range(0.0, 10.0, step=0.1, unit="mm")] = 1.0) -> Image:
...     '''Smooth.
...
...     Parameters
...     ----------
...     image : array_like
...         The image.
...     sigma : float
...         Standard deviation in mm.
...     '''
...     return image
>>> [(p.name, p.kind, p.min, p.max, p.step, p.unit) for p in describe(smooth)]
[('spacing', 'spacing', None, None, None, None), ('sigma', 'number', 0.0, 10.0, 0.1, 'mm')]
>>> validate_params(smooth, {"sigma": 2})
{'sigma': 2.0}
"""

from medinteract.params.kinds import (KINDS, Bounds, Param, ParamKind, format_unit, image_unit,
                                      kind_for, nice_step, range_bounds, register_kind,
                                      unregister_kind, value_bounds)
from medinteract.params.markers import (Box, Choice, Data, FromImage, Image, ImageIn, Labels,
                                        LabelsIn, Mask, MaskIn, Overlap, Point, Range, Region,
                                        Seed, Spacing)
from medinteract.params.signature import (describe, inputs, op_label, output_kind,
                                          validate_params)

__all__ = [
    # vocabulary
    "Range", "Choice", "FromImage", "Point", "Region", "Data",
    "ImageIn", "MaskIn", "LabelsIn", "Spacing", "Seed", "Box",
    "Image", "Mask", "Labels", "Overlap",
    # kinds
    "Param", "ParamKind", "KINDS", "register_kind", "unregister_kind", "kind_for", "Bounds",
    "nice_step", "value_bounds", "range_bounds", "format_unit", "image_unit",
    # signatures
    "describe", "inputs", "output_kind", "validate_params", "op_label",
]
