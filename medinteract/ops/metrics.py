"""Agreement between a result and a reference: overlap (Dice, IoU, confusion counts), surface
distance (Hausdorff in mm) and image similarity (PSNR, SSIM).

Every metric takes the reference first, as scikit-learn's ``metric(y_true, y_pred)`` and
scikit-image's ``metric(image_true, image_test)`` do: masks are compared as
``metric(truth, prediction)`` and images as ``metric(reference, image)``. Non-zero is foreground.
Two empty masks agree perfectly (Dice = IoU = 1, Hausdorff = 0).
"""

from __future__ import annotations

from typing import Annotated

import numpy as np
from scipy import ndimage as ndi
from skimage import metrics as skmetrics

from medinteract.ops._util import as_image, as_mask
from medinteract.ops.registry import op
from medinteract.params import ImageIn, MaskIn, Overlap, Range, Spacing

__all__ = ["confusion_counts", "dice", "iou", "hausdorff_distance", "overlap_labels", "psnr",
           "ssim"]


def _pair(truth: MaskIn, prediction: MaskIn, spacing: Spacing = None):
    """(prediction, truth, spacing) as boolean arrays of one shape."""
    b, spacing = as_mask(truth, spacing)
    a, _ = as_mask(prediction, spacing)
    if a.shape != b.shape:
        raise ValueError(f"prediction shape {a.shape} differs from truth shape {b.shape}")
    return a, b, spacing


@op(category="metrics", label="Confusion counts")
def confusion_counts(truth: MaskIn, prediction: MaskIn, *,
                     spacing: Spacing = None) -> dict[str, int]:
    """Pixel counts of true/false positives and negatives.

    Parameters
    ----------
    truth, prediction : array_like
        Masks of the same shape (2-D or 3-D).
    spacing : sequence of float, optional
        Unused (counts are in pixels; multiply by the voxel volume for mm³).

    Returns
    -------
    dict
        ``{"TP": ..., "FP": ..., "FN": ..., "TN": ...}`` as Python ints.

    Examples
    --------
    >>> import numpy as np
    >>> confusion_counts(np.array([[1, 0, 1, 0]]), np.array([[1, 1, 0, 0]]))
    {'TP': 1, 'FP': 1, 'FN': 1, 'TN': 1}
    """
    a, b, _ = _pair(truth, prediction, spacing)
    return {"TP": int(np.count_nonzero(a & b)), "FP": int(np.count_nonzero(a & ~b)),
            "FN": int(np.count_nonzero(~a & b)), "TN": int(np.count_nonzero(~a & ~b))}


@op(category="metrics", label="Dice")
def dice(truth: MaskIn, prediction: MaskIn, *, spacing: Spacing = None) -> float:
    """Dice coefficient ``2 |A ∩ B| / (|A| + |B|)``, in [0, 1]; 1 for two empty masks.

    Parameters
    ----------
    truth, prediction : array_like
        Masks of the same shape.
    spacing : sequence of float, optional
        Unused (a ratio of counts).

    Returns
    -------
    float

    Examples
    --------
    >>> import numpy as np
    >>> dice(np.array([[1, 0, 0, 0]]), np.array([[1, 1, 0, 0]]))
    0.6666666666666666
    """
    c = confusion_counts(truth, prediction)
    total = 2 * c["TP"] + c["FP"] + c["FN"]
    return 1.0 if total == 0 else 2 * c["TP"] / total


@op(category="metrics", label="IoU (Jaccard)")
def iou(truth: MaskIn, prediction: MaskIn, *, spacing: Spacing = None) -> float:
    """Intersection over union (Jaccard index) ``|A ∩ B| / |A ∪ B|``; 1 for two empty masks.

    Related to Dice by ``dice = 2 iou / (1 + iou)``.

    Parameters
    ----------
    truth, prediction : array_like
        Masks of the same shape.
    spacing : sequence of float, optional
        Unused.

    Returns
    -------
    float

    Examples
    --------
    >>> import numpy as np
    >>> iou(np.array([[1, 0, 0, 0]]), np.array([[1, 1, 0, 0]]))
    0.5
    """
    c = confusion_counts(truth, prediction)
    union = c["TP"] + c["FP"] + c["FN"]
    return 1.0 if union == 0 else c["TP"] / union


def _surface(mask: np.ndarray) -> np.ndarray:
    """Foreground pixels with a face neighbour in the background (or at the image border)."""
    eroded = ndi.binary_erosion(mask, structure=ndi.generate_binary_structure(mask.ndim, 1),
                                border_value=0)
    return mask & ~eroded


