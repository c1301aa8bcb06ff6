"""Calibration, thresholds chosen on validation data, predictive values and bootstrap intervals.

Every number is checked against scikit-learn or SciPy, or against a case whose answer is
known in closed form.
"""

from __future__ import annotations

import numpy as np
import pytest
from matplotlib.figure import Figure
from sklearn import metrics as skm
from sklearn.calibration import calibration_curve

from medinteract.learn.evaluate import (
    Interval,
    bootstrap_interval,
    calibration_table,
    classification_report,
    expected_calibration_error,
    plot_reliability,
    predictive_values,
    threshold_for,
)


def _calibrated(n: int = 4000, seed: int = 0):
    """Scores drawn uniformly and labels drawn with exactly that probability: calibrated."""
    rng = np.random.default_rng(seed)
    p = rng.random(n)
    return (rng.random(n) < p).astype(int), p


def _overconfident(n: int = 4000, seed: int = 0):
    """The same labels, but scores pushed towards 0 and 1 (a sharpened, overconfident model)."""
    y, p = _calibrated(n, seed)
    logit = np.log(p / (1 - p))
    return y, 1 / (1 + np.exp(-3 * logit))


@pytest.mark.parametrize("strategy", ["uniform", "quantile"])
def test_calibration_table_is_sklearns_curve_with_counts(strategy):
    y, p = _overconfident(500, seed=1)
    table = calibration_table(y, p, n_bins=8, strategy=strategy)
    fraction, mean = calibration_curve(y, p, n_bins=8, strategy=strategy)
    np.testing.assert_allclose(table["fraction_positive"], fraction)
    np.testing.assert_allclose(table["mean_predicted"], mean)
    assert table["count"].sum() == len(y)
    np.testing.assert_allclose(table["gap"], fraction - mean)
    # every sample's score lies in its bin, and a bin's mean lies within its edges
    assert (table["low"] <= table["mean_predicted"] + 1e-12).all()
    assert (table["mean_predicted"] <= table["high"] + 1e-12).all()


def test_calibration_table_accepts_probabilities_and_other_positive_classes():
    y, p = _calibrated(300)
    probs = np.stack([1 - p, p], axis=1)
    a = calibration_table(y, probs)
    b = calibration_table(1 - y, 1 - p, positive=0)
    np.testing.assert_allclose(a["fraction_positive"], calibration_table(y, p)["fraction_positive"])
    assert a["count"].sum() == b["count"].sum() == 300
    with pytest.raises(ValueError, match="probabilities in"):
        calibration_table(y, p * 2)
    with pytest.raises(ValueError, match="entries"):
        calibration_table(y[:10], p)


def test_ece_is_small_for_a_calibrated_model_and_large_for_an_overconfident_one():
    y, p = _calibrated()
    assert expected_calibration_error(y, p) < 0.03
    y, sharp = _overconfident()
    assert expected_calibration_error(y, sharp) > 0.08
    # sharpening does not change the ranking: same AUC, very different calibration
    assert skm.roc_auc_score(y, sharp) == pytest.approx(skm.roc_auc_score(y, p))


def test_ece_by_hand():
    # bins of width 0.5: [0, 0.5] holds 0.2, 0.2, 0.4 (1 positive of 3, mean 0.2667),
    # (0.5, 1] holds 0.8, 0.9 (2 positives of 2, mean 0.85)
    y = [0, 0, 1, 1, 1]
    p = [0.2, 0.2, 0.4, 0.8, 0.9]
    expected = 3 / 5 * abs(1 / 3 - 0.8 / 3) + 2 / 5 * abs(1 - 0.85)
    assert expected_calibration_error(y, p, n_bins=2) == pytest.approx(expected)
    assert expected_calibration_error([0, 1], [0.0, 1.0]) == 0.0


def test_reliability_figure_is_made_without_pyplot():
    import matplotlib.pyplot as plt

    before = plt.get_fignums()
    y, p = _overconfident(400)
    fig = plot_reliability(y, p, label="cnn")
    assert isinstance(fig, Figure) and len(fig.axes) == 2
    legend = [t.get_text() for t in fig.axes[0].get_legend().get_texts()]
    assert any(f"ECE {expected_calibration_error(y, p):.3f}" in t for t in legend)
    assert plot_reliability(y, p, strategy="quantile", n_bins=5).axes
    assert plt.get_fignums() == before


def test_threshold_maximising_accuracy_youden_or_f1():
    y, p = _overconfident(600, seed=3)
    fpr, tpr, thresholds = skm.roc_curve(y, p, drop_intermediate=False)
    accuracy = [skm.accuracy_score(y, p >= t) for t in thresholds]
    best = threshold_for(y, p, maximize="accuracy")
    assert skm.accuracy_score(y, p >= best) == pytest.approx(max(accuracy))
    youden = threshold_for(y, p, maximize="youden")
    assert (tpr - fpr)[list(thresholds).index(youden)] == pytest.approx(max(tpr - fpr))
    f1 = threshold_for(y, p, maximize="f1")
    assert skm.f1_score(y, p >= f1) == pytest.approx(
        max(skm.f1_score(y, p >= t, zero_division=0) for t in thresholds))
    with pytest.raises(ValueError, match="exactly one"):
        threshold_for(y, p, sensitivity=0.9, maximize="f1")
    with pytest.raises(ValueError, match="maximize must be"):
        threshold_for(y, p, maximize="auc")


