"""Evaluation numbers agree with scikit-learn on the same predictions."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from matplotlib.figure import Figure
from sklearn import metrics as skm

from medinteract.learn.evaluate import (
    auc,
    classification_report,
    confusion_matrix,
    misclassified,
    misclassified_gallery,
    plot_confusion_matrix,
    plot_roc,
    roc_curve,
    segmentation_scores,
    threshold_for,
)


def _predictions(seed: int = 0, n: int = 200):
    """Labels and softmax-like probabilities of a decent but imperfect classifier."""
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 2, n)
    p1 = np.clip(0.3 * y + 0.35 + rng.normal(0, 0.2, n), 0, 1)
    p1[:10] = np.round(p1[:10], 1)  # ties
    return y, np.stack([1 - p1, p1], axis=1)


def test_confusion_matrix_matches_sklearn():
    rng = np.random.default_rng(1)
    t, p = rng.integers(0, 4, 300), rng.integers(0, 4, 300)
    np.testing.assert_array_equal(confusion_matrix(t, p), skm.confusion_matrix(t, p))
    assert confusion_matrix([0, 0], [0, 0], n_classes=2).tolist() == [[2, 0], [0, 0]]


def test_roc_and_auc_match_sklearn():
    y, probs = _predictions()
    fpr, tpr, thr = roc_curve(y, probs)
    sk_fpr, sk_tpr, sk_thr = skm.roc_curve(y, probs[:, 1], drop_intermediate=False)
    np.testing.assert_allclose(fpr, sk_fpr)
    np.testing.assert_allclose(tpr, sk_tpr)
    np.testing.assert_allclose(thr[1:], sk_thr[1:])
    assert auc(fpr, tpr) == pytest.approx(skm.roc_auc_score(y, probs[:, 1]))


@settings(max_examples=40, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 1), st.integers(0, 10)), min_size=2, max_size=60)
       .filter(lambda rows: len({r[0] for r in rows}) == 2))
def test_auc_matches_sklearn_on_any_scores(rows):
    y = np.array([r[0] for r in rows])
    s = np.array([r[1] for r in rows], dtype=float) / 10  # coarse scores: many ties
    assert auc(*roc_curve(y, s)[:2]) == pytest.approx(skm.roc_auc_score(y, s))


@pytest.mark.parametrize("threshold", [0.3, 0.5, 0.62, 0.9])
def test_operating_point_matches_sklearn(threshold):
    y, probs = _predictions(seed=2)
    point = classification_report(y, probs, threshold=threshold)
    called = (probs[:, 1] >= threshold).astype(int)
    tn, fp, fn, tp = skm.confusion_matrix(y, called, labels=[0, 1]).ravel()
    assert (point.tp, point.fp, point.tn, point.fn) == (tp, fp, tn, fn)
    assert point.accuracy == pytest.approx(skm.accuracy_score(y, called))
    assert point.precision == pytest.approx(skm.precision_score(y, called, zero_division=0))
    assert point.recall == pytest.approx(skm.recall_score(y, called))
    assert point.sensitivity == point.recall
    assert point.specificity == pytest.approx(skm.recall_score(y, called, pos_label=0))
    assert point.f1 == pytest.approx(skm.f1_score(y, called, zero_division=0))
    assert point.auc == pytest.approx(skm.roc_auc_score(y, probs[:, 1]))
    assert set(point.as_series().index) >= {"sensitivity", "specificity", "f1", "auc"}


def test_nothing_called_positive_gives_zero_precision_not_an_error():
    y, probs = _predictions()
    point = classification_report(y, probs, threshold=1.1)
    assert point.tp == point.fp == 0 and point.precision == 0.0 and point.f1 == 0.0
    assert point.specificity == 1.0


def test_threshold_for_a_target_sensitivity_or_specificity():
    y, probs = _predictions(seed=3)
    thr = threshold_for(y, probs, sensitivity=0.9)
    assert classification_report(y, probs, threshold=thr).sensitivity >= 0.9
    # the highest such threshold: a hair above, sensitivity falls below the target
    assert classification_report(y, probs, threshold=np.nextafter(thr, 2)).sensitivity < 0.9
    thr = threshold_for(y, probs, specificity=0.95)
    assert classification_report(y, probs, threshold=thr).specificity >= 0.95
    with pytest.raises(ValueError, match="exactly one"):
        threshold_for(y, probs)


def test_misclassified_lists_every_error_most_confident_first():
    y = np.array([0, 1, 1, 0, 1])
    probs = np.array([[0.9, 0.1], [0.2, 0.8], [0.6, 0.4], [0.05, 0.95], [0.45, 0.55]])
    assert misclassified(y, probs).tolist() == [3, 2]
    assert misclassified(y, probs, threshold=0.6).tolist() == [3, 2, 4]


def test_figures_are_made_without_pyplot():
    import matplotlib.pyplot as plt

    before = plt.get_fignums()
    y, probs = _predictions()
    x = np.random.default_rng(0).random((len(y), 16, 16, 1))
    figs = [plot_confusion_matrix(confusion_matrix(y, probs.argmax(1)), ["normal", "nodule"]),
            plot_roc(*roc_curve(y, probs)[:2], point=classification_report(y, probs)),
            misclassified_gallery(x, y, probs, class_names=["normal", "nodule"], n=6)]
    assert all(isinstance(f, Figure) for f in figs)
    assert plt.get_fignums() == before
    assert len(figs[2].axes) == 6


def test_segmentation_scores_use_the_ops_metrics():
    from medinteract.ops.metrics import dice, hausdorff_distance, iou

    truth = np.zeros((3, 32, 32, 1), np.uint8)
    truth[0, 8:16, 8:16] = 1
    truth[1, 4:10, 4:10] = 1
    prob = np.zeros((3, 32, 32, 1), np.float32)
    prob[0, 10:18, 8:16] = 0.9
    prob[1, 20:24, 20:24] = 0.7
    table = segmentation_scores(truth, prob, spacing=(0.5, 0.5))
    assert list(table.columns[:3]) == ["dice", "iou", "hausdorff"]
    assert table.loc[0, "dice"] == pytest.approx(dice(prob[0, ..., 0] >= 0.5, truth[0, ..., 0]))
    assert table.loc[0, "dice"] == pytest.approx(2 * 48 / 128)
    assert table.loc[0, "iou"] == pytest.approx(iou(prob[0, ..., 0] >= 0.5, truth[0, ..., 0]))
    assert table.loc[0, "hausdorff"] == pytest.approx(
        hausdorff_distance(prob[0, ..., 0] >= 0.5, truth[0, ..., 0], spacing=(0.5, 0.5)))
    assert table.loc[1, "dice"] == 0.0
    assert table.loc[2, "dice"] == 1.0 and table.loc[2, "hausdorff"] == 0.0  # both empty
    flat = truth[..., 0].reshape(-1)
    assert skm.f1_score(flat[:1024], (prob[0, ..., 0] >= 0.5).reshape(-1)) == pytest.approx(
        table.loc[0, "dice"])
