"""Every panel is headless state with a thin view: usable without widgets, views render it.

The state (parameters, result, status, error, readouts) lives in the panel object and works in
scripts with no widget library imported; a view built from it shows readouts from the start,
follows every change, and turns a user's change into a change of the state (refusing invalid
ones visibly). Measure and annotate panels use the same mechanism.
"""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest
import traitlets

from medinteract.data import phantom
from medinteract.display import Viewer
from medinteract.panels import (PanelModel, annotate, choose, denoise, ground_truth, measure,
                                panel, threshold)

TIMEOUT = 30

_HEADLESS = """
import json, sys
import medinteract as mi
scan = mi.data.phantom(shape=(64, 64), n_nodules=2, nodule_hu=2500.0, seed=2).scan
t = mi.panels.threshold(scan, low=825.0)
g = mi.panels.panel(t, "opening", radius=1.0)
m = mi.panels.measure(scan, g)
d = mi.panels.denoise(scan, "median", size=3, background=True).wait()
a = mi.panels.annotate(scan)
a.paint((10, 10), radius_mm=2.0)
t.set(low=2000.0)
print(json.dumps({"objects": t.objects, "kept": len(m.result), "psnr": d.psnr,
                  "edits": a.edits, "status": t.status,
                  "loaded": [n for n in ("ipywidgets", "anywidget", "medinteract.display",
                                         "matplotlib") if n in sys.modules]}))
"""


@pytest.fixture(scope="module")
def ct():
    return phantom(shape=(96, 96), n_nodules=2, nodule_radius_mm=(4.0, 6.0), nodule_hu=2500.0,
                   seed=2)


def _skimage_imports_matplotlib() -> bool:
    """scikit-image 0.24 (our floor) imports matplotlib to read its version; later ones not."""
    code = "import sys, skimage.morphology; print('matplotlib' in sys.modules)"
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          check=True).stdout.strip() == "True"


def test_panels_work_in_a_script_without_any_widget_library():
    out = subprocess.run([sys.executable, "-c", _HEADLESS], capture_output=True, text=True,
                         check=True, timeout=300).stdout
    found = json.loads(out.strip().splitlines()[-1])
    assert found["loaded"] == (["matplotlib"] if _skimage_imports_matplotlib() else [])
    assert found["objects"] == found["kept"] and found["edits"] == 1
    assert found["status"].startswith("threshold · ") and "mask" in found["status"]


def test_every_panel_is_a_panel_model(ct):
    truth = ct.nodules > 0
    made = [panel(ct.scan, "gaussian"), denoise(ct.scan), threshold(ct.scan, low=825.0),
            ground_truth(ct.scan, "threshold", truth, low=825.0), measure(ct.scan, ct.nodules),
            annotate(ct.scan)]
    for p in made:
        assert isinstance(p, PanelModel) and p.status.startswith(f"{p.name} · ")
        view = p.widget  # one view per panel, built once, with the shared layout
        assert p.widget is view and "mi-panel" in view._dom_classes
        assert [type(c).__name__ for c in view.children][:3] == ["HTML", "VBox", "HTML"]
        assert view.viewer in view.children and view.readouts in view.children
    assert isinstance(made[-1].view, Viewer)  # the annotation view is the shared viewer


def test_readouts_exist_before_the_first_result(ct):
    p = denoise(ct.scan, "median", reference=ct.scan.array, size=3, background=True)
    view = p.widget  # displayed while the first result is still being computed
    assert p.result is None and p.busy
    assert "…" in view._numbers.value and "PSNR … dB" in view._numbers.value
    assert view._profile.value  # the input's profile is drawn already
    t = threshold(ct.scan, low=825.0, background=True)
    assert "<b>…</b> connected objects" in t.widget._count.value
    p.wait(TIMEOUT)
    t.wait(TIMEOUT)
    assert "…" not in view._numbers.value and f"<b>{t.objects}</b>" in t.widget._count.value


