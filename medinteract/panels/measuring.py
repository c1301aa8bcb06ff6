"""The measure panel: a region table in physical units, linked both ways with the image.

Select a row (label) to highlight its object; filter by a column's range to keep only the
objects inside it (the objects drawn over the image and :attr:`MeasurePanel.mask` follow);
export the (filtered) table as CSV, written atomically.

>>> import medinteract as mi
>>> ph = mi.data.phantom(shape=(96, 96), n_nodules=2, nodule_hu=2500.0, seed=2)
>>> m = measure(ph.scan, ph.nodules)
>>> len(m.result), "area_mm2" in m.result
(2, True)
"""

from __future__ import annotations

import html
from os import PathLike
from pathlib import Path
from typing import Any

import ipywidgets as widgets
import numpy as np
import pandas as pd
import traitlets

from medinteract._atomic import write_atomic
from medinteract.display import compare
from medinteract.display.base import as_scan
from medinteract.ops import label as label_op
from medinteract.ops import region_table
from medinteract.panels.base import Panel, _with_snapshot
from medinteract.pipeline import Pipeline, Step
from medinteract.scan import Scan

__all__ = ["MeasurePanel", "measure"]

_SELECTED = 2  # label colour of the selected object (orange); others are 1 (blue)


class MeasurePanel(widgets.VBox):
    """Region measurements of a label image (or mask, or a panel's mask result).

    Traitlets: ``table`` (all regions), ``result`` (the filtered table), ``selected`` (the
    highlighted label, 0 for none), ``filter_column`` and ``filter_range`` (``(min, max)``
    in that column's unit; ``()`` for no filter).

    Parameters
    ----------
    image : Scan or array_like
        Intensities (a Scan gives spacing and, for CT, ``*_HU`` columns).
    labels : array_like or Panel
        A label image, a mask (labelled into connected objects), or a panel whose result is a
        mask or labels; the table then follows the panel's results.
    """

    table = traitlets.Any(None, allow_none=True, help="Region table of all objects.")
    result = traitlets.Any(None, allow_none=True, help="The table after filtering.")
    selected = traitlets.Int(0, help="Label of the highlighted object (0 = none).")
    filter_column = traitlets.Unicode("", help="Column the filter applies to ('' = none).")
    filter_range = traitlets.Tuple(help="(min, max) kept in filter_column; () = no filter.")

    def __init__(self, image: Any, labels: Any, *, display_size: int = 400) -> None:
        super().__init__()
        self.add_class("mi-panel")
        self.add_class("mi-panel-measure")
        self.scan = as_scan(image)
        self.source = labels if isinstance(labels, Panel) else None
        # before: the image; after: the kept objects (blue) and the selected one (orange)
        self.view = compare(self.scan, self.scan, display_size=display_size)
        self.view.opacity = 0.5
        self.labels = np.zeros(self.scan.shape, np.int32)
        self._status = widgets.HTML()
        self._status.add_class("mi-status")
        self._table_html = widgets.HTML(layout=widgets.Layout(overflow="auto",
                                                              max_width="100%"))
        self._table_html.add_class("mi-region-table")
        self._select = widgets.Select(options=[("none", 0)], value=0, rows=8,
                                      description="object")
        self._select.add_class("mi-region-select")
        traitlets.link((self._select, "value"), (self, "selected"))
        self._column = widgets.Dropdown(options=[("(no filter)", "")], value="",
                                        description="filter by")
        self._column.add_class("mi-filter-column")
        self._range = widgets.FloatRangeSlider(description="keep", continuous_update=True,
                                               readout_format=".4g",
                                               layout=widgets.Layout(width="420px"))
        self._range.add_class("mi-filter-range")
        self._column.observe(self._on_column, "value")
        self._range.observe(self._on_range, "value")
        self._csv_path = widgets.Text(value="regions.csv", description="CSV file")
        self._csv_button = widgets.Button(description="export CSV")
        self._csv_button.add_class("mi-export-csv")
        self._csv_button.on_click(lambda _: self._export_clicked())
        self._syncing = False
        self.children = [
            widgets.HTML("<b>Measure regions</b>"), self._status,
            widgets.HBox([self._column, self._range]),
            widgets.HBox([self._select, widgets.HTML(
                "<i>after</i>: kept objects in blue, the selected one in orange")]),
            self.view,
            self._table_html,
            widgets.HBox([self._csv_path, self._csv_button]),
        ]
        if self.source is not None:
            self.source.observe(lambda change: self.set_labels(change["new"]), "result")
            self.set_labels(self.source.result)
        else:
            self.set_labels(labels)

    # -- data ------------------------------------------------------------------------------
    def set_labels(self, labels: Any) -> None:
        """Measure a new label image or mask (keeps the filter column, resets the range)."""
        array = np.asarray(getattr(labels, "array", labels))
        if array.shape != self.scan.shape:
            raise ValueError(f"labels of shape {array.shape} do not match the image's "
                             f"{self.scan.shape}")
        if array.dtype != bool and not np.issubdtype(array.dtype, np.integer):
            raise ValueError(f"measure needs a mask or a label image, got {array.dtype} values "
                             "(threshold or label the image first)")
        self._was_mask = array.dtype == bool
        self.labels = label_op(array) if self._was_mask else np.asarray(array, dtype=np.int32)
        self.table = region_table(self.scan, self.labels)
        numeric = [c for c in self.table.columns if c != "label"
                   and pd.api.types.is_numeric_dtype(self.table[c])]
        with self.hold_trait_notifications():
            self._column.options = [("(no filter)", "")] + [(c, c) for c in numeric]
            if self.filter_column not in numeric:
                self.filter_column = ""
        self._column.value = self.filter_column
        self._reset_range()
        self._apply()

    @property
    def mask(self) -> np.ndarray:
        """The labels kept by the filter (others set to 0)."""
        kept = self.result["label"].to_numpy() if self.result is not None else []
        return np.where(np.isin(self.labels, kept), self.labels, 0).astype(np.int32)

    # -- filter ----------------------------------------------------------------------------
    def _reset_range(self) -> None:
        column = self.filter_column
        self._syncing = True
        try:
            if not column or not len(self.table):
                self._range.disabled = True
                self.filter_range = ()
                return
            values = self.table[column].to_numpy(dtype=float)
            values = values[np.isfinite(values)]
            low, high = (float(values.min()), float(values.max())) if values.size else (0, 1)
            if high <= low:
                high = low + 1.0
            self._range.disabled = False
            if low > self._range.max:  # order the updates so min never exceeds max
                self._range.max, self._range.min = high, low
            else:
                self._range.min, self._range.max = low, high
            self._range.step = (high - low) / 200
            self._range.value = (low, high)
            self.filter_range = (low, high)
        finally:
            self._syncing = False

    def _on_column(self, change: dict) -> None:
        if self._syncing:
            return
        self.filter_column = change["new"]

    def _on_range(self, change: dict) -> None:
        if not self._syncing:
            self.filter_range = tuple(change["new"])

    @traitlets.observe("filter_column")
    def _filter_column_changed(self, change: dict) -> None:
        if self._column.value != change["new"]:
            self._column.value = change["new"]
        if self.table is not None:
            self._reset_range()
            self._apply()

    @traitlets.observe("filter_range")
    def _filter_range_changed(self, change: dict) -> None:
        if not self._syncing and self.table is not None:
            if change["new"] and tuple(self._range.value) != tuple(change["new"]):
                self._syncing = True
                try:
                    self._range.value = tuple(change["new"])
                finally:
                    self._syncing = False
            self._apply()

    def filter(self, column: str, minimum: float | None = None,
               maximum: float | None = None) -> pd.DataFrame:
        """Keep the objects with ``minimum <= table[column] <= maximum``; returns the result."""
        if column not in self.table.columns:
            raise ValueError(f"no column {column!r}; columns: {', '.join(self.table.columns)}")
        self.filter_column = column
        low, high = self._range.value
        self.filter_range = (low if minimum is None else float(minimum),
                             high if maximum is None else float(maximum))
        return self.result

    def _apply(self) -> None:
        table = self.table
        if self.filter_column and self.filter_range:
            low, high = self.filter_range
            values = table[self.filter_column]
            table = table[(values >= low) & (values <= high)]
        self.result = table.reset_index(drop=True)
        options = [("none", 0)] + [
            (f"{int(row.label)}: " + _row_summary(row), int(row.label))
            for row in self.result.itertuples()]
        keep = self.selected if self.selected in {v for _, v in options} else 0
        self._select.options = options
        self._select.value = keep
        self.selected = keep
        unit = "mm²" if not self.scan.is_volume else "mm³"
        filt = (f" · kept {len(self.result)} with {self.filter_range[0]:.4g} ≤ "
                f"{self.filter_column} ≤ {self.filter_range[1]:.4g}"
                if self.filter_column and self.filter_range else "")
        total = self.table[self.table.columns[2]].sum() if len(self.table) else 0.0
        self._status.value = html.escape(
            f"{len(self.table)} objects, total {total:.1f} {unit}{filt}").join(
                ("<code>", "</code>"))
        self._table_html.value = self.result.head(100).to_html(
            index=False, border=0, classes="mi-table", float_format=lambda v: f"{v:.4g}")
        self._show()

    # -- selection -------------------------------------------------------------------------
    @traitlets.observe("selected")
    def _selected_changed(self, change: dict) -> None:
        label = change["new"]
        if label and self.scan.is_volume and self.table is not None:
            rows = self.table[self.table["label"] == label]
            if len(rows):
                spacing = self.scan.spacing[self.view.axis]
                axis_name = "zyx"[self.view.axis]
                self.view.index = int(round(rows.iloc[0][f"centroid_{axis_name}_mm"] / spacing))
        self._show()

    def _show(self) -> None:
        shown = (self.mask != 0).astype(np.uint8)
        if self.selected:
            shown[self.labels == self.selected] = _SELECTED
        self.view.after_labels = shown

    # -- output ----------------------------------------------------------------------------
    def export_csv(self, path: str | PathLike[str]) -> Path:
        """Write the filtered table as CSV (atomically) and return the path."""
        path = write_atomic(path, self.result.to_csv(index=False))
        self._status.value += f" · <code>wrote {html.escape(Path(path).name)}</code>"
        return path

    def _export_clicked(self) -> None:
        try:
            self.export_csv(self._csv_path.value)
        except OSError as error:
            self._status.value = f"<span style='color:#c62828'>{html.escape(str(error))}</span>"

    def to_code(self, *, path: str | PathLike[str] | None = None) -> str:
        """Plain Python reproducing :attr:`result` (the filtered table) exactly.

        With a source panel, the code runs the chain's ops, labels a mask and measures: it runs
        as pasted where ``image`` is the scan the chain started from (or loads ``path``); when
        this panel measures another image than that, the code names it ``intensities``. With a
        label image or mask given directly, it expects ``image`` (the scan measured) and
        ``labels`` (what was given).
        """
        if self.source is not None:
            steps = [*self.source.pipeline.steps, *([Step("label")] if self._was_mask else [])]
            if _same_scan(self.scan, self.source._original):
                code = Pipeline([*steps, Step("region_table")]).to_code(path=path)
            else:
                code = (Pipeline(steps).to_code(path=path, extra_imports=[region_table])
                        + "# `intensities`: the Scan the regions are measured on\n"
                          "result = region_table(intensities, result)\n")
        else:
            labelled = "label(labels)" if self._was_mask else "labels"
            code = "".join([
                "import medinteract\n" if path is not None else "",
                f"from medinteract.ops import {'label, ' if self._was_mask else ''}region_table\n",
                "\n",
                f"image = medinteract.load({str(path)!r})\n" if path is not None else
                "# `image`: the Scan measured, e.g. image = medinteract.load(\"scan.nii.gz\")\n",
                "# `labels`: its mask or label image (an array or a Scan)\n",
                f"result = region_table(image, {labelled})\n",
            ])
        if self.filter_column and self.filter_range:
            low, high = self.filter_range
            code += (f"result = result[(result[{self.filter_column!r}] >= {low!r}) & "
                     f"(result[{self.filter_column!r}] <= {high!r})].reset_index(drop=True)\n")
        return code

    def _repr_mimebundle_(self, **kwargs: Any) -> dict[str, Any]:
        """The live widget plus a PNG of the image and its objects, so saved notebooks show it."""
        return _with_snapshot(super()._repr_mimebundle_(**kwargs), self.view)

    def __repr__(self) -> str:
        return f"<MeasurePanel {len(self.table)} objects, {len(self.result)} kept>"


def _same_scan(a: Scan, b: Scan) -> bool:
    """The same values on the same grid, with the same modality (so the same table)."""
    return a is b or (a.modality == b.modality and a.geometry == b.geometry
                      and np.array_equal(a.array, b.array))


def _row_summary(row: Any) -> str:
    size = getattr(row, "area_mm2", None)
    if size is not None:
        return f"{size:.1f} mm²"
    return f"{getattr(row, 'volume_mm3', 0.0):.1f} mm³"


def measure(image: Any, labels: Any, *, display_size: int = 400) -> MeasurePanel:
    """A measure panel: region table with units, selection, filtering and CSV export.

    Parameters
    ----------
    image : Scan or array_like
    labels : array_like or Panel
        Label image, mask, or a panel (e.g. :func:`~medinteract.panels.threshold`) whose
        mask/labels result is measured, live.
    """
    return MeasurePanel(image, labels, display_size=display_size)
