"""Evaluate a trained model: confusion matrix, ROC/AUC, operating points, calibration,
confidence intervals, failures, Dice.

All functions take plain NumPy arrays (predictions from ``model.predict``), so they work with
any Keras backend, and any other model. Figures are :class:`matplotlib.figure.Figure` objects
made without pyplot: a notebook shows one when it is the last value of a cell, and a script
saves it with ``fig.savefig``.

Conventions follow scikit-learn, whose implementations compute the confusion matrix, the ROC
curve, its area and the reliability curve: arguments come as ``y_true, y_pred`` (class
indices) or ``y_true, scores``; the confusion matrix has one row per *true* class and one
column per *predicted* class; for two classes the positive class is 1 and ``scores`` are the
predicted probabilities of class 1 (``probabilities[:, 1]``; ``(n, k)`` probabilities are
accepted wherever scores are). A sample is called positive when its score is
``>= threshold``.
"""

from __future__ import annotations

import inspect
import time
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any, Callable, Literal, Mapping, Sequence

import numpy as np
import pandas as pd

if TYPE_CHECKING:  # pragma: no cover
    from matplotlib.figure import Figure

__all__ = [
    "confusion_matrix",
    "roc_curve",
    "auc",
    "OperatingPoint",
    "classification_report",
    "threshold_for",
    "predictive_values",
    "calibration_table",
    "expected_calibration_error",
    "Interval",
    "bootstrap_interval",
    "misclassified",
    "misclassified_gallery",
    "plot_confusion_matrix",
    "plot_roc",
    "plot_reliability",
    "segmentation_scores",
    "CLASSICAL_DENOISERS",
    "compare_denoisers",
]