def test_a_view_follows_the_state_and_refuses_invalid_input(ct):
    p = panel(ct.scan, "gaussian", sigma=1.0)
    slider = p.controls["sigma"]
    p.params = {"sigma": 2.3}  # code: the slider shows it exactly
    assert slider.value == 2.3
    slider.value = 4.0  # the user: the panel computes
    assert p.params == {"sigma": 4.0} and p.error == ""
    with pytest.raises(traitlets.TraitError):
        slider.value = 50.0  # outside the slider: never held
    assert slider.value == 4.0 and p.params == {"sigma": 4.0}
    t = threshold(ct.scan, low=825.0)
    view = t.widget
    view.controls["low"].max = 1e9  # a front end offering too much: the panel refuses it
    view.controls["low"].value = 1e8
    assert t.params["low"] == 825.0 and view.controls["low"].value == 825.0
    assert "low=100000000.0 is outside the image's range" in t.error
    assert "mi-status-error" in view.status_line._dom_classes


def test_closing_a_view_keeps_the_state(ct):
    p = panel(ct.scan, "gaussian", sigma=1.0)
    first = p.widget
    slider = first.controls["sigma"]
    p.close()
    assert slider.comm is None and first.viewer.comm is None
    p.set(sigma=2.0)
    assert p.widget is not first and p.controls["sigma"].value == 2.0


def test_a_measure_panel_keeps_its_selection_valid(ct):
    m = measure(ct.scan, ct.nodules)
    labels = list(m.result["label"])
    m.selected = labels[1]
    assert m.widget.region_list.value == labels[1]
    assert np.array_equal(m.view.after_labels == 2, ct.nodules == labels[1])
    with pytest.raises(traitlets.TraitError, match="not one of the kept objects"):
        m.selected = 99
    m.filter("area_mm2", minimum=1e9)  # nothing kept: nothing selected
    assert len(m.result) == 0 and m.selected == 0 and m.widget.region_list.value == 0
    with pytest.raises(traitlets.TraitError, match="cannot filter by 'label'"):
        m.filter_column = "label"


def test_selecting_an_object_of_a_volume_shows_its_slice():
    vol = phantom(shape=(24, 48, 48), spacing=(2.0, 0.75, 0.75), n_nodules=2,
                  nodule_radius_mm=(3.0, 4.0), seed=4)
    m = measure(vol.scan, vol.nodules)
    row = m.result.iloc[0]
    m.selected = int(row["label"])
    assert m.index == round(row["centroid_z_mm"] / 2.0) and m.view.index == m.index


def test_strokes_in_voxels_paint_on_the_plane_shown():
    vol = phantom(shape=(6, 48, 64), spacing=(2.5, 0.5, 1.0), n_nodules=1,
                  nodule_radius_mm=3.0, seed=3)
    a = annotate(vol.scan)
    a.stroke("press", (2, 20, 10))
    a.stroke("move", (2, 20, 30))
    a.stroke("release", (2, 20, 30))
    assert a.edits == 1 and a.revision == 2 and a.labels[2, 20, 10] == a.labels[2, 20, 30] == 1
    a.stroke("move", (2, 40, 40))  # no button held: nothing
    assert a.labels[2, 40, 40] == 0
    a.axis = 1  # a coronal plane: the brush is a disc in z-x (2.5 x 1 mm pixels)
    a.label = 4
    a.stroke("press", (3, 10, 32))
    painted = np.argwhere(a.labels == 4)
    assert set(painted[:, 1]) == {10}  # one coronal plane
    assert (np.ptp(painted[:, 0]) + 1, np.ptp(painted[:, 2]) + 1) == (1, 5)  # 2 mm brush
    assert a.undo() and not (a.labels == 4).any()
    with pytest.raises(traitlets.TraitError, match="brush_mm"):
        a.brush_mm = 100.0
    with pytest.raises(ValueError, match="outside"):
        a.stroke("press", (9, 9, 9))
    assert a.edits == 3  # two strokes and an undo


def test_the_annotation_view_shows_the_labels_painted(ct):
    a = annotate(ct.scan)
    viewer = a.view
    a.paint((40, 40), radius_mm=3.0)
    assert viewer.labels is not None and np.array_equal(viewer.labels != 0, a.labels != 0)
    a.undo()
    assert not np.asarray(viewer.labels).any()


def test_choose_is_state_with_a_view(ct):
    c = choose(ct.scan, "denoise")
    assert c.op == "gaussian" and c.panel.result is not None
    view = c.widget
    view.menu.value = "median"
    stack = view.stack
    assert c.op == "median" and stack.children[stack.selected_index] is c.panel.widget
    c.op = "gaussian"
    assert view.menu.value == "gaussian"
    # each op's view stays in the stack: changing op only adds, never removes a view
    assert stack.children[stack.selected_index] is c.panel.widget and len(stack.children) == 2
