"""Contrast enhancement: window/level, percentile stretch, histogram equalisation, CLAHE, gamma,
unsharp masking.

:func:`window`, :func:`contrast_stretch`, :func:`equalize_hist`, :func:`clahe` and :func:`gamma`
return ``float32`` display values in [0, 1]; :func:`unsharp_mask` stays in the input's units.
All intensity statistics are taken over the whole image or volume, never per slice.
"""

from __future__ import annotations

from typing import Annotated

import numpy as np
from scipy import ndimage as ndi
from skimage import exposure

from medinteract.ops._util import as_image, mm_to_pixels, rescale_unit
from medinteract.ops.registry import op
from medinteract.params import FromImage, Image, ImageIn, Range, Spacing
from medinteract.scan import Scan
from medinteract.windowing import apply_window

__all__ = ["window", "contrast_stretch", "equalize_hist", "clahe", "gamma", "unsharp_mask"]


@op(category="enhance", label="Window / level")
def window(image: ImageIn, *, spacing: Spacing = None,
           center: Annotated[float | None, FromImage("values")] = None,
           width: Annotated[float | None, FromImage("spread")] = None) -> Image:
    """Map ``[center - width/2, center + width/2]`` linearly to [0, 1], clipping outside.

    Parameters
    ----------
    image : array_like or Scan
        2-D or 3-D image.
    spacing : sequence of float, optional
        Unused.
    center : float or None
        Window centre (level) in the image's units (HU for CT, e.g. 40 for soft tissue).
        ``None``: the Scan's window, else the middle of the 0.5-99.5 percentiles.
    width : float or None
        Window width in the image's units (e.g. 400 for soft tissue); must be > 0.
        ``None``: as for ``center``.

    Returns
    -------
    ndarray of float32
        Values in [0, 1].

    Examples
    --------
    >>> import numpy as np
    >>> window(np.array([[-1000.0, 40.0, 240.0, 1000.0]]), center=40, width=400).tolist()
    [[0.0, 0.5, 1.0, 1.0]]
    """
    array, _ = as_image(image, spacing)
    if center is None or width is None:
        if isinstance(image, Scan) and image.window is not None:
            auto_center, auto_width = image.window
        else:
            low, high = (float(v) for v in np.percentile(array, [0.5, 99.5]))
            auto_center, auto_width = (low + high) / 2, max(high - low, 1e-6)
        center = auto_center if center is None else center
        width = auto_width if width is None else width
    if width <= 0:
        raise ValueError(f"window width must be > 0, got {width}")
    return apply_window(array, (center, width), dtype=np.float32)


@op(category="enhance", label="Contrast stretch")
def contrast_stretch(image: ImageIn, *, spacing: Spacing = None,
                     low_percentile: Annotated[float, Range(0.0, 50.0, step=0.5, unit="%")] = 2.0,
                     high_percentile: Annotated[float, Range(50.0, 100.0, step=0.5, unit="%")]
                     = 98.0) -> Image:
    """Map the ``low_percentile``..``high_percentile`` value range to [0, 1], clipping outside.

    Parameters
    ----------
    image : array_like or Scan
        2-D or 3-D image.
    spacing : sequence of float, optional
        Unused.
    low_percentile : float
        Percentile (of all pixels) that becomes 0.
    high_percentile : float
        Percentile that becomes 1; must exceed ``low_percentile``.

    Returns
    -------
    ndarray of float32
        Values in [0, 1].

    Examples
    --------
    >>> import numpy as np
    >>> out = contrast_stretch(np.arange(101.0).reshape(1, -1), low_percentile=10,
    ...                        high_percentile=90)
    >>> float(out[0, 10]), float(out[0, 50]), float(out[0, 90])
    (0.0, 0.5, 1.0)
    """
    array, _ = as_image(image, spacing)
    if not 0 <= low_percentile < high_percentile <= 100:
        raise ValueError("percentiles must satisfy 0 <= low < high <= 100, got "
                         f"{low_percentile}, {high_percentile}")
    low, high = np.percentile(array, [low_percentile, high_percentile])
    if high == low:
        return (array > low).astype(np.float32)
    out = exposure.rescale_intensity(array.astype(np.float64), in_range=(low, high),
                                     out_range=(0.0, 1.0))
    return out.astype(np.float32)


