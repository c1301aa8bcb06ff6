"""One widget, many ops: a menu of the ops of a category, each shown as its own panel.

:class:`OpChooser` is headless state (the chosen op and one panel per op tried); its view
(:class:`~medinteract.panels.views.ChooserView`) is a dropdown above the chosen panel's view.

>>> import numpy as np
>>> c = choose(np.eye(16), "denoise")
>>> c.op, type(c.panel).__name__
('gaussian', 'DenoisePanel')
>>> c.op = "median"; c.panel.params
{'size': 3}
"""

from __future__ import annotations

from os import PathLike
from typing import Any, Callable

import traitlets

from medinteract.ops import list_ops
from medinteract.panels.base import Panel, panel
from medinteract.panels.denoising import DenoisePanel, EnhancePanel
from medinteract.panels.model import HasView

__all__ = ["OpChooser", "choose"]

#: Panel class used per category (others: the generic :class:`~medinteract.panels.Panel`).
_FACTORIES: dict[str, Callable[..., Panel]] = {
    "denoise": DenoisePanel,
    "enhance": EnhancePanel,
}


#: The op shown first per category (a cheap, typical one).
_FIRST = {"denoise": "gaussian", "enhance": "window", "segment": "threshold",
          "morphology": "opening", "preprocess": "clip_hu"}


class OpChooser(HasView):
    """The ops of a category and the panel of the chosen one; create it with :func:`choose`.

    Traitlets: ``op`` (the chosen op's name). :attr:`panel` is the current panel; its
    ``result``, ``params`` and ``to_code()`` are those of the chosen op. Each op's panel is
    made when first chosen and keeps its parameters while another op is shown.
    """

    op = traitlets.Unicode(help="Name of the chosen op.")

    def __init__(self, image: Any, category: str, *, ops: list[str] | None = None,
                 op: str | None = None, **kwargs: Any) -> None:
        super().__init__()
        table = list_ops(category)
        table = table[table["output"] != "value"]  # numbers are readouts, not panels
        names = list(ops) if ops is not None else list(table["name"])
        if not names:
            raise ValueError(f"no ops in category {category!r}")
        labels = dict(zip(table["name"], table["label"]))
        #: The category.
        self.category = category
        #: ``(label, name)`` of each op offered, in menu order.
        self.options = [(labels.get(n, n), n) for n in names]
        self._image = image
        self._kwargs = kwargs
        self._factory = _FACTORIES.get(category, panel)
        self._cache: dict[str, Panel] = {}
        self.op = op or (_FIRST[category] if _FIRST.get(category) in names else names[0])

    @traitlets.validate("op")
    def _valid_op(self, proposal: dict) -> str:
        names = [name for _, name in self.options]
        if proposal["value"] not in names:
            raise traitlets.TraitError(f"unknown op {proposal['value']!r}; choose from "
                                       f"{', '.join(names)}")
        return proposal["value"]

    @traitlets.observe("op")
    def _make_panel(self, change: dict) -> None:
        name = change["new"]
        if name not in self._cache:  # each op's panel keeps its parameters when you come back
            self._cache[name] = self._factory(self._image, name, **self._kwargs)

    @property
    def panel(self) -> Panel:
        """The panel of the chosen op."""
        return self._cache[self.op]

    @property
    def result(self) -> Any:
        """The chosen panel's result."""
        return self.panel.result

    def to_code(self, *, path: str | PathLike[str] | None = None) -> str:
        """The chosen panel's code (see :meth:`Panel.to_code`)."""
        return self.panel.to_code(path=path)

    def _make_view(self) -> Any:
        from medinteract.panels.views import ChooserView

        return ChooserView(self)


def choose(image: Any, category: str, *, ops: list[str] | None = None, op: str | None = None,
           **kwargs: Any) -> OpChooser:
    """A dropdown of the ops of a category (``"denoise"``, ``"enhance"``, ``"segment"``,
    ``"morphology"``, ``"preprocess"``) above the panel of the chosen op.

    Parameters
    ----------
    image : Scan or array_like or Panel
    category : str
    ops : list of str, optional
        Offer only these ops (in this order).
    op : str, optional
        The op shown first.
    **kwargs
        Passed to every panel (e.g. ``reference=`` for the denoise panels).
    """
    return OpChooser(image, category, ops=ops, op=op, **kwargs)