def test_a_threshold_chosen_on_validation_data_is_reported_on_test_data():
    # a model whose scores are shifted: 0.5 is a poor threshold, the validation set finds better
    y_val, p_val = _calibrated(2000, seed=4)
    y_test, p_test = _calibrated(2000, seed=5)
    shift = lambda p: np.clip(p * 0.5, 0, 1)  # noqa: E731 - every score halved: under-confident
    threshold = threshold_for(y_val, shift(p_val), maximize="accuracy")
    assert 0.2 < threshold < 0.3
    at_half = classification_report(y_test, shift(p_test), threshold=0.5).accuracy
    at_chosen = classification_report(y_test, shift(p_test), threshold=threshold).accuracy
    assert at_chosen > at_half + 0.1


def test_predictive_values_follow_bayes():
    ppv, npv = predictive_values(0.8, 0.95, 0.2)
    assert ppv == pytest.approx(0.16 / (0.16 + 0.04))
    assert npv == pytest.approx(0.76 / (0.76 + 0.04))
    # the same test at a lower prevalence: PPV falls, NPV rises
    low_ppv, high_npv = predictive_values(0.8, 0.95, 0.02)
    assert low_ppv < ppv and high_npv > npv
    # matches counting in a population of that prevalence
    y = np.r_[np.ones(200), np.zeros(800)]
    called = np.r_[np.ones(160), np.zeros(40), np.ones(40), np.zeros(760)]
    assert ppv == pytest.approx(skm.precision_score(y, called))
    assert np.isnan(predictive_values(0.0, 1.0, 0.3)[0])
    with pytest.raises(ValueError, match="prevalence"):
        predictive_values(0.9, 0.9, 1.5)


def test_bootstrap_interval_brackets_the_estimate_and_shrinks_with_more_data():
    y, p = _overconfident(200, seed=6)
    small = bootstrap_interval(y, p, "auc", n_resamples=500)
    assert isinstance(small, Interval)
    assert small.estimate == pytest.approx(skm.roc_auc_score(y, p))
    assert small.low < small.estimate < small.high
    y_big, p_big = _overconfident(3200, seed=6)
    big = bootstrap_interval(y_big, p_big, "auc", n_resamples=500)
    # the width goes as 1/sqrt(n): 16x the data, about a quarter of the width
    ratio = (big.high - big.low) / (small.high - small.low)
    assert 0.15 < ratio < 0.4
    assert "95 % CI" in str(big)


def test_bootstrap_interval_is_reproducible_and_covers_named_statistics():
    y, p = _overconfident(300, seed=7)
    a = bootstrap_interval(y, p, "sensitivity", threshold=0.4, n_resamples=300, seed=1)
    b = bootstrap_interval(y, p, "sensitivity", threshold=0.4, n_resamples=300, seed=1)
    assert a == b
    assert a.estimate == pytest.approx(skm.recall_score(y, p >= 0.4))
    for name in ("accuracy", "specificity", "precision", "f1"):
        interval = bootstrap_interval(y, p, name, n_resamples=200)
        assert interval.low <= interval.estimate <= interval.high
    with pytest.raises(ValueError, match="statistic must be"):
        bootstrap_interval(y, p, "kappa")
    with pytest.raises(ValueError, match="both positive and negative"):
        bootstrap_interval(np.ones(10), p[:10])


def test_bootstrap_interval_of_a_difference_between_two_models():
    # a paired comparison: both models scored on the same resampled test samples
    y, good = _calibrated(600, seed=8)
    rng = np.random.default_rng(8)
    worse = np.clip(good + rng.normal(0, 0.3, good.shape), 0, 1)
    both = np.stack([good, worse], axis=1)

    def auc_difference(truth, scores):
        return skm.roc_auc_score(truth, scores[:, 0]) - skm.roc_auc_score(truth, scores[:, 1])

    diff = bootstrap_interval(y, both, auc_difference, n_resamples=400)
    assert diff.estimate == pytest.approx(auc_difference(y, both))
    assert diff.low > 0, "the better model is better with 95 % confidence"


@pytest.mark.parametrize("name", ["auc", "accuracy", "sensitivity", "specificity",
                                  "precision", "recall", "f1"])
def test_named_statistics_on_many_resamples_at_once_equal_the_report(name):
    # the bootstrap computes named statistics for all resamples at once; each row must equal
    # classification_report (scikit-learn) on that resample, ties and empty cells included
    from medinteract.learn.evaluate import _batched_statistic

    y, p = _overconfident(80, seed=9)
    p = np.round(p, 1)  # ties
    rows = np.random.default_rng(9).integers(0, y.size, (25, y.size))
    batched = _batched_statistic(name, 0.9)(y[rows], p[rows])
    for row, value in zip(rows, batched):
        if y[row].all() or not y[row].any():
            continue
        expected = getattr(classification_report(y[row], p[row], threshold=0.9), name)
        assert value == pytest.approx(expected)


def test_bootstrap_interval_compared_to_another_model_is_paired():
    y, good = _calibrated(600, seed=8)
    rng = np.random.default_rng(8)
    worse = np.clip(good + rng.normal(0, 0.3, good.shape), 0, 1)
    diff = bootstrap_interval(y, good, "auc", compared_to=worse, n_resamples=400)
    assert diff.estimate == pytest.approx(skm.roc_auc_score(y, good) - skm.roc_auc_score(y, worse))
    assert diff.low > 0
    # the same difference through a function of both models' scores (called per resample)
    both = np.stack([good, worse], axis=1)
    slow = bootstrap_interval(y, both, lambda t, s: skm.roc_auc_score(t, s[:, 0])
                              - skm.roc_auc_score(t, s[:, 1]), n_resamples=400)
    assert slow.estimate == pytest.approx(diff.estimate)
    assert slow.low == pytest.approx(diff.low, abs=1e-9)
    assert slow.high == pytest.approx(diff.high, abs=1e-9)
    with pytest.raises(ValueError, match="rows"):
        bootstrap_interval(y, good, "auc", compared_to=worse[:-1])
