"""The built-in exercises of the tutorial series, registered on import.

Every target is computed from seeded data (the phantom's ground truth, a clean reference
image, a held-out test split), so a checker never stores the answer. Notes in a failing
:class:`~medinteract.teach.Feedback` recognise common mistakes (a voxel count instead of a
volume, a descending sort, a mask that covers the chest wall) without giving the answer away.
"""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
from scipy import ndimage

from medinteract.data import TISSUE_HU, Phantom, phantom
from medinteract.ops.denoise import gaussian
from medinteract.ops.enhance import gamma
from medinteract.ops.metrics import dice, psnr
from medinteract.scan import Window
from medinteract.teach import hidden
from medinteract.teach.answers import (AnswerError, as_image, as_mask, as_method, as_number,
                                       as_numbers, as_window, call_method, describe)
from medinteract.teach.exercises import Exercise, Grade, register
from medinteract.teach.feedback import Criterion

__all__: list[str] = []

#: Grey levels a display has between black and white (8-bit).
GREY_LEVELS = 255
#: Grey levels that must separate the lung parenchyma from the faintest nodule.
LUNG_WINDOW_SEPARATION = 100
#: Dice a nodule segmentation must reach on every case (the worked method: 0.91-1.00).
DICE_TARGET = 0.90
#: Objects of a nodule mask that are not a nodule, allowed per case. A threshold inside the
#: lung field without the clean-up leaves 5-12 vessel fragments on the exercise's cases (and
#: a Dice of 0.69-0.97); the full recipe (threshold in the lung field, opening) 0 or 1.
MAX_FALSE_OBJECTS = 1
#: dB by which the denoised image must beat the noisy one on every case. The best Gaussian
#: gains 2.0-2.2 dB at sigma 0.5-0.6 mm; sigma 0.4 or 1.0 mm gain 1.0-1.6 dB.
PSNR_GAIN_DB = 1.8
#: A gain no filter of the noisy scan reaches (total variation, the best here, gains 6-7 dB):
#: such an answer was made from the clean reference.
IMPLAUSIBLE_PSNR_GAIN_DB = 12.0
#: Relative tolerance of the nodule volume.
VOLUME_TOLERANCE = 0.10
#: Display contrast (grey in [0, 1]) by which nodule_contrast must beat the plain rescale on
#: every case. The default 2-98 % stretch alone gains 0.24-0.26, a window or percentile range
#: chosen for lung and nodule followed by a gamma above 1 gains 0.29-0.33.
CONTRAST_GAIN = 0.27
#: Largest fraction of pixels a display may saturate (pure black or pure white).
MAX_SATURATED = 0.10
#: Tolerance of the mean lung density, HU.
MEAN_HU_TOLERANCE = 2.0
#: Accuracy the classifier must reach on patients nobody has seen (432 patches, half with a
#: nodule). Measured there: the worked solution (early stopping) 0.89, with PreciseBatchNorm
#: 0.84, 12 plain epochs 0.85, an undertrained model (3 epochs) 0.57.
ACCURACY_TARGET = 0.80
#: How many unseen cases a method is graded on.
N_HIDDEN_SLICES = 3
N_HIDDEN_VOLUMES = 2


# -- data (seeded, built once, read-only so a student cannot corrupt the ground truth) ------
def _read_only(p: Phantom) -> Phantom:
    for array in (p.scan.array, p.labels, p.nodules):
        array.flags.writeable = False
    return p


@functools.cache
def _chest_slice() -> Phantom:
    return _read_only(phantom(shape=(256, 256), n_nodules=4, seed=7))


@functools.cache
def _chest_volume() -> Phantom:
    return _read_only(phantom(seed=3))


@functools.cache
def _low_dose_pair() -> tuple[Phantom, np.ndarray]:
    noisy = _read_only(phantom(shape=(256, 256), n_nodules=4, seed=7, noise_hu=80.0))
    clean = phantom(shape=(256, 256), n_nodules=4, seed=7, noise_hu=0.0).scan.array
    clean.flags.writeable = False
    return noisy, clean


def _near(value: float, reference: float, relative: float = 0.0, absolute: float = 0.0) -> bool:
    return abs(value - reference) <= max(relative * abs(reference), absolute)


# -- hidden cases (the answer key: never part of an exercise's data) -------------------------
_WALL = ("soft tissue", "bone", "fat", "air")


def _nodules_free_in_lung(p: Phantom) -> bool:
    """True when no nodule touches the chest wall, mediastinum or spine (in its own slices).

    Nodules attached to the pleura need methods beyond these exercises; unseen cases are
    drawn from the exercise's own generator but without them, so a correct method passes on
    every secret.
    """
    codes = [code for code, name in p.label_names.items() if name in _WALL]
    nodules = np.asarray(p.nodules)
    labels = np.asarray(p.labels)
    if nodules.ndim == 2:
        nodules, labels = nodules[None], labels[None]
    ring = ndimage.binary_dilation(nodules > 0, structure=np.ones((1, 5, 5), bool)) & (
        nodules == 0)
    return not np.isin(labels[ring], codes).any()


def _hide(p: Phantom) -> Phantom:
    """The phantom with a name that does not reveal its seed, read-only."""
    scan = dataclasses.replace(p.scan, name=hidden.HIDDEN_NAME)
    return _read_only(dataclasses.replace(p, scan=scan))


def _unseen(kind: str, n: int, make: Callable[[int], Any],
            accept: Callable[[Any], bool]) -> tuple[Any, ...]:
    """``n`` cases ``make(seed)`` from the grading secret's seeds for ``kind``, kept if
    ``accept(case)``."""
    found: list[Any] = []
    for round_ in range(8):
        for seed in hidden.case_seeds(f"{kind}/{round_}", 8):
            try:
                case = make(seed)
            except ValueError:  # the nodules did not fit into this phantom's lungs
                continue
            if accept(case):
                found.append(case)
                if len(found) == n:
                    return tuple(found)
    raise RuntimeError(f"could not draw {n} unseen {kind} cases")  # pragma: no cover


