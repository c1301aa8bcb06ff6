"""Evaluate a trained model: confusion matrix, ROC/AUC, an operating point, failures, Dice.

All functions take plain NumPy arrays (predictions from ``model.predict``), so they work with
any Keras backend, and any other model. Figures are :class:`matplotlib.figure.Figure` objects
made without pyplot: a notebook shows one when it is the last value of a cell, and a script
saves it with ``fig.savefig``.

Conventions follow scikit-learn: the confusion matrix has one row per *true* class and one
column per *predicted* class; for two classes the positive class is 1 and ``scores`` are the
predicted probabilities of class 1 (``probabilities[:, 1]``).
"""

from __future__ import annotations

import inspect
import time
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any, Callable, Mapping, Sequence

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
    "misclassified",
    "misclassified_gallery",
    "plot_confusion_matrix",
    "plot_roc",
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


def confusion_matrix(y_true: Sequence[int] | np.ndarray, y_pred: Sequence[int] | np.ndarray,
                     n_classes: int | None = None) -> np.ndarray:
    """Counts of (true class, predicted class) pairs.

    Parameters
    ----------
    y_true, y_pred : sequence of int
        True and predicted class indices.
    n_classes : int, optional
        Number of classes (default: one more than the largest index seen).

    Returns
    -------
    ndarray of int64, shape (n_classes, n_classes)
        ``cm[i, j]`` is the number of samples of true class ``i`` predicted as ``j``.
    """
    t = np.asarray(y_true, dtype=np.int64).reshape(-1)
    p = np.asarray(y_pred, dtype=np.int64).reshape(-1)
    if t.shape != p.shape:
        raise ValueError(f"y_true has {t.size} entries but y_pred has {p.size}")
    if n_classes is None:
        n_classes = int(max(t.max(initial=-1), p.max(initial=-1))) + 1
    return np.bincount(t * n_classes + p, minlength=n_classes**2).reshape(n_classes, n_classes)


def roc_curve(y_true: np.ndarray, scores: np.ndarray, *,
              positive: int = 1) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Receiver operating characteristic: false and true positive rates per threshold.

    A sample is called positive when its score is ``>= threshold``. Every distinct score is a
    threshold (no point is dropped), preceded by ``inf`` (nothing called positive).

    Parameters
    ----------
    y_true : array_like of int
        True class of each sample.
    scores : array_like
        Score of the positive class, ``(n,)``, or probabilities ``(n, k)``.
    positive : int, optional
        The positive class.

    Returns
    -------
    fpr, tpr, thresholds : ndarray
        Decreasing thresholds and the rates they give, from (0, 0) to (1, 1).
    """
    s = _scores(scores, positive)
    t = _binary_truth(y_true, positive)
    if s.shape != t.shape:
        raise ValueError(f"y_true has {t.size} entries but scores have {s.size}")
    if t.all() or not t.any():
        raise ValueError("ROC needs both positive and negative samples")
    order = np.argsort(-s, kind="mergesort")
    s, t = s[order], t[order]
    last_of_run = np.r_[np.flatnonzero(np.diff(s)), s.size - 1]
    tps = np.cumsum(t)[last_of_run]
    fps = (last_of_run + 1) - tps
    tpr = np.r_[0.0, tps / t.sum()]
    fpr = np.r_[0.0, fps / (~t).sum()]
    thresholds = np.r_[np.inf, s[last_of_run]]
    return fpr, tpr, thresholds


def auc(fpr: np.ndarray, tpr: np.ndarray) -> float:
    """Area under a curve given by increasing ``fpr`` (trapezoidal rule)."""
    return float(np.trapezoid(tpr, fpr))


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
        Area under the ROC curve (threshold independent).
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
        Use :func:`threshold_for` to pick one for a target sensitivity or specificity.
    positive : int, optional
        The positive class (every other class counts as negative).

    Returns
    -------
    OperatingPoint
    """
    s = _scores(scores, positive)
    t = _binary_truth(y_true, positive)
    called = s >= threshold
    tp = int(np.sum(called & t))
    fp = int(np.sum(called & ~t))
    tn = int(np.sum(~called & ~t))
    fn = int(np.sum(~called & t))
    precision = _ratio(tp, tp + fp)
    recall = _ratio(tp, tp + fn)
    f1 = _ratio(2 * precision * recall, precision + recall)
    try:
        area = auc(*roc_curve(t.astype(int), s)[:2])
    except ValueError:
        area = float("nan")
    return OperatingPoint(threshold=float(threshold), tp=tp, fp=fp, tn=tn, fn=fn,
                          accuracy=_ratio(tp + tn, t.size), precision=precision, recall=recall,
                          f1=f1, sensitivity=recall, specificity=_ratio(tn, tn + fp), auc=area)


def threshold_for(y_true: np.ndarray, scores: np.ndarray, *, sensitivity: float | None = None,
                  specificity: float | None = None, positive: int = 1) -> float:
    """The threshold that reaches a target sensitivity (or specificity) on these data.

    For a sensitivity target the *highest* threshold with ``sensitivity >= target`` is
    returned (the most specific such point); for a specificity target the *lowest* threshold
    with ``specificity >= target`` (the most sensitive such point). Pick it on validation
    data, then report test performance at it.
    """
    if (sensitivity is None) == (specificity is None):
        raise ValueError("give exactly one of sensitivity or specificity")
    fpr, tpr, thresholds = roc_curve(y_true, scores, positive=positive)
    if sensitivity is not None:
        ok = np.flatnonzero(tpr >= sensitivity)
        return float(thresholds[ok[0]])
    assert specificity is not None
    ok = np.flatnonzero(1.0 - fpr >= specificity)
    return float(thresholds[ok[-1]])


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
