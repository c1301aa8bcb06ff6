"""Noise reduction: Gaussian, median, mean, bilateral, total variation, non-local means.

Every filter returns a new ``float32`` image in the input's units (HU stay HU) and never modifies
its input. Lengths given in mm are converted to pixels per axis from ``spacing``; with
``spacing=None`` one pixel counts as 1 mm.
"""

from __future__ import annotations

from typing import Annotated

import numpy as np
from scipy import ndimage as ndi
from skimage import restoration

from medinteract._arrays import gaussian_volume
from medinteract.ops._util import as_image, mm_to_pixels, per_slice, rescale_unit
from medinteract.ops.registry import op
from medinteract.params import FromImage, Image, ImageIn, Range, Spacing

__all__ = ["gaussian", "median", "mean", "bilateral", "total_variation", "nl_means",
           "estimate_noise"]


@op(category="denoise", label="Gaussian")
def gaussian(image: ImageIn, *, spacing: Spacing = None,
             sigma: Annotated[float, Range(0.0, 10.0, step=0.1, unit="mm")] = 1.0) -> Image:
    """Gaussian smoothing with a standard deviation in millimetres.

    Parameters
    ----------
    image : array_like or Scan
        2-D or 3-D image.
    spacing : sequence of float, optional
        mm per array axis (taken from a Scan; 1 mm per pixel when absent).
    sigma : float
        Standard deviation of the Gaussian in mm. It becomes ``sigma / spacing[k]`` pixels along
        axis ``k``, so the blur is the same physical size along every axis of an anisotropic
        volume. 0 returns a copy.

    Returns
    -------
    ndarray of float32
        The smoothed image, same shape and units.

    Examples
    --------
    >>> import numpy as np
    >>> img = np.zeros((15, 15)); img[7, 7] = 1
    >>> out = gaussian(img, spacing=(0.5, 0.5), sigma=0.5)   # 1 pixel
    >>> round(float(out.sum()), 4), out.dtype
    (1.0, dtype('float32'))
    """
    array, spacing = as_image(image, spacing)
    if sigma < 0:
        raise ValueError(f"sigma must be >= 0 mm, got {sigma}")
    pixels = mm_to_pixels(sigma, spacing)
    if array.ndim == 3:  # the same values, faster through a volume
        return gaussian_volume(array, pixels)
    return ndi.gaussian_filter(array, sigma=pixels, output=np.float32, mode="nearest")


def _odd_size(size: int) -> int:
    size = int(size)
    if size < 1 or size % 2 == 0:
        raise ValueError(f"size must be a positive odd number of pixels, got {size}")
    return size


@op(category="denoise", label="Median", heavy=True)
def median(image: ImageIn, *, spacing: Spacing = None,
           size: Annotated[int, Range(1, 15, step=2, unit="px")] = 3) -> Image:
    """Median filter over a cube (square in 2-D) of ``size`` pixels per side.

    Removes salt-and-pepper noise while keeping edges. Cost grows with ``size**ndim``.

    Parameters
    ----------
    image : array_like or Scan
        2-D or 3-D image.
    spacing : sequence of float, optional
        Unused (the window is counted in pixels); accepted so all ops share one calling form.
    size : int
        Window side in pixels, odd.

    Returns
    -------
    ndarray of float32

    Examples
    --------
    >>> import numpy as np
    >>> img = np.zeros((5, 5)); img[2, 2] = 100
    >>> float(median(img, size=3).max())
    0.0
    """
    array, _ = as_image(image, spacing)
    return ndi.median_filter(array, size=_odd_size(size), mode="nearest").astype(np.float32)


@op(category="denoise", label="Mean")
def mean(image: ImageIn, *, spacing: Spacing = None,
         size: Annotated[int, Range(1, 15, step=1, unit="px")] = 3) -> Image:
    """Mean (box, uniform) filter over a cube of ``size`` pixels per side.

    Parameters
    ----------
    image : array_like or Scan
        2-D or 3-D image.
    spacing : sequence of float, optional
        Unused (the window is counted in pixels).
    size : int
        Window side in pixels.

    Returns
    -------
    ndarray of float32

    Examples
    --------
    >>> import numpy as np
    >>> float(mean(np.full((4, 4), 7.0), size=3)[0, 0])
    7.0
    """
    array, _ = as_image(image, spacing)
    if size < 1:
        raise ValueError(f"size must be >= 1 pixel, got {size}")
    return ndi.uniform_filter(array, size=int(size), output=np.float32, mode="nearest")


