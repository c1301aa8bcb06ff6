"""The threshold, measure and ground-truth panels on the phantom, with its known nodules."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

import medinteract.ops as mi_ops

from medinteract.data import phantom
from medinteract.display import decode_png, render
from medinteract.ops import auto_threshold_value
from medinteract.panels import ground_truth, measure, threshold
from medinteract.panels import panel as mi_panel
from medinteract.panels.figures import HIGH_COLOR, LOW_COLOR

#: Halfway between lung (-850 HU) and the calcified nodules (2500 HU): the edge of each nodule.
NODULE_THRESHOLD = 825.0


@pytest.fixture(scope="module")
def ph():
    # Calcified nodules (2500 HU) are the only tissue above ~800 HU (bone is 700 HU), so a
    # threshold finds exactly them; nodules of the default density touch the vessels.
    return phantom(shape=(160, 160), n_nodules=4, nodule_radius_mm=(3.0, 7.0),
                   nodule_hu=2500.0, seed=5)


# -- threshold ---------------------------------------------------------------------------------
def test_threshold_panel_finds_the_nodules(ph):
    p = threshold(ph.scan)
    p.controls["low"].value = NODULE_THRESHOLD  # untick "none" and move the slider
    assert p.params == {"low": NODULE_THRESHOLD, "high": None}
    assert p.objects == len(ph.table) == 4
    assert np.array_equal(p.result, ph.scan.array >= NODULE_THRESHOLD)
    assert "4</b> connected objects" in p.widget._count.value
    # measured areas match the ground truth within 10 % (pi r^2: partial volume at the edge)
    m = measure(ph.scan, p)
    areas = np.sort(m.result["area_mm2"].to_numpy())
    assert np.allclose(areas, np.sort(ph.table["true_area_mm2"]), rtol=0.10)
    assert np.allclose(areas, np.sort(ph.table["area_mm2"]), rtol=0.05)  # voxel-count truth
    # and the exported code reproduces the panel's mask exactly
    scope: dict[str, Any] = {"image": ph.scan, "spacing": None}
    exec(p.to_code(), scope)
    assert np.array_equal(scope["result"], p.result)


def test_histogram_lines_move_with_the_threshold(ph):
    p = threshold(ph.scan, low=-500.0, high=500.0)
    figure = p.widget.histogram_figure
    base = figure.pixels
    first = decode_png(p.widget._histogram.value)
    assert first.shape == base.shape
    low_col, high_col = figure.column(-500.0), figure.column(500.0)
    assert tuple(first[first.shape[0] // 2, low_col]) == LOW_COLOR
    assert tuple(first[first.shape[0] // 2, high_col]) == HIGH_COLOR
    p.set(low=0.0)
    second = decode_png(p.widget._histogram.value)
    assert tuple(second[second.shape[0] // 2, figure.column(0.0)]) == LOW_COLOR
    assert tuple(second[second.shape[0] // 2, low_col - 3]) == tuple(base[base.shape[0] // 2,
                                                                          low_col - 3])
    assert figure.pixels is base  # the histogram itself was drawn once


def test_automatic_threshold_buttons(ph):
    p = threshold(ph.scan)
    value = p.set_auto("otsu")
    assert value == auto_threshold_value(ph.scan, method="otsu")
    assert p.params["low"] == value and p.controls["low"].value == value
    assert np.array_equal(p.result, ph.scan.array >= value)


def test_mask_overlay_follows_the_result(ph):
    p = threshold(ph.scan, low=NODULE_THRESHOLD)
    after = decode_png(p.view.image("after").value)
    assert after.ndim == 3  # coloured where the mask is
    assert np.array_equal(p.view.after_labels != 0, p.result)
    assert p.view.after is p.scan  # the mask is drawn over the image itself
    expected = render(ph.scan.array, p.view.window, labels=p.result.astype(np.uint8),
                      opacity=p.view.opacity)
    assert np.array_equal(after, expected)
    renders = p.view.render_count
    top = p.controls["low"].max  # the slider's top: no nodule reaches it
    p.set(low=top)
    assert np.array_equal(p.view.after_labels != 0, ph.scan.array >= top)
    assert p.view.render_count == renders + 1  # one render per change


# -- measure -----------------------------------------------------------------------------------
def test_measure_table_has_units_and_follows_a_panel(ph):
    p = threshold(ph.scan, low=NODULE_THRESHOLD)
    m = measure(ph.scan, p)
    assert {"area_mm2", "equivalent_diameter_mm", "centroid_x_mm", "mean_HU"} <= set(m.result)
    assert len(m.result) == 4 and "area_mm2" in m.widget.table_html.value
    p.set(low=p.controls["low"].max)  # the measure panel follows the threshold panel
    assert len(m.result) == mi_ops.label(p.result).max() < 4


def test_measure_select_highlights_and_filter_updates_the_mask(ph, tmp_path: Path):
    m = measure(ph.scan, ph.nodules)
    assert len(m.result) == 4 and m.mask.max() == 4
    target = int(m.result.sort_values("area_mm2").iloc[-1]["label"])
    m.widget.region_list.value = target  # click a row
    assert m.selected == target
    shown = m.view.after_labels
    assert np.array_equal(shown == 2, ph.nodules == target)
    assert np.array_equal(shown == 1, (ph.nodules != 0) & (ph.nodules != target))

    areas = np.sort(m.table["area_mm2"].to_numpy())
    cut = float(areas[0] + areas[1]) / 2  # drop the smallest object
    kept = m.filter("area_mm2", minimum=cut)
    assert len(kept) == 3 and (kept["area_mm2"] >= cut).all()
    dropped = int(m.table.loc[m.table["area_mm2"].idxmin(), "label"])
    assert not (m.mask == dropped).any()
    assert np.array_equal(m.mask != 0, (ph.nodules != 0) & (ph.nodules != dropped))
    view = m.widget
    assert view.column_menu.value == "area_mm2" and view.range_slider.value[0] == cut
    view.range_slider.value = (areas[0], areas[-1])  # the slider widens the filter again
    assert len(m.result) == 4
    view.range_slider.value = (cut, areas[-1])

    path = m.export_csv(tmp_path / "nodules.csv")
    assert [f.name for f in tmp_path.iterdir()] == ["nodules.csv"]
    pd.testing.assert_frame_equal(pd.read_csv(path), m.result, check_dtype=False)

    scope: dict[str, Any] = {"image": ph.scan, "labels": ph.nodules, "spacing": None}
    exec(m.to_code(), scope)
    pd.testing.assert_frame_equal(scope["result"], m.result)


def test_measure_code_from_a_panel_reproduces_the_table(ph):
    p = threshold(ph.scan, low=NODULE_THRESHOLD)
    m = measure(ph.scan, p)
    m.filter("area_mm2", minimum=50.0)
    scope: dict[str, Any] = {"image": ph.scan, "spacing": None}
    exec(m.to_code(), scope)
    pd.testing.assert_frame_equal(scope["result"], m.result)


# -- ground truth ------------------------------------------------------------------------------
def test_ground_truth_scores_follow_the_slider(ph):
    truth = ph.nodules > 0
    g = ground_truth(ph.scan, "threshold", truth, low=NODULE_THRESHOLD)
    assert g.dice > 0.95 and g.iou > 0.9 and g.hausdorff_mm <= 1.5
    assert "Dice" in g.widget._numbers.value and "mm" in g.widget._numbers.value
    g.set(low=2400.0)  # too high: the nodules shrink
    assert g.dice < 0.9 and g.counts["FN"] > 0 and g.counts["FP"] == 0
    overlap = g.view.after_labels
    assert set(np.unique(overlap)) <= {0, 1, 3}  # TP and FN only
    assert np.array_equal(overlap == 3, truth & ~g.result)
    g.set(low=g.controls["low"].min)  # everything: all but the nodules is a false positive
    assert g.counts["FN"] == 0 and g.hausdorff_mm > 10


def test_measure_refuses_intensities(ph):
    with pytest.raises(ValueError, match="needs a mask or a label image"):
        measure(ph.scan, ph.scan.array)


def test_chained_threshold_panel_follows_its_source(ph):
    smooth = mi_panel(ph.scan, "gaussian", sigma=0.5)
    t = threshold(smooth, low=NODULE_THRESHOLD)
    first, view = t.widget.histogram_figure, t.view
    smooth.set(sigma=3.0)  # heavier smoothing lowers the nodules' peak values
    assert t.widget.histogram_figure is not first
    assert t.view is view and np.array_equal(view.before.array, smooth.result)  # no rebuild
    assert np.array_equal(t.result, smooth.result >= NODULE_THRESHOLD)
    assert np.array_equal(t.view.after_labels != 0, t.result)