@functools.cache
def _unseen_slices(secret: str) -> tuple[Phantom, ...]:
    return tuple(_hide(p) for p in _unseen(
        "chest slice", N_HIDDEN_SLICES,
        lambda seed: phantom(shape=(256, 256), n_nodules=4, seed=seed), _nodules_free_in_lung))


@functools.cache
def _unseen_volumes(secret: str) -> tuple[Phantom, ...]:
    return tuple(_hide(p) for p in _unseen(
        "chest volume", N_HIDDEN_VOLUMES, lambda seed: phantom(seed=seed),
        _nodules_free_in_lung))


@functools.cache
def _unseen_low_dose(secret: str) -> tuple[tuple[Phantom, np.ndarray], ...]:
    def make(seed: int) -> tuple[Phantom, np.ndarray]:
        noisy = phantom(shape=(256, 256), n_nodules=4, seed=seed, noise_hu=80.0)
        clean = phantom(shape=(256, 256), n_nodules=4, seed=seed, noise_hu=0.0).scan.array
        clean.flags.writeable = False
        return noisy, clean

    return tuple((_hide(noisy), clean) for noisy, clean in _unseen(
        "low-dose slice", N_HIDDEN_SLICES, make, lambda pair: True))


def unseen_slices() -> tuple[Phantom, ...]:
    """The unseen chest slices of the grading secret in force (hidden names, read-only)."""
    return _unseen_slices(hidden.secret())


def unseen_volumes() -> tuple[Phantom, ...]:
    """The unseen chest volumes of the grading secret in force."""
    return _unseen_volumes(hidden.secret())


def unseen_low_dose() -> tuple[tuple[Phantom, np.ndarray], ...]:
    """The unseen (noisy, clean) low-dose slices of the grading secret in force."""
    return _unseen_low_dose(hidden.secret())


def _cases(seen: Any, unseen: Sequence[Any]) -> list[tuple[str, Any]]:
    """(where, case) pairs: the case the student sees first, then the unseen ones."""
    return [("the case you see", seen)] + [(f"unseen case {i}", case)
                                          for i, case in enumerate(unseen, 1)]


def _summary(results: Sequence[Any], fmt: Callable[[Any], str]) -> str:
    return ", ".join(fmt(r) for r in results)


# -- slice_order ---------------------------------------------------------------------------
def _slice_positions() -> list[float]:
    positions = np.arange(-27.5, 30.0, 5.0)
    order = np.random.default_rng(2).permutation(len(positions))
    return [float(positions[i]) for i in order]  # a fresh list: students may sort it in place


def _grade_slice_order(answer: Any, positions: list[float]) -> Grade:
    values = as_numbers(answer, "a list of slice positions (numbers, in mm)")
    expected = sorted(float(p) for p in positions)
    same = len(values) == len(expected) and np.allclose(sorted(values), expected)
    if len(values) != len(expected):
        detail = f"{len(values)} positions given, {len(expected)} slices in the series"
    else:
        detail = "" if same else "some values differ from the positions you were given"
    steps = np.diff(values)
    out_of_order = int(np.count_nonzero(steps <= 0))
    ascending = len(values) > 1 and out_of_order == 0
    criteria = [
        Criterion("keeps every slice position exactly once", same, detail),
        Criterion("runs from the lowest to the highest position (feet to head)", ascending,
                  "" if ascending else f"{out_of_order} neighbouring pair(s) out of order"),
    ]
    notes = []
    if same and values == sorted(values, reverse=True):
        notes.append("Your list runs from the highest to the lowest position: reverse it.")
    elif same and values == sorted(values, key=lambda v: str(v)):
        notes.append("This is the order of the positions as text (so '-2.5' comes before "
                     "'-27.5'): sort the numbers, not their text.")
    return criteria, notes


register(Exercise(
    id="slice_order",
    title="Put the slices of a series in order",
    notebook="00_start_here",
    prompt=("A scanner wrote one file per slice, and the files came back in a random order. "
            "`ex.data.positions` holds each slice's position along the body axis (z, in mm). "
            "Set `answer` to a list of these positions sorted so the series runs from the "
            "feet (lowest z) to the head (highest z)."),
    hint="Python's `sorted(...)` sorts numbers in increasing order.",
    expects="a list of slice positions (numbers)",
    grade=_grade_slice_order,
    inputs={"positions": _slice_positions},
))


# -- lung_mean_hu --------------------------------------------------------------------------
def _grade_lung_mean(answer: Any, phantom: Phantom) -> Grade:
    value = as_number(answer, "one number: the mean HU of the lung pixels")
    image = np.asarray(phantom.scan.array, dtype=np.float64)
    lung = phantom.mask("lung")
    if not lung.any():
        raise AnswerError("this phantom has no pixel labelled lung")
    target = float(image[lung].mean())
    ok = _near(value, target, absolute=MEAN_HU_TOLERANCE)
    criteria = [Criterion(f"within {MEAN_HU_TOLERANCE:g} HU of the mean of the lung pixels",
                          ok, f"your value: {value:.1f} HU")]
    notes = []
    if not ok:
        if value > 0:
            notes.append("The lung is mostly air (-1000 HU), so its mean is strongly negative.")
        elif _near(value, float(image.mean()), absolute=5.0):
            notes.append("This is close to the mean of the whole image: average only the "
                         "pixels the lung mask selects, `image[mask]`.")
        elif _near(value, TISSUE_HU["lung"], absolute=1.0):
            notes.append("This is the nominal lung density of the phantom; measure the "
                         "image instead (noise and blur shift the mean).")
        elif _near(value, float(np.median(image[lung])), absolute=0.5):
            notes.append("This is the median; the exercise asks for the mean.")
        else:
            for code, name in phantom.label_names.items():
                mask = phantom.labels == code
                if name != "lung" and mask.any() and _near(value, float(image[mask].mean()),
                                                           absolute=MEAN_HU_TOLERANCE):
                    notes.append(f"This is close to the mean of the {name} pixels: check "
                                 f"which tissue your mask selects.")
    return criteria, notes


