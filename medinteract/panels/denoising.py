"""The denoise and enhance panels: a denoising or contrast op with readouts.

The readouts are traitlets of the panel (computed with each result, applied with it); the view
(:class:`~medinteract.panels.views.DenoiseView`, ``EnhanceView``) shows them with a line
profile.

>>> import medinteract as mi
>>> ph = mi.data.phantom(shape=(64, 64), n_nodules=1, seed=0)
>>> p = denoise(ph.scan, "gaussian", sigma=1.0)
>>> p.noise_after < p.noise_before
True
"""

from __future__ import annotations

from typing import Any, Callable

import numpy as np
import traitlets

from medinteract.ops import estimate_noise, line_profile, psnr, ssim
from medinteract.panels.base import Panel, _input_scan, scan_window

__all__ = ["DenoisePanel", "denoise", "enhance", "EnhancePanel"]


class DenoisePanel(Panel):
    """A :class:`~medinteract.panels.Panel` for a denoising op, with readouts.

    Readouts (traitlets, set with every result): the estimated noise
    (:func:`~medinteract.ops.estimate_noise`) before and after; PSNR and SSIM against
    ``reference`` when one is given; :meth:`profile` gives the intensity line profile of before
    and after along ``profile_row`` of the shown slice (the view draws it). The difference
    image is the view's ``"difference"`` mode (``panel.view.mode = "difference"``).
    """

    noise_before = traitlets.Float(0.0, help="Estimated noise sigma of the input.")
    noise_after = traitlets.Float(None, allow_none=True,
                                  help="Estimated noise sigma of the result (None before it).")
    psnr = traitlets.Float(None, allow_none=True, help="PSNR (dB) of the result vs reference.")
    ssim = traitlets.Float(None, allow_none=True, help="SSIM of the result vs reference.")
    profile_row = traitlets.Int(0, help="Row of the shown slice used for the line profile.")

    def __init__(self, image: Any, op: str | Callable[..., Any] = "gaussian", *,
                 reference: Any = None, **kwargs: Any) -> None:
        if reference is not None:
            reference_scan = _input_scan(getattr(reference, "scan", reference), None)
            reference = reference_scan.array
        super().__init__(image, op, reference=reference, **kwargs)

    def on_input(self, scan: Any) -> None:
        if self.reference is not None and self.reference.shape != scan.shape:
            raise ValueError(f"reference shape {self.reference.shape} differs from the "
                             f"image's {scan.shape}")
        self.noise_before = estimate_noise(scan)
        if not self.run_count:
            rows = scan.shape[1] if scan.is_volume else scan.shape[0]
            self.profile_row = rows // 2

    def _readouts(self, out: Any) -> dict[str, Any]:
        values: dict[str, Any] = {"noise_after": estimate_noise(out)}
        if self.reference is not None:
            values["psnr"] = psnr(self.reference, out)
            values["ssim"] = ssim(self.reference, out)
        return values

    @traitlets.validate("profile_row")
    def _valid_profile_row(self, proposal: dict) -> int:
        rows = self.scan.shape[1] if self.scan.is_volume else self.scan.shape[0]
        if not 0 <= proposal["value"] < rows:
            raise traitlets.TraitError(f"profile_row must be 0..{rows - 1}, "
                                       f"got {proposal['value']}")
        return int(proposal["value"])

    def profile(self) -> dict[str, np.ndarray]:
        """``distance_mm``, ``before``, ``after`` along ``profile_row`` of the shown slice
        (``after`` is empty before the first result)."""
        before = self.scan.array
        after = None if self.result is None else np.asarray(self.result, dtype=np.float32)
        spacing = self.scan.spacing
        if self.scan.is_volume:
            before = before[self.index]
            after = None if after is None else after[self.index]
            spacing = spacing[1:]
        start, end = (self.profile_row, 0), (self.profile_row, before.shape[1] - 1)
        a = line_profile(before, spacing=spacing, start=start, end=end)
        b = None if after is None else line_profile(after, spacing=spacing, start=start,
                                                    end=end)
        return {"distance_mm": a["distance_mm"].to_numpy(), "before": a["value"].to_numpy(),
                "after": np.empty(0, np.float32) if b is None else b["value"].to_numpy()}

    def _make_view(self) -> Any:
        from medinteract.panels.views import DenoiseView

        return DenoiseView(self)


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

    ``contrast_before`` and ``contrast`` are the RMS contrast (standard deviation) of the input
    and of the result as shown in the scan's window, in display units [0, 1] (enhancement ops
    return display values in [0, 1]).
    """

    contrast_before = traitlets.Float(0.0, help="RMS contrast of the input in its window.")
    contrast = traitlets.Float(None, allow_none=True,
                               help="RMS contrast of the result (display units).")

    def __init__(self, image: Any, op: str | Callable[..., Any] = "clahe",
                 **kwargs: Any) -> None:
        super().__init__(image, op, **kwargs)

    def on_input(self, scan: Any) -> None:
        self.contrast_before = float(np.std(self._in_window(scan.array)))

    def _in_window(self, values: np.ndarray) -> np.ndarray:
        window = scan_window(self.scan)
        return np.clip((values - window.low) / window.width, 0, 1)

    def _readouts(self, out: Any) -> dict[str, Any]:
        shown = self.display_array(out)
        after = self._in_window(shown) if shown is not None else np.asarray(out)
        return {"contrast": float(np.std(after))}

    def _make_view(self) -> Any:
        from medinteract.panels.views import EnhanceView

        return EnhanceView(self)


def enhance(image: Any, op: str | Callable[..., Any] = "clahe", **kwargs: Any) -> EnhancePanel:
    """An enhancement panel (``"window"``, ``"contrast_stretch"``, ``"equalize_hist"``,
    ``"clahe"``, ``"gamma"``, ``"unsharp_mask"`` or your own)."""
    return EnhancePanel(image, op, **kwargs)