@op(category="metrics", label="Hausdorff distance")
def hausdorff_distance(truth: MaskIn, prediction: MaskIn, *, spacing: Spacing = None,
                       percentile: Annotated[float, Range(50.0, 100.0, step=1.0, unit="%")]
                       = 100.0) -> float:
    """Symmetric Hausdorff distance between the mask surfaces, in mm.

    Surfaces are the foreground pixels with a background face neighbour. For each surface
    pixel of one mask the Euclidean distance (mm, from ``spacing``) to the nearest surface
    pixel of the other is taken; the result is ``max(P(d(prediction -> truth)),
    P(d(truth -> prediction)))`` with ``P`` the ``percentile``-th percentile: 100 is the classic
    Hausdorff distance, 95 the outlier-robust "HD95".

    Parameters
    ----------
    truth, prediction : array_like
        Masks of the same shape (2-D or 3-D).
    spacing : sequence of float, optional
        mm per array axis (1 mm per pixel when absent).
    percentile : float
        Percentile of the directed surface distances (100 = maximum).

    Returns
    -------
    float
        mm; 0 for two empty masks, ``inf`` when exactly one is empty.

    Examples
    --------
    >>> import numpy as np
    >>> a = np.zeros((20, 20), bool); a[5:10, 5:10] = True
    >>> b = np.roll(a, 3, axis=1)
    >>> hausdorff_distance(a, b, spacing=(1.0, 0.5))
    1.5
    """
    a, b, spacing = _pair(truth, prediction, spacing)
    if not 0 < percentile <= 100:
        raise ValueError(f"percentile must be in (0, 100], got {percentile}")
    if not a.any() and not b.any():
        return 0.0
    if not a.any() or not b.any():
        return float("inf")
    surface_a, surface_b = _surface(a), _surface(b)
    to_b = ndi.distance_transform_edt(~surface_b, sampling=spacing)[surface_a]
    to_a = ndi.distance_transform_edt(~surface_a, sampling=spacing)[surface_b]
    return float(max(np.percentile(to_b, percentile), np.percentile(to_a, percentile)))


@op(category="metrics", label="Overlap colours")
def overlap_labels(truth: MaskIn, prediction: MaskIn, *, spacing: Spacing = None) -> Overlap:
    """A uint8 image for colouring agreement: 0 TN/background, 1 TP, 2 FP, 3 FN.

    Parameters
    ----------
    truth, prediction : array_like
        Masks of the same shape.
    spacing : sequence of float, optional
        Unused.

    Returns
    -------
    ndarray of uint8

    Examples
    --------
    >>> import numpy as np
    >>> overlap_labels(np.array([[1, 0, 1, 0]]), np.array([[1, 1, 0, 0]])).tolist()
    [[1, 2, 3, 0]]
    """
    a, b, _ = _pair(truth, prediction, spacing)
    out = np.zeros(a.shape, dtype=np.uint8)
    out[a & b] = 1
    out[a & ~b] = 2
    out[~a & b] = 3
    return out


def _images(reference: ImageIn, image: ImageIn, data_range: float | None):
    ref, _ = as_image(reference)
    x, _ = as_image(image)
    if x.shape != ref.shape:
        raise ValueError(f"image shape {x.shape} differs from reference shape {ref.shape}")
    if data_range is None:
        data_range = float(ref.max() - ref.min())
    if data_range <= 0:
        raise ValueError("data_range must be > 0 (the reference image is constant; pass "
                         "data_range explicitly)")
    return x.astype(np.float64), ref.astype(np.float64), float(data_range)


@op(category="metrics", label="PSNR")
def psnr(reference: ImageIn, image: ImageIn, *, spacing: Spacing = None,
         data_range: float | None = None) -> float:
    """Peak signal-to-noise ratio of ``image`` against ``reference``, in dB
    (:func:`skimage.metrics.peak_signal_noise_ratio`).

    Parameters
    ----------
    reference : array_like or Scan
        The clean reference.
    image : array_like or Scan
        The processed image, same shape.
    spacing : sequence of float, optional
        Unused.
    data_range : float or None
        The peak value range in the images' units; ``None``: ``reference.max() -
        reference.min()``. State it when comparing results: PSNR depends on it.

    Returns
    -------
    float
        dB; ``inf`` for identical images.

    Examples
    --------
    >>> import numpy as np
    >>> ref = np.zeros((8, 8)); ref[0, 0] = 100
    >>> round(psnr(ref, ref + 1), 2)     # MSE 1, range 100: 10 log10(100**2 / 1)
    40.0
    """
    x, ref, data_range = _images(reference, image, data_range)
    if np.array_equal(x, ref):
        return float("inf")
    return float(skmetrics.peak_signal_noise_ratio(ref, x, data_range=data_range))


@op(category="metrics", label="SSIM")
def ssim(reference: ImageIn, image: ImageIn, *, spacing: Spacing = None,
         data_range: float | None = None) -> float:
    """Mean structural similarity of ``image`` against ``reference``
    (:func:`skimage.metrics.structural_similarity`, 7-pixel window, 2-D or 3-D).

    Parameters
    ----------
    reference : array_like or Scan
        The clean reference; every axis needs at least 7 pixels.
    image : array_like or Scan
        The processed image, same shape.
    spacing : sequence of float, optional
        Unused.
    data_range : float or None
        As for :func:`psnr`: ``None`` means ``reference.max() - reference.min()``.

    Returns
    -------
    float
        At most 1 (identical images).

    Examples
    --------
    >>> import numpy as np
    >>> ref = np.random.default_rng(0).normal(size=(32, 32))
    >>> ssim(ref, ref)
    1.0
    """
    x, ref, data_range = _images(reference, image, data_range)
    if min(x.shape) < 7:
        raise ValueError(f"SSIM needs at least 7 pixels along every axis, got shape {x.shape}")
    return float(skmetrics.structural_similarity(ref, x, data_range=data_range))