register(Exercise(
    id="lung_mean_hu",
    title="Measure the density of the lung",
    notebook="00_start_here",
    prompt=("`ex.data.phantom` is a synthetic chest CT slice in Hounsfield units. Its "
            "`phantom.mask(\"lung\")` is True on the lung pixels. Set `answer` to the mean "
            "HU of those pixels, measured in `phantom.scan.array`."),
    hint=("Index an array with a boolean mask of the same shape to get the selected pixels, "
          "`image[mask]`, then take their `.mean()`."),
    expects="one number (the mean HU of the lung)",
    grade=_grade_lung_mean,
    inputs={"phantom": _chest_slice},
))


# -- lung_window ---------------------------------------------------------------------------
def _grey(hu: float, window: Window) -> float:
    return float(np.clip((hu - window.low) / window.width, 0.0, 1.0) * GREY_LEVELS)


def _window_shows(window: Window, phantom: Phantom) -> tuple[bool, bool, float, str, str]:
    """Whether the lung and every nodule lie inside ``window``, their grey-level separation,
    and what the student sees of each."""
    image = np.asarray(phantom.scan.array, dtype=np.float64)
    lung_hu = float(np.median(image[phantom.mask("lung")]))
    ids = [int(k) for k in np.unique(phantom.nodules) if k]
    if not ids:
        raise AnswerError("this phantom has no nodules to show")
    nodule_hu = [float(image[phantom.nodules == k].mean()) for k in ids]
    span = f"window {window.low:.0f} to {window.high:.0f} HU"
    lung_inside = window.low < lung_hu < window.high
    lung_where = (f"it is below the {span}, so it shows pure black" if lung_hu <= window.low
                  else f"it is above the {span}, so it shows pure white"
                  if lung_hu >= window.high else span)
    above = sum(h >= window.high for h in nodule_hu)
    below = sum(h <= window.low for h in nodule_hu)
    nodules_inside = above == below == 0
    nodule_detail = span if nodules_inside else f"with the {span}, " + ", ".join(
        part for part in (f"{above} are above it (pure white)" if above else "",
                          f"{below} are below it (pure black)" if below else "") if part)
    separation = _grey(min(nodule_hu), window) - _grey(lung_hu, window)
    return lung_inside, nodules_inside, separation, lung_where, nodule_detail


def _grade_lung_window(answer: Any, phantom: Phantom) -> Grade:
    window = as_window(answer)
    image = np.asarray(phantom.scan.array, dtype=np.float64)
    lung_hu = float(np.median(image[phantom.mask("lung")]))
    nodule_hu = [float(image[phantom.nodules == k].mean())
                 for k in np.unique(phantom.nodules) if k]
    lung_inside, nodules_inside, separation, lung_where, nodule_detail = _window_shows(
        window, phantom)
    unseen = [_window_shows(window, p) for p in unseen_slices()]
    unseen_ok = [a and b and c >= LUNG_WINDOW_SEPARATION for a, b, c, *_ in unseen]
    criteria = [
        Criterion(f"the lung parenchyma (median {lung_hu:.0f} HU) lies inside the window",
                  lung_inside, lung_where),
        Criterion(f"every nodule (mean {min(nodule_hu):.0f} to {max(nodule_hu):.0f} HU) lies "
                  f"inside the window", nodules_inside, nodule_detail),
        Criterion(f"the faintest nodule is at least {LUNG_WINDOW_SEPARATION} of "
                  f"{GREY_LEVELS} grey levels brighter than the lung", separation
                  >= LUNG_WINDOW_SEPARATION, f"{separation:.0f} grey levels apart"),
        Criterion(f"the same window does all this on {len(unseen)} chest slices you have not "
                  f"seen (a window is fixed for every scan)", all(unseen_ok),
                  f"{sum(unseen_ok)} of {len(unseen)}"),
    ]
    notes = []
    if lung_inside and nodules_inside and separation < LUNG_WINDOW_SEPARATION:
        notes.append("Both tissues are visible but look alike: a narrower window spreads "
                     "the grey levels over fewer HU, so differences stand out more.")
    elif all(c.passed for c in criteria[:3]) and not all(unseen_ok):
        notes.append("Your window only just fits this slice: other patients' nodules are a "
                     "little denser or fainter. Leave some margin on both sides.")
    return criteria, notes


register(Exercise(
    id="lung_window",
    title="Choose a window that shows the lung nodules",
    notebook="02_viewing_scans",
    prompt=("A display window maps the HU range `center - width/2` .. `center + width/2` to "
            "black .. white; everything outside is clipped. Choose a window for "
            "`ex.data.phantom` in which both the lung parenchyma and every nodule are inside "
            "the window (neither pure black nor pure white) and the nodules stand out "
            f"clearly from the lung (at least {LUNG_WINDOW_SEPARATION} of {GREY_LEVELS} grey "
            "levels apart). A window is chosen once for every scan of a kind, so it is also "
            "checked on chest slices you have not seen. Set `answer = mi.Window(center, width)` "
            "(or a `(center, width)` tuple)."),
    hint=("Look at the HU of the lung (mostly air) and of the nodules (soft-tissue-like) "
          "with `mi.view(...)`'s pixel probe or `image[mask].mean()`, then choose a window "
          "that spans both, and not much more."),
    expects="a window `mi.Window(center, width)` in HU",
    grade=_grade_lung_window,
    inputs={"phantom": _chest_slice},
))


