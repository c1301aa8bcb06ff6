"""Small static figures for panel readouts, drawn once with matplotlib (Agg) and updated cheaply.

- :class:`HistogramFigure`: a histogram rendered once; moving a threshold only redraws its
  marker lines on a copy of the cached pixels (no matplotlib call per slider tick).
- :func:`profile_png`: an intensity line profile of before and after.
- :func:`grid_png`: small multiples (for parameter sweeps).
"""

from __future__ import annotations

from typing import Sequence

import numpy as np

from medinteract.display.encode import encode_png
from medinteract.display.window import apply_window
from medinteract.scan import Window

__all__ = ["HistogramFigure", "profile_png", "grid_png", "figure_to_rgb", "pixel_layout",
           "HISTOGRAM_SIZE", "PROFILE_SIZE"]

#: (width, height) in pixels of the threshold histogram and of the line profile.
HISTOGRAM_SIZE = (420, 160)
PROFILE_SIZE = (420, 170)

#: Marker colours (RGB) of the low and high threshold lines.
LOW_COLOR = (220, 50, 47)
HIGH_COLOR = (38, 139, 210)
_DPI = 100


def pixel_layout(size: tuple[int, int]):
    """An ``ipywidgets.Layout`` showing a figure of ``(width, height)`` pixels unscaled."""
    import ipywidgets as widgets

    return widgets.Layout(width=f"{size[0]}px", height=f"{size[1]}px", object_fit="contain")


def figure_to_rgb(figure) -> np.ndarray:
    """The pixels of a matplotlib figure as an ``(h, w, 3)`` uint8 array."""
    figure.canvas.draw()
    return np.asarray(figure.canvas.buffer_rgba())[..., :3].copy()


def _figure(width_px: int, height_px: int):
    from matplotlib.figure import Figure  # no pyplot: no global state, no GUI backend

    figure = Figure(figsize=(width_px / _DPI, height_px / _DPI), dpi=_DPI)
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    FigureCanvasAgg(figure)
    return figure


class HistogramFigure:
    """A histogram of an image's values with movable marker lines.

    Parameters
    ----------
    values : ndarray
        The image (all values are counted, the whole volume).
    unit : str
        Unit for the x label (``"HU"``).
    bins : int
        Number of bins.
    size : (width, height)
        In pixels.

    Examples
    --------
    >>> h = HistogramFigure(np.arange(100.0), unit="HU")
    >>> png = h.png(low=20.0, high=None)
    >>> png[:4] == b"\\x89PNG"
    True
    """

    def __init__(self, values: np.ndarray, *, unit: str = "", bins: int = 128,
                 size: tuple[int, int] = (420, 160)) -> None:
        finite = np.asarray(values)[np.isfinite(values)]
        counts, edges = np.histogram(finite, bins=bins)
        figure = _figure(*size)
        axes = figure.add_axes((0.15, 0.28, 0.82, 0.66))
        axes.bar(edges[:-1], counts, width=np.diff(edges), align="edge", color="#888888",
                 log=True)
        axes.set_xlim(edges[0], edges[-1])
        axes.set_ylim(bottom=0.7)
        from matplotlib.ticker import NullLocator

        axes.yaxis.set_minor_locator(NullLocator())  # minor log ticks cost most of the draw
        axes.set_xlabel(f"value ({unit})" if unit else "value", fontsize=8)
        axes.set_ylabel("pixels", fontsize=8)
        axes.tick_params(labelsize=7)
        self.pixels = figure_to_rgb(figure)
        height = self.pixels.shape[0]
        box = axes.get_window_extent()
        self._x0, self._x1 = float(edges[0]), float(edges[-1])
        self._col0, self._col1 = box.x0, box.x1
        self._rows = (int(height - box.y1), int(height - box.y0))
        self.counts, self.edges = counts, edges

    def column(self, value: float) -> int:
        """The pixel column of a value on the x axis (clipped to the axes)."""
        span = self._x1 - self._x0 or 1.0
        col = self._col0 + (value - self._x0) / span * (self._col1 - self._col0)
        return int(np.clip(round(col), self._col0, self._col1 - 1))

    def render(self, low: float | None = None, high: float | None = None) -> np.ndarray:
        """The histogram with the kept range tinted and lines at ``low`` and ``high``."""
        image = self.pixels.copy()
        top, bottom = self._rows
        start = self.column(low) if low is not None else int(self._col0)
        stop = self.column(high) if high is not None else int(self._col1) - 1
        if stop >= start:
            band = image[top:bottom, start:stop + 1].astype(np.float32)
            tint = np.array([255, 235, 130], np.float32)
            image[top:bottom, start:stop + 1] = (0.7 * band + 0.3 * tint).astype(np.uint8)
        for value, colour in ((low, LOW_COLOR), (high, HIGH_COLOR)):
            if value is not None:
                col = self.column(value)
                image[top:bottom, max(col - 1, 0):col + 1] = colour
        return image

    def png(self, low: float | None = None, high: float | None = None) -> bytes:
        """:meth:`render` encoded as PNG."""
        return encode_png(self.render(low, high))


def profile_png(distance_mm: np.ndarray, curves: dict[str, np.ndarray], *, unit: str = "",
                title: str = "", size: tuple[int, int] = (420, 170)) -> bytes:
    """A line plot of intensity profiles (one line per entry of ``curves``) as PNG."""
    figure = _figure(*size)
    axes = figure.add_axes((0.16, 0.25, 0.81, 0.63))
    for (name, values), colour in zip(curves.items(), ("#888888", "#c62828", "#1565c0")):
        axes.plot(distance_mm, values, label=name, color=colour, linewidth=1)
    axes.set_xlabel("distance (mm)", fontsize=8)
    axes.set_ylabel(unit or "value", fontsize=8)
    axes.tick_params(labelsize=7)
    axes.legend(fontsize=7, loc="upper right")
    if title:
        axes.set_title(title, fontsize=8)
    return encode_png(figure_to_rgb(figure))


def grid_png(images: Sequence[Sequence[np.ndarray]], window: Window, *,
             titles: Sequence[Sequence[str]], captions: Sequence[Sequence[str]],
             tile_px: int = 180, aspect: float = 1.0) -> bytes:
    """Small multiples: a grid of 2-D images in one window with a title and caption each.

    Parameters
    ----------
    images : rows of 2-D arrays
    window : Window
        Shared display window (so tiles are comparable).
    titles, captions : rows of str
        Above and below each tile.
    tile_px : int
        Tile width in pixels.
    aspect : float
        Height/width of a pixel (row spacing / column spacing).
    """
    n_rows, n_cols = len(images), max(len(row) for row in images)
    figure = _figure(int(tile_px * n_cols), int(tile_px * n_rows * 1.25))
    for r, row in enumerate(images):
        for c, image in enumerate(row):
            axes = figure.add_subplot(n_rows, n_cols, r * n_cols + c + 1)
            grey = apply_window(np.asarray(image, dtype=np.float32), window)
            axes.imshow(grey, cmap="gray", vmin=0, vmax=255, aspect=aspect,
                        interpolation="nearest")
            axes.set_xticks([])
            axes.set_yticks([])
            axes.set_title(titles[r][c], fontsize=8)
            axes.set_xlabel(captions[r][c], fontsize=8)
    figure.tight_layout()
    return encode_png(figure_to_rgb(figure))
