"""Parameter sweeps: small multiples of an op's result over one or two parameters.

Each tile shows the result on one slice with the parameter values above it and a metric
under it (Dice against a reference mask, PSNR against a reference image, a number from your
own function), all in one window so tiles compare fairly; the whole grid is one PNG.

>>> import medinteract as mi
>>> ph = mi.data.phantom(shape=(64, 64), n_nodules=1, nodule_hu=2500.0, seed=1)
>>> s = sweep(ph.scan, "threshold", "low", [0.0, 825.0, 2000.0], reference=ph.nodules > 0,
...           metric="dice")
>>> s.table["dice"].idxmax()
1
"""

from __future__ import annotations

from typing import Any, Callable, Sequence, cast

import ipywidgets as widgets
import numpy as np
import pandas as pd

from medinteract.display.base import as_scan
from medinteract.ops import dice, hausdorff_distance, iou, psnr, ssim
from medinteract.panels.base import _is_unit_range, scan_window
from medinteract.panels.figures import grid_png
from medinteract.pipeline import Step, resolve_op
from medinteract.scan import Scan

__all__ = ["Sweep", "sweep", "METRICS"]

#: Built-in metrics by name: ``metric(result, reference, spacing) -> float``.
METRICS: dict[str, Callable[[np.ndarray, np.ndarray, Sequence[float]], float]] = {
    "dice": lambda out, ref, spacing: dice(ref, out),
    "iou": lambda out, ref, spacing: iou(ref, out),
    "hausdorff_mm": lambda out, ref, spacing: hausdorff_distance(ref, out, spacing=spacing),
    "psnr": lambda out, ref, spacing: psnr(ref, out),
    "ssim": lambda out, ref, spacing: ssim(ref, out),
}


class Sweep:
    """The result of :func:`sweep`.

    Attributes
    ----------
    table : DataFrame
        One row per combination: the swept parameter values and the metric (if any).
    results : list of ndarray
        The op's result for each row of ``table``.
    steps : list of Step
        The pipeline step of each row (``Pipeline([step]).to_code()`` reproduces it).
    png : bytes
        The small multiples as one PNG image.
    """

    def __init__(self, table: pd.DataFrame, results: list[Any], steps: list[Step],
                 png: bytes) -> None:
        self.table = table
        self.results = results
        self.steps = steps
        self.png = png

    def best(self, *, largest: bool = True) -> Step:
        """The step with the largest (or smallest) metric."""
        metric = self.table.columns[-1]
        row = self.table[metric].idxmax() if largest else self.table[metric].idxmin()
        return self.steps[int(cast(int, row))]

    @property
    def widget(self) -> widgets.Image:
        """The grid as an ``ipywidgets.Image`` (CSS class ``mi-sweep``)."""
        image = widgets.Image(value=self.png, format="png")
        image.add_class("mi-sweep")
        return image

    def _repr_png_(self) -> bytes:
        return self.png

    def __repr__(self) -> str:
        return f"<Sweep {len(self.table)} results>\n{self.table.to_string(index=False)}"


def _shown_slice(array: np.ndarray, scan: Scan, index: int | None) -> np.ndarray:
    if not scan.is_volume:
        return array
    return array[scan.shape[0] // 2 if index is None else index]


def sweep(image: Any, op: str | Callable[..., Any], param: str, values: Sequence[Any], *,
          param2: str | None = None, values2: Sequence[Any] = (),
          metric: str | Callable[[Any], float] | None = None, reference: Any = None,
          index: int | None = None, tile_px: int = 180, **params: Any) -> Sweep:
    """Run an op over a grid of parameter values and show the results as small multiples.

    Parameters
    ----------
    image : Scan or array_like
    op : str or callable
        A registered op or your own annotated function.
    param, values
        The parameter swept along the columns and its values.
    param2, values2 : optional
        A second parameter swept along the rows.
    metric : str or callable, optional
        A name from :data:`METRICS` (needs ``reference``), or ``metric(result) -> float``.
    reference : array_like, optional
        Reference mask or image for the named metrics.
    index : int, optional
        Slice of a volume to show (default: the middle).
    tile_px : int
        Width of each tile in pixels.
    **params
        Fixed values of the op's other parameters.

    Returns
    -------
    Sweep
    """
    func = resolve_op(op) if isinstance(op, str) else op
    scan = as_scan(image)
    rows = list(values2) if param2 else [None]
    if isinstance(metric, str):
        if metric not in METRICS:
            raise ValueError(f"unknown metric {metric!r}; choose from {', '.join(METRICS)} "
                             "or pass a function")
        if reference is None:
            raise ValueError(f"the {metric!r} metric needs a reference")
    ref = None if reference is None else np.asarray(getattr(reference, "array", reference))
    window = scan_window(scan)
    records, results, steps = [], [], []
    tiles, titles, captions = [], [], []
    for row_value in rows:
        tile_row, title_row, caption_row = [], [], []
        for value in values:
            chosen = {**params, param: value}
            if param2:
                chosen[param2] = row_value
            step = Step(func, chosen)
            out = step.call(scan, scan, scan.spacing)  # what the op returns, as a panel shows it
            record = {param: step.params[param]}
            if param2:
                record[param2] = step.params[param2]
            caption = ""
            if metric is not None:
                name = metric if isinstance(metric, str) else getattr(metric, "__name__",
                                                                       "metric")
                score = (METRICS[metric](out, cast(np.ndarray, ref), scan.spacing)
                         if isinstance(metric, str) else float(metric(out)))
                record[name] = score
                caption = f"{name} {score:.3g}"
            records.append(record)
            results.append(out)
            steps.append(step)
            shown = np.asarray(out)
            if shown.dtype == bool or np.issubdtype(shown.dtype, np.integer):
                shown = np.where(shown != 0, window.high, window.low)
            elif _is_unit_range(shown) and not _is_unit_range(scan.array):
                # display values (enhancement ops) spread over the window, as panels show them
                shown = window.low + shown.astype(np.float32) * window.width
            tile_row.append(_shown_slice(shown, scan, index))
            title_row.append(", ".join(f"{k}={v:g}" if isinstance(v, float) else f"{k}={v}"
                                       for k, v in record.items()
                                       if k in (param, param2)))
            caption_row.append(caption)
        tiles.append(tile_row)
        titles.append(title_row)
        captions.append(caption_row)
    spacing = scan.spacing[-2:]
    png = grid_png(tiles, window, titles=titles, captions=captions, tile_px=tile_px,
                   aspect=spacing[0] / spacing[1])
    return Sweep(pd.DataFrame.from_records(records), results, steps, png)

