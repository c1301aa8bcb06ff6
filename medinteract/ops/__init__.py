"""Pure, typed image operations: the numbers behind every panel and batch run.

Each op is a plain function ``op(image, *, spacing=None, **params)`` returning a new array
(``float32`` intensities, ``bool`` masks, ``int32`` labels) or a table; inputs are never
modified, and a :class:`~medinteract.scan.Scan` may be passed instead of an array (its spacing is
then used). Tunable parameters are keyword-only with defaults and annotated with ranges, steps,
units and choices (:mod:`medinteract.params`), which the panels turn into widgets. Your own
function becomes an op the same way::

    from typing import Annotated
    from medinteract.ops import Image, ImageIn, Range, Spacing, op

    @op(category="enhance", label="Brighten")
    def brighten(image: ImageIn, *, spacing: Spacing = None,
                 amount: Annotated[float, Range(0, 500, step=10, unit="HU")] = 100.0) -> Image:
        ...

Geometry
--------
An op returns values, never geometry; the geometry of its output is **declared**. Ops whose
output lies on the input's grid (smoothing, thresholds, labels, ...: almost all) declare
nothing. An op that moves voxels to another grid (another spacing, shape, origin or direction)
is registered with ``@op(..., geometry=f)``, where ``f(geometry, **params)`` returns the output's
:class:`~medinteract.scan.Geometry` for an input on ``geometry``: :func:`resample_isotropic`
with :func:`resample_isotropic_geometry`, :func:`crop` with :func:`crop_geometry`,
:func:`flip` with :func:`flip_geometry`, :func:`rotate90` with :func:`rotate90_geometry`.
:func:`output_geometry` applies the declaration (or keeps the geometry). A
:class:`~medinteract.pipeline.Pipeline` uses it to hand each step the spacing of the grid its
input lies on, and returns a Scan on the last geometry, so region tables, metrics and written
files after such steps are in correct millimetres and patient positions. Your own
grid-changing op declares its geometry the same way::

    from medinteract.ops import Geometry, ImageIn, Image, Spacing, op

    def every_second_geometry(geometry: Geometry) -> Geometry:
        ...  # shape halved, spacing doubled, origin unchanged

    @op(category="preprocess", geometry=every_second_geometry)
    def every_second(image: ImageIn, *, spacing: Spacing = None) -> Image:
        ...

A pipeline refuses a step that changes an array's shape without declaring its geometry.

>>> import medinteract.ops as ops
>>> sorted(ops.list_ops()["category"].unique())
['denoise', 'enhance', 'measure', 'metrics', 'morphology', 'preprocess', 'segment']
"""

from __future__ import annotations

from medinteract.ops import denoise, enhance, measure, metrics, morphology, preprocess, registry
from medinteract.ops import segment
from medinteract.ops.denoise import (bilateral, estimate_noise, gaussian, mean, median, nl_means,
                                     total_variation)
from medinteract.ops.enhance import (clahe, contrast_stretch, equalize_hist, gamma, unsharp_mask,
                                     window)
from medinteract.ops.measure import line_profile, region_columns, region_table, select_labels
from medinteract.ops.metrics import (confusion_counts, dice, hausdorff_distance, iou,
                                     overlap_labels, psnr, ssim)
from medinteract.ops.morphology import (closing, dilation, erosion, fill_holes, label, opening,
                                        remove_small)
from medinteract.ops.registry import OpInfo, get_op, list_ops, op, output_geometry
from medinteract.params import (Box, Choice, Data, FromImage, Image, ImageIn, Labels, LabelsIn,
                                Mask, MaskIn, Overlap, Param, Point, Range, Region, Seed,
                                Spacing, describe, validate_params)
from medinteract.ops.preprocess import (clip_hu, crop, crop_geometry, flip, flip_geometry,
                                        normalize, resample_isotropic,
                                        resample_isotropic_geometry, resampled_spacing, rotate90,
                                        rotate90_geometry)
from medinteract.scan import Geometry
from medinteract.ops.segment import (auto_threshold_value, canny, multi_otsu, multi_otsu_values,
                                     region_grow, sobel, threshold, threshold_auto, watershed)

__all__ = [
    # vocabulary and registry
    "Range", "Choice", "FromImage", "Point", "Region", "Data", "Param", "OpInfo",
    "ImageIn", "MaskIn", "LabelsIn", "Spacing", "Seed", "Box", "Image", "Mask", "Labels",
    "Overlap",
    "describe", "validate_params", "op", "list_ops", "get_op", "output_geometry", "Geometry",
    # denoise
    "gaussian", "median", "mean", "bilateral", "total_variation", "nl_means", "estimate_noise",
    # preprocess
    "resample_isotropic", "resampled_spacing", "crop", "rotate90", "flip", "normalize",
    "clip_hu", "resample_isotropic_geometry", "crop_geometry", "flip_geometry",
    "rotate90_geometry",
    # enhance
    "window", "contrast_stretch", "equalize_hist", "clahe", "gamma", "unsharp_mask",
    # segment
    "threshold", "auto_threshold_value", "threshold_auto", "multi_otsu", "multi_otsu_values",
    "sobel", "canny", "region_grow", "watershed",
    # morphology
    "label", "remove_small", "fill_holes", "opening", "closing", "dilation", "erosion",
    # measure
    "region_table", "region_columns", "select_labels", "line_profile",
    # metrics
    "confusion_counts", "dice", "iou", "hausdorff_distance", "overlap_labels", "psnr", "ssim",
    # modules
    "registry", "denoise", "preprocess", "enhance", "segment", "morphology", "measure", "metrics",
]
