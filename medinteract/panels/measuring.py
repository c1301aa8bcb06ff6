"""The measure panel: a region table in physical units, linked both ways with the image.

Select a row (label) to highlight its object; filter by a column's range to keep only the
objects inside it (the objects drawn over the image and :attr:`MeasurePanel.mask` follow);
export the (filtered) table as CSV, written atomically. The panel is headless state like every
panel; its view (:class:`~medinteract.panels.views.MeasureView`) holds the list, the filter
controls and the image.

>>> import medinteract as mi
>>> ph = mi.data.phantom(shape=(96, 96), n_nodules=2, nodule_hu=2500.0, seed=2)
>>> m = measure(ph.scan, ph.nodules)
>>> len(m.result), "area_mm2" in m.result
(2, True)
"""

from __future__ import annotations

from os import PathLike
from pathlib import Path
from typing import Any, cast

import numpy as np
import pandas as pd
import traitlets

from medinteract._atomic import write_atomic
from medinteract.ops import label as label_op
from medinteract.ops import region_table
from medinteract.panels.base import Panel, _input_scan
from medinteract.panels.model import PanelModel
from medinteract.pipeline import Pipeline, Step
from medinteract.scan import Scan

__all__ = ["MeasurePanel", "measure"]

SELECTED = 2  # label colour of the selected object (orange); the other kept ones are 1 (blue)