# -- denoise_psnr --------------------------------------------------------------------------
def _denoise_method(answer: Any) -> tuple[Callable[[Any], Any], float | None]:
    """The student's denoiser: a Gaussian sigma (mm) or a method; and the sigma if one."""
    if isinstance(answer, (int, float, np.integer, np.floating)) and not isinstance(
            answer, bool):
        sigma = as_number(answer)
        if sigma < 0:
            raise AnswerError(f"the Gaussian sigma must be >= 0 mm, got {sigma:g}")
        return (lambda scan: gaussian(scan, sigma=sigma)), sigma
    if isinstance(answer, np.ndarray) and answer.ndim >= 2:
        raise AnswerError(
            f"expected a Gaussian sigma in mm (one number) or your method (a function "
            f"`f(scan)` returning the denoised image), got {describe(answer)}: a denoised "
            f"image. The exercise grades how you denoise, on low-dose scans you have not "
            f"seen, so give the sigma, or wrap your filter in a function")
    try:
        return as_method(answer, "the denoised image"), None
    except AnswerError:
        raise AnswerError(f"expected a Gaussian sigma in mm (one number) or your method (a "
                          f"function `f(scan)` returning the denoised image), got "
                          f"{describe(answer)}") from None


def _grade_denoise(answer: Any, scan: Any, reference: np.ndarray) -> Grade:
    method, sigma = _denoise_method(answer)
    noisy, clean = _low_dose_pair()
    cases = _cases((noisy, clean), unseen_low_dose())
    gains: list[float] = []
    flags: list[str] = []
    for where, (case, reference_image) in cases:
        image = as_image(call_method(method, case.scan, f"{where}"), case.scan.shape)
        reference_image = np.asarray(reference_image, dtype=np.float64)
        data_range = float(reference_image.max() - reference_image.min())
        base = psnr(reference_image, case.scan.array, data_range=data_range)
        gain = psnr(reference_image, image, data_range=data_range) - base
        gains.append(gain)
        if gain > IMPLAUSIBLE_PSNR_GAIN_DB and not flags:
            flags.append(f"On {where} your result beats the noisy scan by {gain:.0f} dB: no "
                         f"filter of the noisy scan comes near (total variation, the best here, "
                         f"gains about 7 dB). It was made from the clean reference, which a "
                         f"real low-dose scan never has.")
    seen, unseen = gains[0], gains[1:]
    criteria = [
        Criterion(f"on the scan you see: PSNR at least {PSNR_GAIN_DB:g} dB above the noisy "
                  f"scan's", seen >= PSNR_GAIN_DB, f"yours: {seen:+.1f} dB"),
        Criterion(f"on {len(unseen)} low-dose scans you have not seen: at least "
                  f"{PSNR_GAIN_DB:g} dB above each noisy scan", min(unseen) >= PSNR_GAIN_DB,
                  _summary(unseen, lambda g: f"{g:+.1f} dB")),
    ]
    notes = []
    if min(gains) < PSNR_GAIN_DB and not flags:
        if sigma is not None:
            more = psnr(clean, gaussian(noisy.scan, sigma=sigma + 0.1))
            less = psnr(clean, gaussian(noisy.scan, sigma=max(sigma - 0.1, 0.0)))
            notes.append("Smoothing more would raise the PSNR: noise is still dominating."
                         if more >= less else
                         "Smoothing less would raise the PSNR: edges are blurred away.")
        else:
            notes.append("Too little smoothing leaves noise, too much blurs edges; both "
                         "lower the PSNR.")
    return criteria, notes, flags


register(Exercise(
    id="denoise_psnr",
    title="Denoise a low-dose scan",
    notebook="03_denoising",
    prompt=("`ex.data.scan` is a noisy (low-dose) chest slice and `ex.data.reference` the "
            "same slice without noise: a pair to tune on. Choose a Gaussian filter "
            "(`mi.ops.gaussian(scan, sigma=...)`, sigma in mm) whose result beats the noisy "
            f"scan's PSNR against the reference by at least {PSNR_GAIN_DB:g} dB. Your choice is "
            "graded on this pair and on low-dose scans you have not seen (their references "
            "stay with the checker). Set `answer` to your sigma (a number), or to a function "
            "`f(scan)` that returns your denoised image (any filter)."),
    hint=("Try sigmas in steps of 0.1 mm and compute `mi.ops.psnr(reference, denoised)` for "
          "each: the PSNR rises while noise is removed and falls once edges blur. Keep the "
          "best."),
    expects="a Gaussian sigma in mm (one number) or your denoising function",
    grade=_grade_denoise,
    inputs={"scan": lambda: _low_dose_pair()[0].scan,
            "reference": lambda: _low_dose_pair()[1]},
    method=True,
))


# -- nodule_contrast -----------------------------------------------------------------------
#: Tissues whose mean grey levels a display must keep in this order (darkest first).
_TISSUE_ORDER = ("air", "lung", "soft tissue", "bone")


def _nodule_contrast(display: np.ndarray, phantom: Phantom) -> float:
    """Mean grey of the faintest nodule minus the median grey of the lung."""
    ids = [int(k) for k in np.unique(phantom.nodules) if k]
    if not ids:
        raise AnswerError("this phantom has no nodules to show")
    faintest = min(float(display[phantom.nodules == k].mean()) for k in ids)
    return faintest - float(np.median(display[phantom.mask("lung")]))


