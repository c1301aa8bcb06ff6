"""Tables a batch run writes read back exactly, whatever the pandas version."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd

from medinteract import batch


def test_every_float_reads_back_as_written(tmp_path) -> None:
    values = np.random.default_rng(0).random(20_000) * 10.0 ** np.arange(-10, 10).repeat(1000)
    path = tmp_path / "regions.csv"
    pd.DataFrame({"label": np.arange(values.size), "area_mm2": values}).to_csv(path, index=False)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no deprecated option asked of pandas
        table = batch.read_table(path)
    assert np.array_equal(table["area_mm2"].to_numpy(), values)
    assert table["label"].dtype.kind == "i"
