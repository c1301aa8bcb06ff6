"""The outcome of a batch run: one row per scan, the merged region table, a notebook view."""

from __future__ import annotations

import html
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

__all__ = ["BatchReport", "REPORT_COLUMNS", "STATUSES"]

#: Columns of :attr:`BatchReport.table`.
REPORT_COLUMNS = ("id", "status", "seconds", "n_regions", "error", "message", "warnings",
                  "image", "regions", "path")
#: Values of the ``status`` column.
STATUSES = ("ok", "failed", "skipped")


@dataclass(frozen=True, eq=False)
class BatchReport:
    """What :func:`medinteract.batch.runner` did.

    Attributes
    ----------
    table : DataFrame
        One row per scan, in input order, columns :data:`REPORT_COLUMNS`: ``id``; ``status``
        (``"ok"`` computed now, ``"skipped"`` finished by an earlier run with the same pipeline
        and unchanged inputs, ``"failed"``); ``seconds`` of work; ``n_regions``; ``error`` (the
        exception type) and ``message`` (naming the file) of a failure; ``warnings`` from
        loading (gaps, duplicates); the output files ``image`` and ``regions``; the input
        ``path``.
    regions : DataFrame
        The region tables of every finished scan (ok or skipped) stacked, with the scan's id
        in the first column ``scan_id``; also saved as ``regions.csv`` in :attr:`output_dir`.
    output_dir : Path
        Where the outputs are.
    pipeline_sha256 : str
        Identifies the pipeline (stored in every scan's manifest).
    """

    table: pd.DataFrame
    regions: pd.DataFrame
    output_dir: Path
    pipeline_sha256: str = ""
    seconds: float = field(default=0.0)

    @property
    def ok(self) -> pd.DataFrame:
        """Rows of the scans computed in this run."""
        return self._rows("ok")

    @property
    def failed(self) -> pd.DataFrame:
        """Rows of the scans that failed, with ``error`` and ``message``."""
        return self._rows("failed")

    @property
    def skipped(self) -> pd.DataFrame:
        """Rows of the scans finished by an earlier run (not recomputed)."""
        return self._rows("skipped")

    @property
    def all_ok(self) -> bool:
        """True when no scan failed."""
        return not (self.table["status"] == "failed").any()

    def _rows(self, status: str) -> pd.DataFrame:
        return self.table[self.table["status"] == status].reset_index(drop=True)

    def counts(self) -> dict[str, int]:
        """Number of scans per status."""
        return {s: int((self.table["status"] == s).sum()) for s in STATUSES}

    def summary(self) -> str:
        """One line: how many scans, per status, and where the outputs are."""
        c = self.counts()
        n = len(self.table)
        return (f"{n} scan{'s' if n != 1 else ''}: {c['ok']} ok, {c['skipped']} skipped, "
                f"{c['failed']} failed in {self.seconds:.1f} s; {len(self.regions)} region rows; "
                f"outputs in {self.output_dir}")

    def __repr__(self) -> str:
        lines = [f"<BatchReport {self.summary()}>"]
        for _, row in self.failed.iterrows():
            lines.append(f"  failed {row['id']}: {row['error']}: {row['message']}")
        return "\n".join(lines)

    def _repr_html_(self) -> str:
        columns = ["id", "status", "seconds", "n_regions", "error", "message", "warnings"]
        colours = {"ok": "#e6f4ea", "skipped": "#eef2f7", "failed": "#fde7e9"}
        head = "".join(f"<th style='text-align:left'>{c}</th>" for c in columns)
        rows = []
        for _, row in self.table.iterrows():
            cells = []
            for c in columns:
                value = row[c]
                if c == "seconds":
                    text = f"{value:.2f}"
                elif value is None or (isinstance(value, float) and pd.isna(value)):
                    text = ""
                else:
                    text = str(value)
                cells.append(f"<td style='text-align:left'>{html.escape(text)}</td>")
            rows.append(f"<tr style='background:{colours.get(row['status'], '')}'>"
                        f"{''.join(cells)}</tr>")
        return (f"<div><p><b>Batch report</b>: {html.escape(self.summary())}</p>"
                f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(rows)}</tbody></table>"
                "</div>")