def _grade_contrast(answer: Any, scan: Any) -> Grade:
    method = as_method(answer, "a display image (values in [0, 1])")
    gains, orders, saturations = [], [], []
    greys_seen: list[float] = []
    for where, p in _cases(_chest_slice(), unseen_slices()):
        display = as_image(call_method(method, p.scan, where), p.scan.shape)
        low, high = float(display.min()), float(display.max())
        if low < -1e-6 or high > 1 + 1e-6:
            units = (": this looks like Hounsfield units, enhance the scan first"
                     if low < -100 else "")
            raise AnswerError(f"expected display values in [0, 1] (what the enhancement ops "
                              f"return), got values from {low:.3g} to {high:.3g} on {where}"
                              f"{units}")
        baseline = _nodule_contrast(gamma(p.scan, gamma=1.0), p)
        gains.append(_nodule_contrast(display, p) - baseline)
        greys = [float(display[p.mask(name)].mean()) for name in _TISSUE_ORDER]
        greys_seen = greys_seen or greys
        orders.append(all(a < b for a, b in zip(greys, greys[1:])))
        saturations.append(float(np.mean((display <= 0) | (display >= 1))))
    n = len(gains)
    criteria = [
        Criterion(f"on every slice ({n}: the one you see and {n - 1} unseen), the faintest "
                  f"nodule stands out from the lung by at least {CONTRAST_GAIN:.2f} more than "
                  f"in the plain min-max rescale", min(gains) >= CONTRAST_GAIN,
                  "yours: " + _summary(gains, lambda g: f"{g:+.2f}")),
        Criterion("keeps the tissues in order, darkest first: " + ", ".join(_TISSUE_ORDER),
                  all(orders), "mean grey on the slice you see " + ", ".join(
                      f"{g:.2f}" for g in greys_seen)),
        Criterion(f"at most {MAX_SATURATED:.0%} of the pixels are pure black or pure white",
                  max(saturations) <= MAX_SATURATED,
                  _summary(saturations, lambda f: f"{f:.0%}") + " saturated"),
    ]
    notes = []
    if max(saturations) > 0.5:
        notes.append("Most pixels are pure black or white: this is a mask, not a display. "
                     "Keep the grey levels in between.")
    elif not all(orders):
        notes.append("Your display makes a denser tissue look darker than a lighter one. "
                     "Local methods (CLAHE, especially with a high clip limit) can do that; "
                     "a global mapping that only rises cannot.")
    elif min(gains) < CONTRAST_GAIN and max(gains) < 0.02:
        notes.append("This is about as much contrast as the plain rescale: the few darkest "
                     "(air) and brightest (bone) pixels still take most of the grey range.")
    elif min(gains) < CONTRAST_GAIN:
        notes.append("Half-way there: choosing which values get the grey range is one step; "
                     "bending the range (gamma) so the lung stays dark is the other.")
    return criteria, notes


register(Exercise(
    id="nodule_contrast",
    title="Make the nodules stand out",
    notebook="04_enhancement",
    prompt=("`ex.data.scan` is a chest CT slice in HU with a few lung nodules. Rescaled "
            "from its minimum to its maximum (`mi.ops.gamma(scan, gamma=1.0)`), the nodules "
            "are only moderately brighter than the lung. Write a function `f(scan)` that "
            "enhances a slice with the ops of `mi.ops` (`window`, `contrast_stretch`, "
            "`equalize_hist`, `clahe`, `gamma`, alone or chained) so that the faintest nodule "
            f"stands out from the lung by at least {CONTRAST_GAIN:g} more (on the 0..1 grey "
            "scale) than in that plain rescale, while the tissues keep their order (air, "
            "lung, soft tissue, bone from dark to bright) and at most "
            f"{MAX_SATURATED:.0%} of the pixels are pure black or white. Your function is "
            "graded on this slice and on slices you have not seen. Set `answer` to your "
            "function (or a pipeline, or a panel)."),
    hint=("Measure the grey levels you get on a phantom whose nodules you know (the "
          "notebook's own): the faintest nodule's mean minus the lung's median. Grey levels "
          "spent on the rare extreme pixels are lost to the tissues in between; a percentile "
          "range or a window chooses which values get the range, and a gamma above 1 keeps "
          "the lung dark while the nodules stay bright."),
    expects="your enhancement function `f(scan)` (returning values in [0, 1])",
    grade=_grade_contrast,
    inputs={"scan": lambda: _chest_slice().scan},
    method=True,
))


# -- segment_dice --------------------------------------------------------------------------
def _exact_copy_flag(where: str) -> str:
    return (f"On {where} your result equals the hidden ground truth voxel for voxel, which no "
            f"method working from the noisy scan achieves: it was read from the answer key.")


def _false_objects(mask: np.ndarray, nodules: np.ndarray) -> int:
    """Connected objects of ``mask`` that are not mostly nodule."""
    objects, n = ndimage.label(mask)
    if n == 0:
        return 0
    on_nodule = ndimage.mean(nodules > 0, objects, index=np.arange(1, n + 1))
    return int(np.count_nonzero(np.asarray(on_nodule) < 0.5))


def _grade_segment(answer: Any, scan: Any) -> Grade:
    method = as_method(answer, "a boolean mask of the nodules")
    scores, found, false = [], [], []
    flags: list[str] = []
    notes: list[str] = []
    for where, p in _cases(_chest_slice(), unseen_slices()):
        truth = np.asarray(p.nodules) > 0
        mask = as_mask(call_method(method, p.scan, where), truth.shape)
        if np.array_equal(mask, truth) and not flags:
            flags.append(_exact_copy_flag(where))
        scores.append(dice(truth, mask))
        ids = [int(k) for k in np.unique(p.nodules) if k]
        found.append((sum(mask[p.nodules == k].mean() >= 0.5 for k in ids), len(ids)))
        false.append(_false_objects(mask, np.asarray(p.nodules)))
        covered, nodules = 100 * mask.mean(), 100 * truth.mean()
        if not notes and not mask.any():
            notes.append(f"Your mask is empty on {where}.")
        elif not notes and covered > 3 * nodules:
            notes.append(f"On {where} your mask covers {covered:.1f} % of the image, the "
                         f"nodules about {nodules:.1f} %: it also selects other tissue. Keep "
                         f"only what lies inside the lungs.")
    ok = [score >= DICE_TARGET and f == n and fp <= MAX_FALSE_OBJECTS
          for score, (f, n), fp in zip(scores, found, false)]

    def detail(i: int) -> str:
        return (f"Dice {scores[i]:.2f}, {found[i][0]} of {found[i][1]} nodules, {false[i]} "
                f"other object{'s' if false[i] != 1 else ''}")

    criteria = [
        Criterion(f"on the slice you see: Dice with the true nodules at least "
                  f"{DICE_TARGET:.2f}, every nodule found (half of its pixels or more), at most "
                  f"{MAX_FALSE_OBJECTS} object that is not a nodule", ok[0], detail(0)),
        Criterion(f"the same on {len(ok) - 1} slices you have not seen", all(ok[1:]),
                  "; ".join(detail(i) for i in range(1, len(ok)))),
    ]
    if not notes and max(false) > MAX_FALSE_OBJECTS:
        notes.append("Other objects count as nodules: vessels cut across look like small "
                     "dense dots, and every one would be a false finding. Remove objects "
                     "thinner than a nodule.")
    elif not notes and any(f < n for f, n in found):
        notes.append("A nodule is missed: is your lung region missing it? A nodule on a vessel "
                     "that reaches the lung's edge is no hole to fill; closing the lung "
                     "region first keeps it.")
    elif not notes and ok[0] and not all(ok[1:]):
        notes.append("Your method fits the slice you see but not others: avoid fixed "
                     "coordinates or a threshold tuned to one scan.")
    return criteria, notes, flags


