"""Batch runs use every worker they are given, and the per-scan work wastes nothing.

Speed itself is measured by ``benchmarks/bench_batch.py`` (never timed here); these tests pin
the mechanisms the speed-up rests on.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

import nibabel as nib
import numpy as np
import pandas as pd
import pytest
from scipy import ndimage as ndi

import medinteract as mi
from medinteract import batch
from medinteract.ops import label, region_table, threshold


def _which_process(scan: mi.Scan) -> pd.DataFrame:
    """A batch step that reports the process it ran in (and lasts long enough that an idle
    worker would pick up the next scan)."""
    time.sleep(1.5)
    return pd.DataFrame({"pid": [os.getpid()]})


@pytest.fixture(scope="module")
def two_scans(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("scans")
    for k in range(2):
        np.save(folder / f"scan{k}.npy", np.full((4, 8, 8), k, dtype=np.float32))
    return folder


@pytest.mark.slow
def test_process_workers_share_a_small_batch(two_scans, tmp_path) -> None:
    """Two scans on two process workers run in two processes. Dask's process pool hands out
    ready tasks in chunks of 6 unless told otherwise, so both scans went to one worker."""
    report = batch.run(_which_process, two_scans, tmp_path / "out", scheduler="processes",
                       workers=2, progress=False)
    assert report.all_ok, report.table
    pids = set(report.regions["pid"])
    assert len(pids) == 2 and os.getpid() not in pids


def test_label_results_are_stored_in_the_smallest_integer_type(tmp_path) -> None:
    """A label image with few regions is written with one byte per voxel (gzip is four times
    quicker than for int32) and reads back with the same values."""
    chest = mi.data.phantom(shape=(8, 64, 64), seed=1, n_nodules=1, nodule_radius_mm=3.0)
    chest.write_dicom(tmp_path / "in" / "chest")
    pipeline = mi.Pipeline().append("threshold", low=-500.0).append("label")
    report = batch.run(pipeline, tmp_path / "in", tmp_path / "out", progress=False)
    assert report.all_ok, report.table
    saved = nib.load(report.table["image"][0])
    assert saved.get_data_dtype() == np.uint8
    scan = mi.load(tmp_path / "in" / "chest")
    expected = label(threshold(scan, low=-500.0))
    np.testing.assert_array_equal(mi.load(report.table["image"][0]).array, expected)


def test_region_intensities_equal_scipy_over_the_whole_volume() -> None:
    """Region statistics computed from the labelled voxels only are those of the whole
    volume (bit for bit)."""
    rng = np.random.default_rng(0)
    image = rng.normal(40.0, 200.0, size=(20, 40, 40)).astype(np.float32)
    labels = label(ndi.gaussian_filter(image, 2) > 60)
    assert labels.max() > 1
    table = region_table(image, labels)
    index = table["label"].to_numpy()
    values = image.astype(np.float64)
    for stat, reference in (("mean", ndi.mean), ("std", ndi.standard_deviation),
                            ("min", ndi.minimum), ("max", ndi.maximum)):
        column = next(c for c in table.columns if c.startswith(f"{stat}_"))
        np.testing.assert_array_equal(table[column].to_numpy(),
                                      np.asarray(reference(values, labels, index), float))


def test_threads_collect_their_own_warnings_at_the_same_time() -> None:
    """Two threads collect warnings at once (loads of a threaded batch no longer take turns),
    each gets only its own, and the warnings machinery is as before afterwards."""
    import threading
    import warnings

    from medinteract.batch.work import collected_warnings

    shown, filters = warnings.showwarning, list(warnings.filters)
    both_inside = threading.Barrier(2, timeout=10)
    caught: dict[str, list[str]] = {}

    def collect(name: str) -> None:
        with collected_warnings() as mine:
            both_inside.wait()  # would time out if one thread had to wait for the other
            for _ in range(2):
                warnings.warn(f"from {name}", UserWarning, stacklevel=1)
            both_inside.wait()
        caught[name] = [str(w.message) for w in mine]

    threads = [threading.Thread(target=collect, args=(n,)) for n in ("a", "b")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert caught == {"a": ["from a", "from a"], "b": ["from b", "from b"]}
    assert warnings.showwarning is shown and warnings.filters == filters
