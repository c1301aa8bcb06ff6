"""The denoise panel: any denoising op with noise, PSNR/SSIM and line-profile readouts.

>>> import medinteract as mi
>>> ph = mi.data.phantom(shape=(64, 64), n_nodules=1, seed=0)
>>> p = denoise(ph.scan, "gaussian", sigma=1.0)
>>> p.noise_after < p.noise_before
True
"""

from __future__ import annotations

import html
from typing import Any, Callable

import ipywidgets as widgets
import numpy as np
import traitlets

from medinteract.display.base import as_scan
from medinteract.ops import estimate_noise, line_profile, psnr, ssim
from medinteract.panels.base import Panel
from medinteract.params import image_unit
from medinteract.panels.figures import PROFILE_SIZE, pixel_layout, profile_png

__all__ = ["DenoisePanel", "denoise", "enhance", "EnhancePanel"]


class DenoisePanel(Panel):
    """A :class:`~medinteract.panels.Panel` for a denoising op, with readouts.

    Readouts: the estimated noise (:func:`~medinteract.ops.estimate_noise`) before and after;
    PSNR and SSIM against ``reference`` when one is given; an intensity line profile of before
    and after along ``profile_row`` of the shown slice. The difference image is the view's
    ``"difference"`` mode (``panel.view.mode = "difference"``).
    """

    noise_before = traitlets.Float(0.0, help="Estimated noise sigma of the input.")
    noise_after = traitlets.Float(0.0, help="Estimated noise sigma of the result.")
    psnr = traitlets.Float(None, allow_none=True, help="PSNR (dB) of the result vs reference.")
    ssim = traitlets.Float(None, allow_none=True, help="SSIM of the result vs reference.")
    profile_row = traitlets.Int(0, help="Row of the shown slice used for the line profile.")

    def __init__(self, image: Any, op: str | Callable[..., Any] = "gaussian", *,
                 reference: Any = None, **kwargs: Any) -> None:
        self._ready_readouts = False
        self._numbers = widgets.HTML()
        self._numbers.add_class("mi-denoise-readout")
        self._profile = widgets.Image(format="png", layout=pixel_layout(PROFILE_SIZE))
        self._profile.add_class("mi-line-profile")
        super().__init__(image, op, reference=reference, **kwargs)
        if reference is not None:
            reference_scan = as_scan(reference)
            if reference_scan.shape != self.scan.shape:
                raise ValueError(f"reference shape {reference_scan.shape} differs from the "
                                 f"image's {self.scan.shape}")
            self.reference = reference_scan.array
        self.noise_before = estimate_noise(self.scan)
        rows = self.view.before.shape[-2] if not self.scan.is_volume else self.scan.shape[1]
        self.profile_row = rows // 2
        row_slider = widgets.IntSlider(value=self.profile_row, min=0, max=rows - 1,
                                       description="profile row", continuous_update=True)
        traitlets.link((row_slider, "value"), (self, "profile_row"))
        row_slider.add_class("mi-profile-row")
        self.readouts.children = [self._numbers, row_slider, self._profile]
        self._ready_readouts = True
        self.observe(lambda _: self._draw_profile(), "profile_row")
        self.view.observe(lambda _: self._draw_profile(), ["index"])
        self.on_result(self.result)

    def on_result(self, result: Any) -> None:
        if not self._ready_readouts or result is None:
            return
        self.noise_after = estimate_noise(result)
        unit = image_unit(self.scan) or ""
        parts = [f"noise σ: {self.noise_before:.3g} → {self.noise_after:.3g} {unit}".strip()]
        if self.reference is not None:
            self.psnr = psnr(self.reference, result)
            self.ssim = ssim(self.reference, result)
            parts.append(f"PSNR {self.psnr:.2f} dB · SSIM {self.ssim:.3f} (vs reference)")
        self._numbers.value = "<code>" + html.escape(" · ".join(parts)) + "</code>"
        self._draw_profile()

    def profile(self) -> dict[str, np.ndarray]:
        """``distance_mm``, ``before``, ``after`` along ``profile_row`` of the shown slice."""
        before, after = self.scan.array, np.asarray(self.result, dtype=np.float32)
        spacing = self.scan.spacing
        if self.scan.is_volume:
            before, after = before[self.view.index], after[self.view.index]
            spacing = spacing[1:]
        start, end = (self.profile_row, 0), (self.profile_row, before.shape[1] - 1)
        a = line_profile(before, spacing=spacing, start=start, end=end)
        b = line_profile(after, spacing=spacing, start=start, end=end)
        return {"distance_mm": a["distance_mm"].to_numpy(), "before": a["value"].to_numpy(),
                "after": b["value"].to_numpy()}

    def _draw_profile(self) -> None:
        if not self._ready_readouts or self.result is None:
            return
        data = self.profile()
        self._profile.value = profile_png(data["distance_mm"],
                                          {"before": data["before"], "after": data["after"]},
                                          unit=image_unit(self.scan) or "",
                                          title=f"row {self.profile_row}", size=PROFILE_SIZE)


def denoise(image: Any, op: str | Callable[..., Any] = "gaussian", *, reference: Any = None,
            **kwargs: Any) -> DenoisePanel:
    """A denoise panel.

    Parameters
    ----------
    image : Scan or array_like
    op : str or callable
        ``"gaussian"``, ``"median"``, ``"mean"``, ``"bilateral"``, ``"total_variation"``,
        ``"nl_means"`` or your own denoising function.
    reference : array_like, optional
        A noise-free image: PSNR and SSIM of the result are shown against it.
    **kwargs
        Starting parameters and :func:`~medinteract.panels.panel` options.
    """
    return DenoisePanel(image, op, reference=reference, **kwargs)


class EnhancePanel(Panel):
    """A :class:`~medinteract.panels.Panel` for a contrast op with a contrast readout.

    The readout gives the RMS contrast (standard deviation) of the input, scaled to the view's
    window, and of the result (enhancement ops return display values in [0, 1]).
    """

    contrast = traitlets.Float(0.0, help="Standard deviation of the result (display units).")

    def __init__(self, image: Any, op: str | Callable[..., Any] = "clahe",
                 **kwargs: Any) -> None:
        self._numbers = widgets.HTML()
        self._numbers.add_class("mi-enhance-readout")
        self._ready_readouts = False
        super().__init__(image, op, **kwargs)
        self.readouts.children = [self._numbers]
        self._ready_readouts = True
        self.on_result(self.result)

    def on_result(self, result: Any) -> None:
        if not self._ready_readouts or result is None:
            return
        window = self.view.window
        before = np.clip((self.scan.array - window.low) / window.width, 0, 1)
        shown = self.display_array(result)
        after = np.clip((shown - window.low) / window.width, 0, 1) if shown is not None \
            else np.asarray(result)
        self.contrast = float(np.std(after))
        self._numbers.value = (f"<code>RMS contrast in the window: {np.std(before):.3f} → "
                               f"{self.contrast:.3f}</code>")


def enhance(image: Any, op: str | Callable[..., Any] = "clahe", **kwargs: Any) -> EnhancePanel:
    """An enhancement panel (``"window"``, ``"contrast_stretch"``, ``"equalize_hist"``,
    ``"clahe"``, ``"gamma"``, ``"unsharp_mask"`` or your own)."""
    return EnhancePanel(image, op, **kwargs)