class MeasurePanel(PanelModel):
    """Region measurements of a label image (or mask, or a panel's mask result).

    Traitlets, besides those of :class:`~medinteract.panels.model.PanelModel`: ``table`` (all
    regions), ``result`` (the table after filtering), ``selected`` (the highlighted label, 0
    for none; must be one of the kept objects), ``filter_column`` and ``filter_range``
    (``(min, max)`` in that column's unit; ``()`` for no filter). :attr:`labels` is the label
    image measured.

    Parameters
    ----------
    image : Scan or array_like
        Intensities (a Scan gives spacing and, for CT, ``*_HU`` columns).
    labels : array_like or Panel
        A label image, a mask (labelled into connected objects), or a panel whose result is a
        mask or labels; the table then follows the panel's results.
    """

    table = traitlets.Any(None, allow_none=True, help="Region table of all objects.")
    selected = traitlets.Int(0, help="Label of the highlighted object (0 = none).")
    filter_column = traitlets.Unicode("", help="Column the filter applies to ('' = none).")
    filter_range = traitlets.Tuple(help="(min, max) kept in filter_column; () = no filter.")

    def __init__(self, image: Any, labels: Any, *, display_size: int = 400) -> None:
        scan = _input_scan(image, None)
        super().__init__(scan, name="measure", title="Measure regions")
        #: Options of the view (on-screen size of each image).
        self.view_options: dict[str, Any] = {"display_size": display_size}
        #: The label image measured (0 = background).
        self.labels = np.zeros(scan.shape, np.int32)
        self._was_mask = False
        self._filtering = False
        if isinstance(labels, PanelModel):
            self._follow(labels)
            if labels.result is None:  # it is still computing
                self._set_status(f"waiting for the {labels.name} panel's result…")
                return
            labels = labels.result
        self.set_labels(labels)

    # -- data ------------------------------------------------------------------------------
    def set_labels(self, labels: Any) -> None:
        """Measure a new label image or mask (keeps the filter column, resets its range).

        Raises
        ------
        ValueError
            When the labels do not fit the image or are not a mask or label image (the panel
            shows the error too and keeps its last table).
        """
        try:
            checked = self._checked_labels(labels)
        except ValueError as error:
            self.fail(error)
            raise
        self._schedule(checked)

    def _checked_labels(self, labels: Any) -> np.ndarray:
        array = np.asarray(getattr(labels, "array", labels))
        if array.shape != self.scan.shape:
            raise ValueError(f"labels of shape {array.shape} do not match the image's "
                             f"{self.scan.shape}")
        if array.dtype != bool and not np.issubdtype(array.dtype, np.integer):
            raise ValueError(f"measure needs a mask or a label image, got {array.dtype} values "
                             "(threshold or label the image first)")
        return array

    def _on_source_result(self, result: Any) -> None:
        self._schedule(self._checked_labels(result))

    def _compute(self, array: np.ndarray) -> tuple[bool, np.ndarray, pd.DataFrame]:
        was_mask = array.dtype == bool
        labels = label_op(array) if was_mask else np.asarray(array, dtype=np.int32)
        return was_mask, labels, region_table(self.scan, labels)

    def _deliver(self, request: Any, out: tuple[bool, np.ndarray, pd.DataFrame],
                 elapsed_ms: float) -> None:
        was_mask, labels, table = out
        with self.hold_trait_notifications():
            self._was_mask, self.labels = was_mask, labels
            self.runtime_ms = elapsed_ms
            self.error = ""
            self.table = table
            numeric = self.numeric_columns()
            self._filtering = True
            try:
                if self.filter_column not in numeric:
                    self.filter_column = ""
                self.filter_range = self.column_range(self.filter_column)
            finally:
                self._filtering = False
            self._apply_filter()
            self.run_count += 1

    def numeric_columns(self) -> list[str]:
        """The columns a filter can use (numeric, not the label)."""
        if self.table is None:
            return []
        return [c for c in self.table.columns if c != "label"
                and pd.api.types.is_numeric_dtype(self.table[c])]

    def column_range(self, column: str) -> tuple[float, ...]:
        """``(min, max)`` of a column's finite values (``()`` for no column or no rows)."""
        if not column or self.table is None or not len(self.table):
            return ()
        values = self.table[column].to_numpy(dtype=float)
        values = values[np.isfinite(values)]
        low, high = (float(values.min()), float(values.max())) if values.size else (0.0, 1.0)
        return (low, high if high > low else low + 1.0)

    @property
    def mask(self) -> np.ndarray:
        """The labels kept by the filter (others set to 0)."""
        kept = self.result["label"].to_numpy() if self.result is not None else []
        return np.where(np.isin(self.labels, kept), self.labels, 0).astype(np.int32)

    def display_labels(self) -> np.ndarray:
        """What views draw over the image: kept objects 1 (blue), the selected one 2 (orange)."""
        shown = (self.mask != 0).astype(np.uint8)
        if self.selected:
            shown[self.labels == self.selected] = SELECTED
        return shown

    # -- filter ----------------------------------------------------------------------------
    @traitlets.validate("filter_column")
    def _valid_filter_column(self, proposal: dict) -> str:
        column = proposal["value"]
        if column and column not in self.numeric_columns():
            raise traitlets.TraitError(f"cannot filter by {column!r}; numeric columns: "
                                       f"{', '.join(self.numeric_columns())}")
        return column

    @traitlets.validate("filter_range")
    def _valid_filter_range(self, proposal: dict) -> tuple:
        value = tuple(float(v) for v in proposal["value"])
        if value and (len(value) != 2 or value[0] > value[1]):
            raise traitlets.TraitError(f"filter_range must be (min, max) with min <= max or "
                                       f"(), got {proposal['value']!r}")
        return value

    @traitlets.observe("filter_column")
    def _filter_column_changed(self, change: dict) -> None:
        if not self._filtering and self.table is not None:
            self.guard(self._reset_filter)

    def _reset_filter(self) -> None:
        self._filtering = True
        try:
            self.filter_range = self.column_range(self.filter_column)
        finally:
            self._filtering = False
        self._apply_filter()

    @traitlets.observe("filter_range")
    def _filter_range_changed(self, change: dict) -> None:
        if not self._filtering and self.table is not None:
            self.guard(self._apply_filter)

    def filter(self, column: str, minimum: float | None = None,
               maximum: float | None = None) -> pd.DataFrame:
        """Keep the objects with ``minimum <= table[column] <= maximum``; returns the result."""
        if column not in self.table.columns:
            raise ValueError(f"no column {column!r}; columns: {', '.join(self.table.columns)}")
        self.filter_column = column
        low, high = self.filter_range or self.column_range(column)
        low = low if minimum is None else float(minimum)
        high = high if maximum is None else float(maximum)
        if maximum is None:  # a minimum above the range keeps nothing
            high = max(high, low)
        if minimum is None:
            low = min(low, high)
        self.filter_range = (low, high)
        return self.result

    def _apply_filter(self) -> None:
        table = self.table
        if self.filter_column and self.filter_range:
            low, high = self.filter_range
            values = table[self.filter_column]
            table = table[(values >= low) & (values <= high)]
        result = table.reset_index(drop=True)
        with self.hold_trait_notifications():
            if self.selected and self.selected not in set(result["label"]):
                self.selected = 0
            self.result = result
            self._set_status(self._summary())

    def _summary(self) -> str:
        unit = "mm³" if self.scan.is_volume else "mm²"
        kept = (f" · kept {len(self.result)} with {self.filter_range[0]:.4g} ≤ "
                f"{self.filter_column} ≤ {self.filter_range[1]:.4g}"
                if self.filter_column and self.filter_range else "")
        total = self.table[self.table.columns[2]].sum() if len(self.table) else 0.0
        return f"{len(self.table)} objects, total {total:.1f} {unit}{kept}"

    # -- selection -------------------------------------------------------------------------
    @traitlets.validate("selected")
    def _valid_selected(self, proposal: dict) -> int:
        label = int(proposal["value"])
        kept = set() if self.result is None else set(int(v) for v in self.result["label"])
        if label and label not in kept:
            raise traitlets.TraitError(f"label {label} is not one of the kept objects "
                                       f"{sorted(kept)} (0 selects none)")
        return label

    @traitlets.observe("selected")
    def _selected_changed(self, change: dict) -> None:
        label = change["new"]
        if label and self.scan.is_volume and self.table is not None:
            rows = self.table[self.table["label"] == label]
            if len(rows):
                axis_name = "zyx"[self.axis]
                centre_mm = rows.iloc[0][f"centroid_{axis_name}_mm"]
                self.index = int(round(centre_mm / self.scan.spacing[self.axis]))

    # -- output ----------------------------------------------------------------------------
    def export_csv(self, path: str | PathLike[str]) -> Path:
        """Write the filtered table as CSV (atomically) and return the path."""
        path = write_atomic(path, self.result.to_csv(index=False))
        self._set_status(f"{self._summary()} · wrote {Path(path).name}")
        return path

    def to_code(self, *, path: str | PathLike[str] | None = None) -> str:
        """Plain Python reproducing :attr:`result` (the filtered table) exactly.

        With a source panel, the code runs the chain's ops, labels a mask and measures: it runs
        as pasted where ``image`` is the scan the chain started from (or loads ``path``); when
        this panel measures another image than that, the code names it ``intensities``. With a
        label image or mask given directly, it expects ``image`` (the scan measured) and
        ``labels`` (what was given).
        """
        if self.source is not None:
            source = cast(Panel, self.source)  # measure() only chains onto op panels
            steps = [*source.pipeline.steps, *([Step("label")] if self._was_mask else [])]
            if _same_scan(self.scan, source._original):
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

    def _make_view(self) -> Any:
        from medinteract.panels.views import MeasureView

        return MeasureView(self)

    def __repr__(self) -> str:
        if self.table is None:
            return "<MeasurePanel (no labels measured yet)>"
        return f"<MeasurePanel {len(self.table)} objects, {len(self.result)} kept>"


def _same_scan(a: Scan, b: Scan) -> bool:
    """The same values on the same grid, with the same modality (so the same table)."""
    return a is b or (a.modality == b.modality and a.geometry == b.geometry
                      and np.array_equal(a.array, b.array))


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