@op(category="enhance", label="Histogram equalization")
def equalize_hist(image: ImageIn, *, spacing: Spacing = None,
                  nbins: Annotated[int, Range(16, 4096, step=16)] = 256) -> Image:
    """Global histogram equalisation (:func:`skimage.exposure.equalize_hist`).

    Parameters
    ----------
    image : array_like or Scan
        2-D or 3-D image (one histogram for the whole volume).
    spacing : sequence of float, optional
        Unused.
    nbins : int
        Number of histogram bins.

    Returns
    -------
    ndarray of float32
        Values in [0, 1] (the cumulative distribution).

    Examples
    --------
    >>> import numpy as np
    >>> out = equalize_hist(np.random.default_rng(0).exponential(size=(64, 64)))
    >>> bool(abs(float(out.mean()) - 0.5) < 0.02)
    True
    """
    array, _ = as_image(image, spacing)
    return exposure.equalize_hist(array, nbins=int(nbins)).astype(np.float32)


@op(category="enhance", label="CLAHE")
def clahe(image: ImageIn, *, spacing: Spacing = None,
          clip_limit: Annotated[float, Range(0.001, 0.1, step=0.001)] = 0.01,
          kernel_size: Annotated[int | None, Range(8, 256, step=8, unit="px")] = None) -> Image:
    """Contrast-limited adaptive histogram equalisation
    (:func:`skimage.exposure.equalize_adapthist`).

    The image is first scaled to [0, 1] by its minimum and maximum; for CT, apply
    :func:`window` first so the tissue of interest fills the range.

    Parameters
    ----------
    image : array_like or Scan
        2-D or 3-D image (a volume uses 3-D tiles).
    spacing : sequence of float, optional
        Unused.
    clip_limit : float
        Contrast limit in [0, 1]; higher gives more contrast (and more noise).
    kernel_size : int or None
        Tile side in pixels; ``None`` uses 1/8 of each image dimension.

    Returns
    -------
    ndarray of float32
        Values in [0, 1].

    Examples
    --------
    >>> import numpy as np
    >>> out = clahe(np.random.default_rng(0).normal(size=(64, 64)))
    >>> bool(out.min() >= 0 and out.max() <= 1)
    True
    """
    array, _ = as_image(image, spacing)
    unit, _, span = rescale_unit(array)
    if span == 0:
        return np.zeros(array.shape, np.float32)
    out = exposure.equalize_adapthist(unit, kernel_size=kernel_size, clip_limit=float(clip_limit))
    return out.astype(np.float32)


@op(category="enhance", label="Gamma")
def gamma(image: ImageIn, *, spacing: Spacing = None,
          gamma: Annotated[float, Range(0.1, 5.0, step=0.05, log=True)] = 1.0) -> Image:
    """Gamma correction ``out = unit ** gamma`` of the image scaled to [0, 1] by its min and max.

    Parameters
    ----------
    image : array_like or Scan
        2-D or 3-D image.
    spacing : sequence of float, optional
        Unused.
    gamma : float
        Exponent: < 1 brightens dark regions, > 1 darkens them, 1 only rescales.

    Returns
    -------
    ndarray of float32
        Values in [0, 1].

    Examples
    --------
    >>> import numpy as np
    >>> gamma(np.array([[0.0, 0.25, 1.0]]), gamma=0.5).tolist()
    [[0.0, 0.5, 1.0]]
    """
    array, _ = as_image(image, spacing)
    if gamma <= 0:
        raise ValueError(f"gamma must be > 0, got {gamma}")
    unit, _, _ = rescale_unit(array)
    return np.power(unit, float(gamma)).astype(np.float32)


@op(category="enhance", label="Unsharp mask")
def unsharp_mask(image: ImageIn, *, spacing: Spacing = None,
                 radius: Annotated[float, Range(0.1, 20.0, step=0.1, unit="mm")] = 1.0,
                 amount: Annotated[float, Range(0.0, 5.0, step=0.1)] = 1.0) -> Image:
    """Sharpen: ``image + amount * (image - gaussian(image, radius))``.

    Parameters
    ----------
    image : array_like or Scan
        2-D or 3-D image.
    spacing : sequence of float, optional
        mm per array axis; the blur is ``radius`` mm along every axis (1 mm per pixel when
        absent).
    radius : float
        Standard deviation of the Gaussian blur in mm.
    amount : float
        How much of the detail (image minus blur) is added back; 0 returns a copy.

    Returns
    -------
    ndarray of float32
        In the input's units, not clipped (edges overshoot by design).

    Examples
    --------
    >>> import numpy as np
    >>> step = np.repeat([[0.0] * 4 + [10.0] * 4], 3, axis=0)
    >>> out = unsharp_mask(step, radius=1, amount=1)
    >>> bool(out[1, 3] < 0 and out[1, 4] > 10)
    True
    """
    array, spacing = as_image(image, spacing)
    if radius <= 0:
        raise ValueError(f"radius must be > 0 mm, got {radius}")
    data = array.astype(np.float64)
    blurred = ndi.gaussian_filter(data, mm_to_pixels(radius, spacing), mode="nearest")
    return (data + float(amount) * (data - blurred)).astype(np.float32)