register(Exercise(
    id="segment_dice",
    title="Segment the lung nodules",
    notebook="05_segmentation",
    prompt=("Write a function `f(scan)` that returns a boolean mask of the nodules in a chest "
            "CT slice (same shape as the image). It must reach a Dice coefficient of at least "
            f"{DICE_TARGET:.2f} against the true nodules, find every nodule and report at "
            f"most {MAX_FALSE_OBJECTS} object that is not a nodule, on the slice "
            "`ex.data.scan` and on slices you have not seen (the ground truth stays with the "
            "checker). Set `answer` to your function (or a pipeline, or a panel)."),
    hint=("Nodules are soft-tissue dense (near 0 HU) inside the air-filled lung. A threshold "
          "alone also selects the chest wall: restrict it to the lung region (the lungs, "
          "closed and with their holes filled), then remove what is thinner than a nodule, "
          "such as vessels cut across. Tune on the notebook's own phantom, whose truth you "
          "have."),
    expects="your segmentation function `f(scan)` (returning a boolean mask)",
    grade=_grade_segment,
    inputs={"scan": lambda: _chest_slice().scan},
    method=True,
))


# -- region_volume -------------------------------------------------------------------------
def _grade_volume(answer: Any, scan: Any) -> Grade:
    method = as_method(answer, "the largest nodule's volume in mm³ (one number)")
    errors, values = [], []
    flags: list[str] = []
    seen = _chest_volume()
    for where, p in _cases(seen, unseen_volumes()):
        value = call_method(method, p.scan, where)
        try:
            value = as_number(value, "one number: the volume in mm³")
        except AnswerError as error:
            raise AnswerError(f"your function returned something other than a volume on "
                              f"{where}: {error}") from None
        table = p.table
        target = float(table["volume_mm3"].max())
        if value == target and not flags:
            flags.append(_exact_copy_flag(where).replace("voxel for voxel", "to the last "
                                                          "digit"))
        values.append(value)
        errors.append(abs(value - target) / target)
    ok = [e <= VOLUME_TOLERANCE for e in errors]
    criteria = [
        Criterion(f"on the volume you see: within {VOLUME_TOLERANCE:.0%} of the largest "
                  f"nodule's true volume", ok[0],
                  "within" if ok[0] else f"off by more than {VOLUME_TOLERANCE:.0%}"),
        Criterion(f"the same on {len(ok) - 1} volumes you have not seen", all(ok[1:]),
                  f"{sum(ok[1:])} of {len(ok) - 1} within"),
    ]
    notes = _volume_notes(values[0], seen) if not ok[0] else []
    if ok[0] and not all(ok[1:]):
        notes.append("Right on the volume you see, wrong on others: avoid fixed coordinates "
                     "or a threshold tuned to one scan.")
    return criteria, notes, flags


def _volume_notes(value: float, phantom: Phantom) -> list[str]:
    """Recognised mistakes, judged on the volume the student sees."""
    table = phantom.table
    largest = table.iloc[int(np.argmax(table["volume_mm3"].to_numpy()))]
    target = float(largest["volume_mm3"])
    voxel = float(np.prod(phantom.scan.spacing))
    others = table["volume_mm3"].drop(largest.name)
    if _near(value, target / voxel, relative=0.05):
        return ["This looks like a voxel count: multiply by the volume of one voxel in mm³ "
                "(the product of the spacing)."]
    if any(_near(value, float(v), relative=VOLUME_TOLERANCE) for v in others):
        return ["This is close to the volume of another nodule: measure the largest one."]
    if _near(value, target / phantom.scan.spacing[0], relative=0.05):
        return ["This looks like an area summed over slices: include the slice thickness "
                "(the first spacing value)."]
    if _near(value, target / 1000, relative=0.15):
        return ["This looks like cm³ (mL); give mm³ (1 cm³ = 1000 mm³)."]
    if _near(value, float(table["volume_mm3"].sum()), relative=VOLUME_TOLERANCE):
        return ["This is about the volume of all nodules together: measure the largest one "
                "alone."]
    if value > 3 * target:
        return ["Your region is far larger than any nodule: it probably leaks into vessels "
                "or the chest wall (an opening cuts thin connections)."]
    if value > target:
        return ["Larger than the nodule: vessels touching it are counted with it (an opening "
                "cuts thin connections)."]
    if value < target:
        return ["Smaller than the nodule: an opening also erodes a nodule's rim. Grow what "
                "survives the opening back into the thresholded mask (a small dilation, "
                "combined with `&`)."]
    return []