def _as_2d(image: np.ndarray) -> np.ndarray:
    """A displayable 2-D (or RGB) image: drop a single channel, take the middle slice of 3-D."""
    image = np.asarray(image, dtype=np.float32)
    if image.ndim == 4:  # (d, h, w, c) 3-D patch
        image = image[image.shape[0] // 2]
    if image.ndim == 3 and image.shape[-1] == 1:
        image = image[..., 0]
    return np.clip(image, 0, 1)


def _scores(probabilities_or_scores: np.ndarray, positive: int = 1) -> np.ndarray:
    """Scores of the positive class from ``(n,)`` scores or ``(n, k)`` probabilities."""
    p = np.asarray(probabilities_or_scores, dtype=np.float64)
    if p.ndim == 2:
        if p.shape[1] == 1:
            return p[:, 0]
        return p[:, positive]
    if p.ndim != 1:
        raise ValueError(f"expected (n,) scores or (n, k) probabilities, got shape {p.shape}")
    return p


def _binary_truth(y_true: np.ndarray, positive: int = 1) -> np.ndarray:
    y = np.asarray(y_true).reshape(-1)
    return y == positive


def _binary(y_true: np.ndarray, scores: np.ndarray,
            positive: int = 1) -> tuple[np.ndarray, np.ndarray]:
    """``(truth as 0/1 int, positive-class scores)``, checked to have one entry per sample."""
    s = _scores(scores, positive)
    t = _binary_truth(y_true, positive)
    if s.shape != t.shape:
        raise ValueError(f"y_true has {t.size} entries but scores have {s.size}")
    return t.astype(np.int64), s


def confusion_matrix(y_true: Sequence[int] | np.ndarray, y_pred: Sequence[int] | np.ndarray,
                     n_classes: int | None = None) -> np.ndarray:
    """Counts of (true class, predicted class) pairs (:func:`sklearn.metrics.confusion_matrix`).

    Parameters
    ----------
    y_true, y_pred : sequence of int
        True and predicted class indices.
    n_classes : int, optional
        Number of classes (default: one more than the largest index seen, so a class that
        never occurs still has its row and column).

    Returns
    -------
    ndarray of int64, shape (n_classes, n_classes)
        ``cm[i, j]`` is the number of samples of true class ``i`` predicted as ``j``.
    """
    from sklearn import metrics

    t = np.asarray(y_true, dtype=np.int64).reshape(-1)
    p = np.asarray(y_pred, dtype=np.int64).reshape(-1)
    if t.shape != p.shape:
        raise ValueError(f"y_true has {t.size} entries but y_pred has {p.size}")
    if n_classes is None:
        n_classes = int(max(t.max(initial=-1), p.max(initial=-1))) + 1
    if not t.size:
        return np.zeros((n_classes, n_classes), dtype=np.int64)
    return metrics.confusion_matrix(t, p, labels=np.arange(n_classes)).astype(np.int64)


def roc_curve(y_true: np.ndarray, scores: np.ndarray, *,
              positive: int = 1) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Receiver operating characteristic: false and true positive rates per threshold.

    :func:`sklearn.metrics.roc_curve` with every distinct score as a threshold
    (``drop_intermediate=False``), preceded by ``inf`` (nothing called positive).

    Parameters
    ----------
    y_true : array_like of int
        True class of each sample.
    scores : array_like
        Score of the positive class, ``(n,)``, or probabilities ``(n, k)``.
    positive : int, optional
        The positive class (every other class counts as negative).

    Returns
    -------
    fpr, tpr, thresholds : ndarray
        Decreasing thresholds and the rates they give, from (0, 0) to (1, 1).
    """
    from sklearn import metrics

    t, s = _binary(y_true, scores, positive)
    if t.all() or not t.any():
        raise ValueError("ROC needs both positive and negative samples")
    fpr, tpr, thresholds = metrics.roc_curve(t, s, drop_intermediate=False)
    return fpr, tpr, thresholds


def auc(fpr: np.ndarray, tpr: np.ndarray) -> float:
    """Area under a curve given by monotonic ``fpr`` (:func:`sklearn.metrics.auc`)."""
    from sklearn import metrics

    return float(metrics.auc(fpr, tpr))


def _roc_auc(t: np.ndarray, s: np.ndarray) -> float:
    """AUC of 0/1 truth and scores (:func:`sklearn.metrics.roc_auc_score`); NaN for one class."""
    from sklearn import metrics

    if t.all() or not t.any():
        return float("nan")
    return float(metrics.roc_auc_score(t, s))


@dataclass(frozen=True)
class OperatingPoint:
    """Performance of a binary classifier at one threshold.

    Attributes
    ----------
    threshold : float
        Samples with score ``>= threshold`` are called positive.
    tp, fp, tn, fn : int
        Confusion counts.
    accuracy, precision, recall, f1, sensitivity, specificity : float
        ``precision = tp / (tp + fp)``, ``recall = sensitivity = tp / (tp + fn)``,
        ``specificity = tn / (tn + fp)``, ``f1`` their harmonic mean (precision, recall);
        0 where the denominator is 0 (as scikit-learn's ``zero_division=0``).
    auc : float
        Area under the ROC curve (threshold independent; NaN with a single class).
    """

    threshold: float
    tp: int
    fp: int
    tn: int
    fn: int
    accuracy: float
    precision: float
    recall: float
    f1: float
    sensitivity: float
    specificity: float
    auc: float

    def as_series(self) -> pd.Series:
        """The values as a pandas Series (for a tidy table in a notebook)."""
        return pd.Series(asdict(self))


def _ratio(num: float, den: float) -> float:
    return float(num / den) if den else 0.0


def _operating_point(t: np.ndarray, s: np.ndarray, threshold: float,
                     area: float) -> OperatingPoint:
    (tn, fp), (fn, tp) = confusion_matrix(t, s >= threshold, n_classes=2).tolist()
    precision = _ratio(tp, tp + fp)
    recall = _ratio(tp, tp + fn)
    f1 = _ratio(2 * precision * recall, precision + recall)
    return OperatingPoint(threshold=float(threshold), tp=tp, fp=fp, tn=tn, fn=fn,
                          accuracy=_ratio(tp + tn, t.size), precision=precision, recall=recall,
                          f1=f1, sensitivity=recall, specificity=_ratio(tn, tn + fp), auc=area)


def classification_report(y_true: np.ndarray, scores: np.ndarray, *, threshold: float = 0.5,
                          positive: int = 1) -> OperatingPoint:
    """Precision, recall, F1, sensitivity, specificity and AUC at a chosen threshold.

    Parameters
    ----------
    y_true : array_like of int
        True class of each sample.
    scores : array_like
        Scores ``(n,)`` or probabilities ``(n, k)`` from ``model.predict``.
    threshold : float, optional
        Operating point: a sample is called positive when its score is ``>= threshold``.
        Use :func:`threshold_for` to pick one on validation data.
    positive : int, optional
        The positive class (every other class counts as negative).

    Returns
    -------
    OperatingPoint
    """
    t, s = _binary(y_true, scores, positive)
    return _operating_point(t, s, threshold, _roc_auc(t, s))


def threshold_for(y_true: np.ndarray, scores: np.ndarray, *, sensitivity: float | None = None,
                  specificity: float | None = None,
                  maximize: Literal["accuracy", "youden", "f1"] | None = None,
                  positive: int = 1) -> float:
    """The threshold that reaches a target sensitivity or specificity, or maximises a score.

    Choose it on *validation* data, then report test performance at it: a threshold tuned
    on the test set flatters the model.

    Parameters
    ----------
    y_true, scores : array_like
        True classes and positive-class scores (or ``(n, k)`` probabilities).
    sensitivity : float, optional
        Target sensitivity: the *highest* threshold with ``sensitivity >= target`` (the most
        specific such point).
    specificity : float, optional
        Target specificity: the *lowest* threshold with ``specificity >= target`` (the most
        sensitive such point).
    maximize : {"accuracy", "youden", "f1"}, optional
        The threshold with the highest accuracy, Youden's J (sensitivity + specificity - 1,
        i.e. the ROC point furthest above the diagonal) or F1; ties go to the highest
        threshold.
    positive : int, optional
        The positive class.

    Returns
    -------
    float
        One of the scores (call positive at ``score >= threshold``), or ``inf`` when calling
        nothing positive is best.
    """
    if sum(v is not None for v in (sensitivity, specificity, maximize)) != 1:
        raise ValueError("give exactly one of sensitivity, specificity or maximize")
    fpr, tpr, thresholds = roc_curve(y_true, scores, positive=positive)
    if sensitivity is not None:
        return float(thresholds[np.flatnonzero(tpr >= sensitivity)[0]])
    if specificity is not None:
        return float(thresholds[np.flatnonzero(1.0 - fpr >= specificity)[-1]])
    t, _ = _binary(y_true, scores, positive)
    n_pos, n_neg = int(t.sum()), int(t.size - t.sum())
    tp, fp = tpr * n_pos, fpr * n_neg
    if maximize == "accuracy":
        value = (tp + (n_neg - fp)) / t.size
    elif maximize == "youden":
        value = tpr - fpr
    elif maximize == "f1":
        value = np.divide(2 * tp, tp + fp + n_pos, out=np.zeros_like(tp), where=tp > 0)
    else:
        raise ValueError(f"maximize must be 'accuracy', 'youden' or 'f1', got {maximize!r}")
    return float(thresholds[int(np.argmax(value))])


def predictive_values(sensitivity: float, specificity: float,
                      prevalence: float) -> tuple[float, float]:
    """Positive and negative predictive values at a prevalence (Bayes' rule).

    Sensitivity and specificity are properties of the test; what a positive result *means*
    depends on how common the disease is where the test is used::

        PPV = sens * prev / (sens * prev + (1 - spec) * (1 - prev))
        NPV = spec * (1 - prev) / (spec * (1 - prev) + (1 - sens) * prev)

    Parameters
    ----------
    sensitivity, specificity : float
        Of the classifier at its operating point (e.g. from :func:`classification_report`).
    prevalence : float
        Fraction of positives in the population the classifier is used on, in ``[0, 1]``.

    Returns
    -------
    ppv, npv : float
        Probability of disease given a positive call, of no disease given a negative call
        (NaN where nothing is ever called positive, respectively negative).

    Examples
    --------
    >>> ppv, npv = predictive_values(0.9, 0.9, 0.5)
    >>> round(ppv, 3), round(npv, 3)
    (0.9, 0.9)
    >>> round(predictive_values(0.9, 0.9, 0.01)[0], 3)  # rare disease: most positives are false
    0.083
    """
    for name, value in (("sensitivity", sensitivity), ("specificity", specificity),
                        ("prevalence", prevalence)):
        if not 0.0 <= value <= 1.0:
            raise ValueError(f"{name} must be in [0, 1], got {value}")
    called_pos = sensitivity * prevalence + (1 - specificity) * (1 - prevalence)
    called_neg = specificity * (1 - prevalence) + (1 - sensitivity) * prevalence
    ppv = sensitivity * prevalence / called_pos if called_pos else float("nan")
    npv = specificity * (1 - prevalence) / called_neg if called_neg else float("nan")
    return float(ppv), float(npv)


# -- calibration ------------------------------------------------------------------------------
def calibration_table(y_true: np.ndarray, scores: np.ndarray, *, n_bins: int = 10,
                      strategy: Literal["uniform", "quantile"] = "uniform",
                      positive: int = 1) -> pd.DataFrame:
    """How often the positive class occurs among samples given each predicted probability.

    A model is *calibrated* when, of all the samples it gives a probability of about 0.8,
    about 80 % are positive. The scores are grouped into bins; per bin the table holds the
    mean predicted probability and the observed fraction of positives, computed by
    :func:`sklearn.calibration.calibration_curve` (the same bins: a score equal to an inner
    edge belongs to the lower bin).

    Parameters
    ----------
    y_true : array_like of int
        True classes.
    scores : array_like
        Predicted probabilities of the positive class ``(n,)`` in ``[0, 1]``, or ``(n, k)``
        probabilities.
    n_bins : int, optional
        Number of bins.
    strategy : {"uniform", "quantile"}, optional
        Bins of equal width in ``[0, 1]``, or holding equal numbers of samples.
    positive : int, optional
        The positive class.

    Returns
    -------
    DataFrame
        One row per non-empty bin: ``low``, ``high`` (bin edges), ``count``,
        ``mean_predicted``, ``fraction_positive`` and ``gap`` (``fraction_positive -
        mean_predicted``: negative where the model is over-confident in the positive class).
    """
    from sklearn.calibration import calibration_curve

    t, s = _binary(y_true, scores, positive)
    if n_bins < 1:
        raise ValueError(f"n_bins must be at least 1, got {n_bins}")
    if s.size == 0:
        raise ValueError("calibration needs at least one sample")
    if s.min() < 0 or s.max() > 1:
        raise ValueError("scores must be probabilities in [0, 1]")
    fraction, mean = calibration_curve(t, s, n_bins=n_bins, strategy=strategy, pos_label=1)
    if strategy == "quantile":
        edges = np.percentile(s, np.linspace(0, 100, n_bins + 1))
    else:
        edges = np.linspace(0.0, 1.0, n_bins + 1)
    counts = np.bincount(np.searchsorted(edges[1:-1], s), minlength=n_bins)
    used = np.flatnonzero(counts)
    return pd.DataFrame({"low": edges[used], "high": edges[used + 1], "count": counts[used],
                         "mean_predicted": mean, "fraction_positive": fraction,
                         "gap": fraction - mean})


def expected_calibration_error(y_true: np.ndarray, scores: np.ndarray, *, n_bins: int = 10,
                               strategy: Literal["uniform", "quantile"] = "uniform",
                               positive: int = 1) -> float:
    """Expected calibration error (ECE) of positive-class probabilities.

    The mean distance between predicted probability and observed frequency, weighted by how
    many samples each bin of :func:`calibration_table` holds::

        ECE = sum_b (n_b / n) * |fraction_positive_b - mean_predicted_b|

    0 for a perfectly calibrated model; 0.1 means that predicted probabilities are off by 10
    percentage points on average. With few samples per bin the estimate is noisy and biased
    upwards; report it with its bins.

    Parameters
    ----------
    y_true, scores, n_bins, strategy, positive
        As for :func:`calibration_table`.

    Returns
    -------
    float

    Examples
    --------
    >>> expected_calibration_error([0, 0, 1, 1], [0.1, 0.1, 0.9, 0.9])
    0.1
    """
    table = calibration_table(y_true, scores, n_bins=n_bins, strategy=strategy,
                              positive=positive)
    weights = table["count"].to_numpy() / table["count"].sum()
    return round(float(np.sum(weights * table["gap"].abs().to_numpy())), 12)


# -- confidence intervals ---------------------------------------------------------------------
@dataclass(frozen=True)
class Interval:
    """A point estimate with its confidence interval.

    Attributes
    ----------
    estimate : float
        The statistic on the data as observed.
    low, high : float
        Ends of the confidence interval.
    confidence_level : float
        E.g. 0.95.
    """

    estimate: float
    low: float
    high: float
    confidence_level: float = 0.95

    def __str__(self) -> str:
        return (f"{self.estimate:.3f} ({100 * self.confidence_level:g} % CI "
                f"{self.low:.3f} to {self.high:.3f})")

    def as_series(self) -> pd.Series:
        """The values as a pandas Series."""
        return pd.Series(asdict(self))


#: Statistics :func:`bootstrap_interval` knows by name: the fields of :class:`OperatingPoint`.
_NAMED_STATISTICS = ("auc", "accuracy", "precision", "recall", "f1", "sensitivity",
                     "specificity")


def _ratios(num: np.ndarray, den: np.ndarray) -> np.ndarray:
    """``num / den`` element-wise, 0 where ``den`` is 0 (as :func:`_ratio`)."""
    return np.divide(num, den, out=np.zeros(np.broadcast(num, den).shape), where=den != 0)


def _batched_statistic(name: str, threshold: float) -> Callable[[np.ndarray, np.ndarray],
                                                                np.ndarray]:
    """A named statistic computed for many resamples at once: ``f(truth, scores)`` with 0/1
    ``truth`` and ``scores`` of shape ``(..., n)`` returns shape ``(...)``; equal to the fields
    of :func:`classification_report` on each row."""
    from scipy import stats

    def statistic(t: np.ndarray, s: np.ndarray) -> np.ndarray:
        positives = t.sum(-1)
        negatives = t.shape[-1] - positives
        if name == "auc":
            # Mann-Whitney: the AUC from the positives' ranks (ties count one half, as
            # scikit-learn's roc_auc_score)
            ranks = stats.rankdata(s, axis=-1)
            rank_sum = np.where(t == 1, ranks, 0.0).sum(-1)
            return (rank_sum - positives * (positives + 1) / 2) / (positives * negatives)
        called = s >= threshold
        tp = (called & (t == 1)).sum(-1)
        fp = (called & (t == 0)).sum(-1)
        tn = negatives - fp
        recall = _ratios(tp, positives)
        precision = _ratios(tp, tp + fp)
        return {"accuracy": lambda: _ratios(tp + tn, t.shape[-1]),
                "precision": lambda: precision,
                "recall": lambda: recall,
                "sensitivity": lambda: recall,
                "specificity": lambda: _ratios(tn, negatives),
                "f1": lambda: _ratios(2 * precision * recall, precision + recall)}[name]()

    return statistic


def bootstrap_interval(
    y_true: np.ndarray,
    scores: np.ndarray,
    statistic: str | Callable[[np.ndarray, np.ndarray], float] = "auc",
    *,
    compared_to: np.ndarray | None = None,
    threshold: float = 0.5,
    positive: int = 1,
    n_resamples: int = 2000,
    confidence_level: float = 0.95,
    seed: int | None = 0,
) -> Interval:
    """A bootstrap confidence interval of a classifier's performance on a test set.

    The test samples are resampled with replacement ``n_resamples`` times and the statistic
    recomputed on each resample (:func:`scipy.stats.bootstrap`, percentile method). Positives
    and negatives are resampled separately (a stratified bootstrap), so every resample has
    both classes, in the proportion observed. The interval answers "how much would this
    number move with another test set of the same size from the same population?"; it says
    nothing about a population with another prevalence, scanner or hospital.

    With ``compared_to`` (a second model's scores for the same samples) the interval is that
    of the *difference* ``statistic(scores) - statistic(compared_to)``, both computed on the
    same resamples (a paired comparison: what the two models share, such as an easy or hard
    test set, cancels). An interval that excludes 0 says the first model is better (or worse).

    Parameters
    ----------
    y_true : array_like of int
        True classes of the test samples.
    scores : array_like
        Positive-class scores ``(n,)`` or probabilities ``(n, k)``; or any array with one row
        per sample when ``statistic`` is a function.
    statistic : str or callable, optional
        ``"auc"``, ``"accuracy"``, ``"sensitivity"``, ``"specificity"``, ``"precision"``,
        ``"recall"`` or ``"f1"`` (the latter at ``threshold``), or a function
        ``f(y_true, scores) -> float`` called with the 0/1 truth and the resampled rows of
        ``scores``. Named statistics are computed for all resamples at once (fast); a function
        is called once per resample.
    compared_to : array_like, optional
        Scores of another model for the same samples, in the form of ``scores``.
    threshold : float, optional
        Operating point of the threshold-dependent statistics.
    positive : int, optional
        The positive class.
    n_resamples : int, optional
        Bootstrap resamples (2000 gives stable 95 % intervals).
    confidence_level : float, optional
        E.g. 0.95 for a 95 % interval.
    seed : int or None, optional
        Seed of the resampling (None: different every call).

    Returns
    -------
    Interval

    Examples
    --------
    >>> y = np.array([0, 0, 0, 1, 1, 1, 0, 1])
    >>> a = np.array([0.1, 0.3, 0.2, 0.8, 0.7, 0.9, 0.6, 0.4])
    >>> bootstrap_interval(y, a, "auc", n_resamples=200).estimate
    0.9375
    >>> b = np.full(8, 0.5)  # a model that cannot tell the classes apart
    >>> bootstrap_interval(y, a, "auc", compared_to=b, n_resamples=200).estimate
    0.4375
    """
    from scipy import stats

    t = _binary_truth(y_true, positive).astype(np.int64)
    function = statistic if callable(statistic) else None
    batched = None
    if function is None:
        if statistic not in _NAMED_STATISTICS:
            raise ValueError(f"statistic must be a function or one of {_NAMED_STATISTICS}, "
                             f"got {statistic!r}")
        batched = _batched_statistic(str(statistic), threshold)

    def prepare(values: np.ndarray) -> np.ndarray:
        return np.asarray(values) if function is not None else _scores(values, positive)

    models = [prepare(scores)] + ([] if compared_to is None else [prepare(compared_to)])
    for data in models:
        if len(data) != t.size:
            raise ValueError(f"y_true has {t.size} entries but scores have {len(data)} rows")
    if t.all() or not t.any():
        raise ValueError("a bootstrap interval needs both positive and negative samples")
    positives, negatives = np.flatnonzero(t), np.flatnonzero(t == 0)

    def value(rows: np.ndarray) -> Any:
        """The statistic (or the difference) on the samples ``rows`` (``(..., m)`` indices)."""
        if function is not None:
            results: list[Any] = [float(function(t[rows], data[rows])) for data in models]
        else:
            assert batched is not None
            results = [batched(t[rows], data[rows]) for data in models]
        return results[0] - results[1] if len(results) == 2 else results[0]

    def resampled(pos: np.ndarray, neg: np.ndarray, axis: int = -1) -> Any:
        return value(np.concatenate([pos, neg], axis=-1).astype(np.int64))

    # scipy >= 1.15 takes ``rng``; older versions ``random_state``
    seeding = "rng" if "rng" in inspect.signature(stats.bootstrap).parameters else "random_state"
    result = stats.bootstrap((positives, negatives), resampled, paired=False,
                             vectorized=batched is not None, n_resamples=n_resamples,
                             batch=max(1, 4_000_000 // t.size),  # bounded memory
                             confidence_level=confidence_level, method="percentile",
                             **{seeding: np.random.default_rng(seed)})
    ci = result.confidence_interval
    everything = np.arange(t.size)
    estimate = value(everything[None])[0] if batched is not None else value(everything)
    return Interval(estimate=float(estimate), low=float(ci.low), high=float(ci.high),
                    confidence_level=confidence_level)


def misclassified(y_true: np.ndarray, probabilities: np.ndarray, *,
                  threshold: float | None = None, positive: int = 1) -> np.ndarray:
    """Indices of wrongly classified samples, the most confidently wrong first.

    Parameters
    ----------
    y_true : array_like of int
        True classes.
    probabilities : ndarray, shape (n, k) or (n,)
        Predicted probabilities (or positive-class scores).
    threshold : float, optional
        For binary problems, call positive at ``score >= threshold``; by default the
        predicted class is the most probable one.
    positive : int, optional
        The positive class when a threshold is given.
    """
    t = np.asarray(y_true).reshape(-1).astype(np.int64)
    p = np.asarray(probabilities, dtype=np.float64)
    if threshold is not None or p.ndim == 1:
        s = _scores(p, positive)
        thr = 0.5 if threshold is None else threshold
        predicted = np.where(s >= thr, positive, 1 - positive if positive in (0, 1) else 0)
        confidence = np.abs(s - thr)
    else:
        predicted = p.argmax(1)
        confidence = p.max(1) - p[np.arange(len(t)), t]
    wrong = np.flatnonzero(predicted != t)
    return wrong[np.argsort(-confidence[wrong], kind="stable")]


def misclassified_gallery(x: np.ndarray, y_true: np.ndarray, probabilities: np.ndarray, *,
                          indices: Sequence[int] | None = None, n: int = 12,
                          class_names: Sequence[str] | None = None,
                          columns: int = 6) -> Figure:
    """A gallery of (by default the most confidently) misclassified images.

    Each tile shows the image (values in ``[0, 1]``), its index, true class and the predicted
    class with its probability.
    """
    from matplotlib.figure import Figure

    idx = misclassified(y_true, probabilities) if indices is None else np.asarray(indices)
    idx = idx[:n]
    p = np.asarray(probabilities)
    names = list(class_names) if class_names is not None else None
    label = (lambda k: names[k] if names is not None else str(k))  # noqa: E731
    rows = max(1, int(np.ceil(len(idx) / columns)))
    cols = min(columns, max(len(idx), 1))
    fig = Figure(figsize=(1.8 * cols, 2.0 * rows), layout="constrained")
    axes = fig.subplots(rows, cols, squeeze=False)
    for ax in axes.ravel():
        ax.set_axis_off()
    for ax, i in zip(axes.ravel(), idx):
        ax.imshow(_as_2d(x[i]), cmap="gray", vmin=0, vmax=1)
        true = int(np.asarray(y_true).reshape(-1)[i])
        if p.ndim == 2:
            k = int(p[i].argmax())
            text = f"#{i} true {label(true)}\npred {label(k)} {p[i, k]:.2f}"
        else:
            text = f"#{i} true {label(true)}\nscore {p[i]:.2f}"
        ax.set_title(text, fontsize=8, color="tab:red")
    if not len(idx):
        axes[0, 0].text(0.5, 0.5, "no misclassified samples", ha="center", va="center")
    fig.suptitle(f"{len(idx)} misclassified samples", fontsize="medium")
    return fig


def plot_confusion_matrix(cm: np.ndarray, class_names: Sequence[str] | None = None,
                          *, normalize: bool = False) -> Figure:
    """A confusion matrix as an annotated heat map (rows: true class, columns: predicted)."""
    from matplotlib.figure import Figure

    cm = np.asarray(cm)
    shown = cm / np.maximum(cm.sum(1, keepdims=True), 1) if normalize else cm
    names = list(class_names) if class_names is not None else [str(i) for i in range(len(cm))]
    fig = Figure(figsize=(1.2 * len(cm) + 2, 1.1 * len(cm) + 1.5), layout="constrained")
    ax = fig.subplots()
    ax.imshow(shown, cmap="Blues", vmin=0)
    for i in range(len(cm)):
        for j in range(len(cm)):
            text = f"{shown[i, j]:.2f}" if normalize else str(cm[i, j])
            dark = shown[i, j] > 0.6 * shown.max()
            ax.text(j, i, text, ha="center", va="center", color="white" if dark else "black")
    ax.set_xticks(range(len(cm)), names)
    ax.set_yticks(range(len(cm)), names)
    ax.set_xlabel("predicted")
    ax.set_ylabel("true")
    return fig


def plot_roc(fpr: np.ndarray, tpr: np.ndarray, *, point: OperatingPoint | None = None,
             label: str = "model") -> Figure:
    """The ROC curve with its AUC, the chance diagonal, and optionally an operating point."""
    from matplotlib.figure import Figure

    fig = Figure(figsize=(4.2, 4.0), layout="constrained")
    ax = fig.subplots()
    ax.plot(fpr, tpr, label=f"{label} (AUC {auc(fpr, tpr):.3f})")
    ax.plot([0, 1], [0, 1], ":", color="grey", label="chance")
    if point is not None:
        ax.plot(1 - point.specificity, point.sensitivity, "o", color="tab:red",
                label=f"threshold {point.threshold:.2f}")
    ax.set_xlabel("1 - specificity (false positive rate)")
    ax.set_ylabel("sensitivity (true positive rate)")
    ax.set_aspect("equal")
    ax.legend(loc="lower right", fontsize="small")
    return fig


def plot_reliability(y_true: np.ndarray, scores: np.ndarray, *, n_bins: int = 10,
                     strategy: Literal["uniform", "quantile"] = "uniform",
                     label: str = "model", positive: int = 1) -> Figure:
    """Reliability diagram: observed frequency against predicted probability, with the ECE.

    Top: one point per bin of :func:`calibration_table` (the mean predicted probability
    against the fraction of positives), the diagonal a calibrated model would follow, and the
    gap shaded; the legend gives the :func:`expected_calibration_error`. Bottom: how many
    samples each bin holds, per true class (bins with few samples are noisy).

    Parameters
    ----------
    y_true, scores, n_bins, strategy, positive
        As for :func:`calibration_table`.
    label : str, optional
        Name of the model in the legend.
    """
    from matplotlib.figure import Figure

    table = calibration_table(y_true, scores, n_bins=n_bins, strategy=strategy,
                              positive=positive)
    ece = expected_calibration_error(y_true, scores, n_bins=n_bins, strategy=strategy,
                                     positive=positive)
    t, s = _binary(y_true, scores, positive)
    fig = Figure(figsize=(4.4, 5.0), layout="constrained")
    top, bottom = fig.subplots(2, 1, sharex=True, height_ratios=(3, 1))
    top.plot([0, 1], [0, 1], ":", color="grey", label="perfectly calibrated")
    top.vlines(table["mean_predicted"], table["mean_predicted"], table["fraction_positive"],
               color="tab:red", alpha=0.5, lw=2, label="gap")
    top.plot(table["mean_predicted"], table["fraction_positive"], "o-", color="tab:blue",
             label=f"{label} (ECE {ece:.3f})")
    top.set_ylabel("observed fraction positive")
    top.set_xlim(0, 1)
    top.set_ylim(-0.02, 1.02)
    top.legend(loc="upper left", fontsize="small")
    edges = np.unique(np.r_[table["low"].to_numpy(), table["high"].to_numpy()]) \
        if strategy == "quantile" else np.linspace(0, 1, n_bins + 1)
    bottom.hist([s[t == 0], s[t == 1]], bins=edges, stacked=True,
                color=["tab:grey", "tab:orange"], label=["negative", "positive"])
    bottom.set_xlabel("predicted probability of the positive class")
    bottom.set_ylabel("samples")
    bottom.legend(fontsize="x-small", loc="upper center")
    return fig


def segmentation_scores(masks_true: np.ndarray, probabilities: np.ndarray, *,
                        threshold: float = 0.5, spacing: Sequence[float] | None = None,
                        percentile: float = 100.0) -> pd.DataFrame:
    """Dice, IoU and Hausdorff distance of every predicted mask against its ground truth.

    Uses :func:`medinteract.ops.metrics.dice`, :func:`~medinteract.ops.metrics.iou` and
    :func:`~medinteract.ops.metrics.hausdorff_distance` (two empty masks: Dice = IoU = 1,
    Hausdorff 0; exactly one empty: Hausdorff ``inf``).

    Parameters
    ----------
    masks_true : ndarray, shape (n, h, w) or (n, h, w, 1)
        Ground-truth masks (non-zero is foreground).
    probabilities : ndarray, same shape
        Predicted foreground probabilities (e.g. from :func:`small_unet`), or masks.
    threshold : float, optional
        Foreground where ``probability >= threshold``.
    spacing : sequence of float, optional
        mm per pixel (row, column) for the Hausdorff distance; pixels when absent.
    percentile : float, optional
        100 for the classic Hausdorff distance, 95 for HD95.

    Returns
    -------
    DataFrame
        One row per sample: ``dice``, ``iou``, ``hausdorff``, ``true_pixels``,
        ``predicted_pixels``.
    """
    from medinteract.ops.metrics import dice, hausdorff_distance, iou

    truth = np.asarray(masks_true)
    prob = np.asarray(probabilities)
    if truth.shape != prob.shape:
        raise ValueError(f"masks_true has shape {truth.shape} but probabilities {prob.shape}")
    if truth.ndim >= 3 and truth.shape[-1] == 1:
        truth, prob = truth[..., 0], prob[..., 0]
    rows = []
    for t, p in zip(truth != 0, prob >= threshold):
        rows.append({
            "dice": dice(t, p),
            "iou": iou(t, p),
            "hausdorff": hausdorff_distance(t, p, spacing=spacing, percentile=percentile),
            "true_pixels": int(t.sum()),
            "predicted_pixels": int(p.sum()),
        })
    return pd.DataFrame(rows)


#: The classical filters of the denoise panel, in the order :func:`compare_denoisers` scores them.
CLASSICAL_DENOISERS: tuple[str, ...] = ("gaussian", "median", "mean", "bilateral",
                                        "total_variation", "nl_means")


def _as_stack(images: np.ndarray, name: str) -> np.ndarray:
    """``(n, h, w)`` float32 from ``(n, h, w)`` or ``(n, h, w, 1)``."""
    stack = np.asarray(images, dtype=np.float32)
    if stack.ndim == 4 and stack.shape[-1] == 1:
        stack = stack[..., 0]
    if stack.ndim != 3:
        raise ValueError(f"{name} must have shape (n, h, w) or (n, h, w, 1), got {stack.shape}")
    return stack


def _effective_params(func: Callable[..., Any], given: Mapping[str, Any]) -> dict[str, Any]:
    """The op's keyword defaults (``spacing`` excluded) updated with the given values."""
    defaults = {name: p.default for name, p in inspect.signature(func).parameters.items()
                if p.kind is inspect.Parameter.KEYWORD_ONLY and name != "spacing"}
    unknown = set(given) - set(defaults)
    if unknown:
        raise ValueError(f"{func.__name__} has no parameter(s) {sorted(unknown)}; "
                         f"it takes {sorted(defaults)}")
    return {**defaults, **given}


def _score_row(method: str, params: dict[str, Any], outputs: np.ndarray, clean: np.ndarray,
               seconds: float, data_range: float) -> dict[str, Any]:
    from medinteract.ops.metrics import psnr, ssim

    return {
        "method": method,
        "params": params,
        "psnr_db": float(np.mean([psnr(c, o, data_range=data_range)
                                  for o, c in zip(outputs, clean)])),
        "ssim": float(np.mean([ssim(c, o, data_range=data_range)
                               for o, c in zip(outputs, clean)])),
        "seconds": seconds,
    }


def compare_denoisers(noisy: np.ndarray, clean: np.ndarray, *, model: Any = None,
                      spacing: Sequence[float] | None = None,
                      filters: Mapping[str, Mapping[str, Any] | None] | None = None,
                      data_range: float = 1.0) -> pd.DataFrame:
    """Score the classical denoise filters (and optionally a trained model) on held-out images.

    Every method denoises each image of ``noisy`` separately; its output is compared with the
    matching ``clean`` image by :func:`medinteract.ops.metrics.psnr` and
    :func:`medinteract.ops.metrics.ssim` with a fixed ``data_range`` (not the per-image range,
    so all images and methods share one scale), and the scores are averaged over the images.
    The noisy input itself is the first row: the baseline any denoiser should beat.

    Parameters
    ----------
    noisy, clean : ndarray, shape (n, h, w) or (n, h, w, 1)
        Noisy inputs and their noise-free targets, e.g. ``pairs.x_test`` and ``pairs.y_test``
        from :func:`medinteract.learn.denoising_pairs` (values in ``[0, 1]``). Use patches of
        patients the model never saw. ``h`` and ``w`` must be at least 7 (SSIM window).
    model : keras.Model, optional
        A trained denoiser mapping ``(n, h, w, 1)`` to ``(n, h, w, 1)``, such as
        :func:`medinteract.learn.denoising_autoencoder`; scored under its ``name``.
    spacing : sequence of float, optional
        mm per pixel (row, column), passed to every filter (the Gaussian's and the bilateral's
        sigmas are in mm); 1 mm per pixel when absent.
    filters : mapping of str to dict, optional
        Op name -> parameters, each called through :func:`medinteract.ops.get_op`; a missing
        parameter (or ``None`` instead of a dict) keeps the op's default. Default: every filter
        of :data:`CLASSICAL_DENOISERS` with its defaults. Non-local means and bilateral are the
        slowest: score a few dozen small patches, not whole volumes.
    data_range : float, optional
        Peak value range for PSNR and SSIM: 1.0 for images scaled to ``[0, 1]`` (as
        :func:`~medinteract.learn.denoising_pairs` makes them); e.g. the window width for HU.

    Returns
    -------
    DataFrame
        One row per method (``"noisy"``, then the filters in the given order, then the model):
        ``method``, ``params`` (dict of the parameters used, defaults filled in), ``psnr_db``
        and ``ssim`` (means over the images), ``seconds`` (wall time to denoise all images).

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> clean = np.zeros((2, 32, 32), np.float32); clean[:, 8:24, 8:24] = 0.8
    >>> noisy = clean + rng.normal(0, 0.1, clean.shape).astype(np.float32)
    >>> table = compare_denoisers(noisy, clean, filters={"median": {"size": 3}})
    >>> list(table["method"]), bool(table["psnr_db"].iloc[1] > table["psnr_db"].iloc[0])
    (['noisy', 'median'], True)
    """
    from medinteract.ops import get_op

    noisy_stack = _as_stack(noisy, "noisy")
    clean_stack = _as_stack(clean, "clean")
    if noisy_stack.shape != clean_stack.shape:
        raise ValueError(f"noisy has shape {noisy_stack.shape} but clean {clean_stack.shape}")
    if data_range <= 0:
        raise ValueError(f"data_range must be > 0, got {data_range}")
    chosen = {name: None for name in CLASSICAL_DENOISERS} if filters is None else filters
    rows = [_score_row("noisy", {}, noisy_stack, clean_stack, 0.0, data_range)]
    for name, given in chosen.items():
        func = get_op(name)
        params = _effective_params(func, given or {})
        start = time.perf_counter()
        outputs = np.stack([func(image, spacing=spacing, **params) for image in noisy_stack])
        seconds = time.perf_counter() - start
        rows.append(_score_row(name, params, outputs, clean_stack, seconds, data_range))
    if model is not None:
        start = time.perf_counter()
        predicted = np.asarray(model.predict(noisy_stack[..., None], verbose=0))
        seconds = time.perf_counter() - start
        outputs = _as_stack(predicted, "model output")
        rows.append(_score_row(str(getattr(model, "name", "model")), {}, outputs, clean_stack,
                               seconds, data_range))
    return pd.DataFrame(rows, columns=["method", "params", "psnr_db", "ssim", "seconds"])