@op(category="denoise", label="Bilateral", heavy=True)
def bilateral(image: ImageIn, *, spacing: Spacing = None,
              sigma_color: Annotated[float | None, FromImage("spread")] = None,
              sigma_spatial: Annotated[float, Range(0.1, 10.0, step=0.1, unit="mm")] = 1.0,
              ) -> Image:
    """Edge-preserving bilateral filter (:func:`skimage.restoration.denoise_bilateral`).

    Pixels are averaged with neighbours that are both close in space and similar in value.
    A volume is filtered slice by slice (``image[k]``), as the scikit-image filter is 2-D.

    Parameters
    ----------
    image : array_like or Scan
        2-D or 3-D image.
    spacing : sequence of float, optional
        mm per array axis; the in-plane mean spacing converts ``sigma_spatial`` to pixels.
    sigma_color : float or None
        Standard deviation of the value difference, in the image's units (HU for CT): a
        neighbour differing by much more than this barely contributes. ``None`` uses the
        standard deviation of the whole image.
    sigma_spatial : float
        Standard deviation of the spatial Gaussian in mm.

    Returns
    -------
    ndarray of float32
        In the input's units.

    Examples
    --------
    >>> import numpy as np
    >>> img = np.zeros((16, 16)); img[:, 8:] = 100
    >>> out = bilateral(img, sigma_color=10, sigma_spatial=2)
    >>> bool(abs(out[0, 7]) < 1 and abs(out[0, 8] - 100) < 1)   # the edge survives
    True
    """
    array, spacing = as_image(image, spacing)
    unit, low, span = rescale_unit(array)
    if span == 0 or (sigma_color is not None and sigma_color <= 0):
        return array.copy()
    color = (float(np.std(array)) if sigma_color is None else float(sigma_color)) / span
    pixels = float(sigma_spatial) / float(np.mean(spacing[-2:]))

    def filter_2d(plane: np.ndarray) -> np.ndarray:
        return restoration.denoise_bilateral(plane, sigma_color=color, sigma_spatial=pixels,
                                             mode="edge")

    return (per_slice(filter_2d, unit) * span + low).astype(np.float32)


@op(category="denoise", label="Total variation", heavy=True)
def total_variation(image: ImageIn, *, spacing: Spacing = None,
                    weight: Annotated[float, Range(0.0, 1.0, step=0.01)] = 0.1) -> Image:
    """Total-variation denoising (Chambolle, :func:`skimage.restoration.denoise_tv_chambolle`).

    Flattens noise into piecewise-constant regions while keeping edges.

    Parameters
    ----------
    image : array_like or Scan
        2-D or 3-D image (a volume is denoised in 3-D).
    spacing : sequence of float, optional
        Unused.
    weight : float
        Denoising strength relative to the image's value range: the image is rescaled to
        [0, 1] by its minimum and maximum, denoised with this weight, and scaled back, so the
        same weight acts alike on HU and on 0-255 data. 0 returns a copy.

    Returns
    -------
    ndarray of float32
        In the input's units.

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> noisy = rng.normal(0, 10, (32, 32))
    >>> bool(total_variation(noisy, weight=0.2).std() < noisy.std() / 2)
    True
    """
    array, _ = as_image(image, spacing)
    if weight < 0:
        raise ValueError(f"weight must be >= 0, got {weight}")
    unit, low, span = rescale_unit(array)
    if weight == 0 or span == 0:
        return array.copy()
    out = restoration.denoise_tv_chambolle(unit, weight=float(weight))
    return (out * span + low).astype(np.float32)


@op(category="denoise", label="Estimated noise")
def estimate_noise(image: ImageIn, *, spacing: Spacing = None) -> float:
    """Standard deviation of Gaussian noise, estimated from the image.

    A wavelet-based (median absolute deviation) estimate that is robust to image content
    (:func:`skimage.restoration.estimate_sigma`; needs PyWavelets).

    Parameters
    ----------
    image : array_like or Scan
        2-D or 3-D image.
    spacing : sequence of float, optional
        Unused.

    Returns
    -------
    float
        In the image's units (HU for CT).

    Examples
    --------
    >>> import numpy as np
    >>> noise = np.random.default_rng(1).normal(0, 5, (128, 128))
    >>> 4.5 < estimate_noise(noise) < 5.5
    True
    """
    array, _ = as_image(image, spacing)
    return float(restoration.estimate_sigma(array.astype(np.float64)))


@op(category="denoise", label="Non-local means", heavy=True)
def nl_means(image: ImageIn, *, spacing: Spacing = None,
             h: Annotated[float, Range(0.1, 3.0, step=0.05, unit="σ")] = 0.8,
             patch_size: Annotated[int, Range(3, 11, step=2, unit="px")] = 5,
             patch_distance: Annotated[int, Range(1, 15, step=1, unit="px")] = 6,
             fast_mode: bool = True) -> Image:
    """Non-local means (:func:`skimage.restoration.denoise_nl_means`) with the noise estimated.

    Each pixel becomes a weighted mean of pixels whose surrounding patches look alike.

    Parameters
    ----------
    image : array_like or Scan
        2-D or 3-D image (a volume is denoised in 3-D, which is slow).
    spacing : sequence of float, optional
        Unused.
    h : float
        Cut-off distance between patches, in units of the estimated noise sigma
        (:func:`estimate_noise`): about 0.6-1.0 removes the noise, larger values blur.
    patch_size : int
        Side of the compared patches, pixels.
    patch_distance : int
        Search radius for similar patches, pixels.
    fast_mode : bool
        Use the fast uniform-patch algorithm.

    Returns
    -------
    ndarray of float32
        In the input's units; a copy when no noise is found.

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> clean = np.zeros((48, 48)); clean[12:36, 12:36] = 100
    >>> noisy = clean + rng.normal(0, 10, clean.shape)
    >>> bool(np.abs(nl_means(noisy) - clean).mean() < np.abs(noisy - clean).mean() / 2)
    True
    """
    array, _ = as_image(image, spacing)
    sigma = float(restoration.estimate_sigma(array.astype(np.float64)))
    if sigma == 0:
        return array.copy()
    out = restoration.denoise_nl_means(array.astype(np.float64), h=float(h) * sigma,
                                       sigma=sigma, patch_size=int(patch_size),
                                       patch_distance=int(patch_distance),
                                       fast_mode=bool(fast_mode))
    return out.astype(np.float32)