register(Exercise(
    id="region_volume",
    title="Measure a nodule's volume in mm³",
    notebook="06_measuring_regions",
    prompt=("`ex.data.scan` is a 3-D chest CT volume with anisotropic voxels (`scan.spacing`, "
            "mm per axis) and a few nodules. Write a function `f(scan)` that segments the "
            "nodules, measures them and returns the volume of the largest one in mm³ (within "
            f"{VOLUME_TOLERANCE:.0%}). It is graded on this volume and on volumes you have not "
            "seen. Set `answer` to your function."),
    hint=("Threshold inside the lung field, cut thin connections with an opening, label the "
          "connected regions and use `mi.ops.region_table(scan, labels)`, whose volume column "
          "is in mm³; a voxel count needs multiplying by the voxel volume."),
    expects="your measuring function `f(scan)` (returning a volume in mm³)",
    grade=_grade_volume,
    inputs={"scan": lambda: _chest_volume().scan},
    method=True,
))


# -- classifier_accuracy -------------------------------------------------------------------
#: Patients in the unseen test set of the classifier exercises.
N_HIDDEN_PATIENTS = 6
#: A model whose cross-entropy on the exercise's test split is below this fraction of the
#: lower of its cross-entropies on the validation split and on unseen patients has seen the
#: test split in training. The early-stopped small CNN scores 1.3 (its test loss is above
#: both); trained on train and test together, 0.6.
LEAK_LOSS_RATIO = 0.8


@functools.cache
def _nodule_patches() -> Any:
    from medinteract.learn.datasets import phantom_patches

    return phantom_patches(16, seed=100)


@functools.cache
def _unseen_patients(secret: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Patches, labels and nodule masks of patients nobody has seen (all splits together)."""
    from medinteract.learn.datasets import phantom_patches

    seed = hidden.case_seeds("nodule patients", 1, secret_text=secret)[0]
    data = phantom_patches(N_HIDDEN_PATIENTS, seed=seed, fractions=(0.34, 0.33, 0.33))
    parts = [(data.split(name), data.masks(name)) for name in ("train", "val", "test")]
    x = np.concatenate([xy[0] for xy, _ in parts])
    y = np.concatenate([xy[1] for xy, _ in parts])
    masks = np.concatenate([m for _, m in parts])[..., 0] > 0
    for array in (x, y, masks):
        array.flags.writeable = False
    return x, y, masks


def unseen_patients() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(x, y, masks)`` of the unseen patients of the grading secret in force."""
    return _unseen_patients(hidden.secret())


def _model(answer: Any, what: str) -> Any:
    if hasattr(answer, "predict") and not isinstance(answer, np.ndarray):
        return answer
    extra = ""
    if isinstance(answer, (np.ndarray, list, tuple)):
        extra = (": predictions can only be scored on patches you have, and the grade comes "
                 "from patients you have not seen, so hand over the model itself")
    raise AnswerError(f"expected {what}, got {describe(answer)}{extra}")


def _probabilities(model: Any, x: np.ndarray, n_classes: int, where: str) -> np.ndarray:
    probabilities = np.asarray(model.predict(x, verbose=0), dtype=np.float64)
    if probabilities.shape != (len(x), n_classes):
        raise AnswerError(f"your model should give {n_classes} class probabilities per patch, "
                          f"but gave an array of shape {probabilities.shape} for {len(x)} "
                          f"patches of {where}")
    return probabilities


def _cross_entropy(probabilities: np.ndarray, y: np.ndarray) -> float:
    picked = probabilities[np.arange(len(y)), np.asarray(y, dtype=int)]
    return float(-np.mean(np.log(np.clip(picked, 1e-7, 1.0))))


def _grade_classifier(answer: Any, dataset: Any) -> Grade:
    model = _model(answer, "your trained Keras model")
    x, y, _ = unseen_patients()
    unseen = _probabilities(model, x, dataset.n_classes, "unseen patients")
    accuracy = float(np.mean(unseen.argmax(1) == y))
    x_test, y_test = dataset.split("test")
    test = _probabilities(model, x_test, dataset.n_classes, "the test split")
    test_accuracy = float(np.mean(test.argmax(1) == y_test))
    x_val, y_val = dataset.split("val")
    val = _probabilities(model, x_val, dataset.n_classes, "the validation split")
    criteria = [Criterion(f"accuracy at least {ACCURACY_TARGET:.2f} on {len(y)} patches of "
                          f"{N_HIDDEN_PATIENTS} patients nobody has seen", accuracy
                          >= ACCURACY_TARGET, f"accuracy = {accuracy:.2f} (on your test "
                          f"split: {test_accuracy:.2f})")]
    notes, flags = [], []
    ratio = _cross_entropy(test, y_test) / max(min(_cross_entropy(val, y_val),
                                                   _cross_entropy(unseen, y)), 1e-9)
    if ratio < LEAK_LOSS_RATIO:
        flags.append(f"Your model is far more certain on the test split than on validation "
                     f"patients or new ones (its loss there is {ratio:.0%} of theirs): it was "
                     f"trained or tuned on the test split, which then no longer measures "
                     f"anything. Train on `train`, choose on `val`, test once.")
    classes = np.unique(unseen.argmax(1))
    if len(classes) == 1:
        name = dataset.class_names[int(classes[0])]
        notes.append(f"Your model predicts {name!r} for every patch: it has not learned yet "
                     f"(train for more epochs, or check the learning rate).")
    return criteria, notes, flags


register(Exercise(
    id="classifier_accuracy",
    title="Train a nodule classifier",
    notebook="08_training_a_cnn",
    prompt=("`ex.data.dataset` holds 64x64 patches with and without nodules, split by patient "
            "into train, validation and test. Train a CNN on the training split (validate on "
            "`val`) and set `answer` to your trained model. It is graded on patients nobody "
            f"has seen: it must reach an accuracy of at least {ACCURACY_TARGET:.2f} there. A "
            "model trained or tuned on the test split is flagged."),
    hint=("`mi.learn.small_cnn(dataset.input_shape, dataset.n_classes)` is a good start; "
          "watch the validation accuracy while training and keep the best epoch "
          "(`keras.callbacks.EarlyStopping(..., restore_best_weights=True)`). Never train or "
          "tune on the test split."),
    expects="your trained Keras model",
    grade=_grade_classifier,
    inputs={"dataset": _nodule_patches},
    method=True,
))


# -- explain_nodule ------------------------------------------------------------------------
#: Fraction of the unseen nodule patches (those the model calls nodule) on which the
#: explanation's brightest pixel must lie on the nodule.
POINTING_TARGET = 0.7
#: Pixels by which a nodule's mask is widened for the pointing game (Grad-CAM of small_cnn is
#: computed on an 8x8 grid and upsampled, so its peak can sit a few pixels off).
POINTING_MARGIN_PX = 3
#: Largest mean correlation between the maps of the trained model and of the same
#: architecture with random weights: an explanation above it does not depend on what the
#: model learnt.
MODEL_DEPENDENCE_MAX_CORRELATION = 0.5


def _maps(explain: Callable[..., Any], model: Any, images: np.ndarray, where: str) -> np.ndarray:
    try:
        maps = explain(model, images)
    except AnswerError:
        raise
    except Exception as error:
        raise AnswerError(f"your function raised {type(error).__name__} on {where}: "
                          f"{error}") from None
    shape = images.shape[:3]
    return as_image(maps, shape)


def _random_copy(model: Any) -> Any:
    import keras

    copy = keras.models.clone_model(model)  # same architecture, fresh random weights
    copy.build(model.input_shape) if not copy.built else None
    return copy


def _mean_correlation(a: np.ndarray, b: np.ndarray) -> float:
    values = []
    for x, y in zip(a.reshape(len(a), -1), b.reshape(len(b), -1)):
        if x.std() == 0 or y.std() == 0:
            values.append(0.0)
        else:
            values.append(float(np.corrcoef(x, y)[0, 1]))
    return float(np.mean(values))


def _grade_explain(answer: Any, dataset: Any, model: Any = None) -> Grade:
    if model is None:
        raise AnswerError("give the model your function explains: "
                          "`teach.check(\"explain_nodule\", answer, model=model)`")
    model = _model(model, "your trained Keras model as `model=`")
    if not callable(answer) or isinstance(answer, np.ndarray):
        raise AnswerError(f"expected your function `explain(model, images)` returning one "
                          f"saliency map per image, got {describe(answer)}: the checker runs it "
                          f"on nodules you have not seen, so hand over the function")
    x, y, masks = unseen_patients()
    positive = np.flatnonzero(y == 1)
    probabilities = _probabilities(model, x[positive], dataset.n_classes, "unseen patients")
    called = positive[probabilities.argmax(1) == 1]
    chosen = called if len(called) >= 10 else positive
    images, truth = x[chosen], masks[chosen]
    maps = _maps(answer, model, images, "unseen nodules")
    near = ndimage.binary_dilation(truth, structure=np.ones((1, 3, 3), bool),
                                   iterations=POINTING_MARGIN_PX)
    peaks = maps.reshape(len(maps), -1).argmax(1)
    hits = near.reshape(len(near), -1)[np.arange(len(peaks)), peaks]
    rate = float(hits.mean())
    random_maps = _maps(answer, _random_copy(model), images, "a model with random weights")
    correlation = _mean_correlation(maps, random_maps)
    criteria = [
        Criterion(f"the brightest pixel lies on the nodule in at least {POINTING_TARGET:.0%} "
                  f"of {len(chosen)} unseen nodule patches your model calls nodule",
                  rate >= POINTING_TARGET, f"{rate:.0%}"),
        Criterion("depends on the model: the same images explained for the same network with "
                  "random weights give different maps (a sanity check of saliency methods)",
                  correlation <= MODEL_DEPENDENCE_MAX_CORRELATION,
                  f"mean correlation {correlation:.2f}, at most "
                  f"{MODEL_DEPENDENCE_MAX_CORRELATION:g} allowed"),
    ]
    notes, flags = [], []
    if correlation > MODEL_DEPENDENCE_MAX_CORRELATION:
        notes.append("Your maps look the same whatever the model learnt: they describe the "
                     "image (bright spots), not the model's reasons.")
    binary = np.isin(maps, (0.0, 1.0)).all()
    if binary and np.array_equal(maps > 0, truth):
        flags.append(_exact_copy_flag("the unseen nodules").replace("noisy scan", "images"))
    return criteria, notes, flags


register(Exercise(
    id="explain_nodule",
    title="Explain what the classifier looks at",
    notebook="09_explaining_predictions",
    prompt=("Write a function `explain(model, images)` that returns one saliency map per image "
            "(shape `(n, 64, 64)`, larger = more important for the class *nodule*). It is run "
            "with your model on nodule patches of patients you have not seen: on at least "
            f"{POINTING_TARGET:.0%} of the patches your model calls nodule, the brightest pixel "
            "of the map must lie on the nodule. It must also pass a sanity check: for the same "
            "network with random weights, the maps must change. Set `answer` to your function "
            "and check with `teach.check(\"explain_nodule\", answer, model=model)`."),
    hint=("`mi.learn.grad_cam(model, images, class_index=1)` and "
          "`mi.learn.occlusion_sensitivity(...)` explain a model; measure them against the "
          "nodule masks of `dataset.masks_test` before handing one over. Grad-CAM on the last "
          "stage is coarse (8 x 8 for 64 x 64 patches); an earlier stage "
          "(`layer_name=...`) gives finer maps."),
    expects="your function `explain(model, images)`",
    grade=_grade_explain,
    inputs={"dataset": _nodule_patches},
    supplied=("model",),
    method=True,
))
