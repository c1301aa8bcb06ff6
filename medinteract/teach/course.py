"""The built-in exercises of the tutorial series, registered on import.

Every target is computed from seeded data (the phantom's ground truth, a clean reference
image, a held-out test split), so a checker never stores the answer. Notes in a failing
:class:`~medinteract.teach.Feedback` recognise common mistakes (a voxel count instead of a
volume, a descending sort, a mask that covers the chest wall) without giving the answer away.
"""

from __future__ import annotations

import functools
from typing import Any

import numpy as np

from medinteract.data import TISSUE_HU, Phantom, phantom
from medinteract.ops.denoise import gaussian
from medinteract.ops.enhance import gamma
from medinteract.ops.metrics import dice, psnr
from medinteract.scan import Scan, Window
from medinteract.teach.answers import (AnswerError, as_image, as_mask, as_number, as_numbers,
                                       as_window, describe)
from medinteract.teach.exercises import Exercise, Grade, register
from medinteract.teach.feedback import Criterion

__all__: list[str] = []

#: Grey levels a display has between black and white (8-bit).
GREY_LEVELS = 255
#: Grey levels that must separate the lung parenchyma from the faintest nodule.
LUNG_WINDOW_SEPARATION = 100
#: Dice a nodule segmentation must reach.
DICE_TARGET = 0.8
#: dB by which the denoised image must beat the noisy one.
PSNR_GAIN_DB = 1.5
#: Relative tolerance of the nodule volume.
VOLUME_TOLERANCE = 0.10
#: Display contrast (grey in [0, 1]) by which nodule_contrast must beat the plain rescale.
CONTRAST_GAIN = 0.15
#: Largest fraction of pixels a display may saturate (pure black or pure white).
MAX_SATURATED = 0.10
#: Tolerance of the mean lung density, HU.
MEAN_HU_TOLERANCE = 2.0
#: Test accuracy the classifier must reach (notebook 08's 12-epoch model with exact BatchNorm
#: statistics reaches 0.92).
ACCURACY_TARGET = 0.90


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


def _grade_lung_window(answer: Any, phantom: Phantom) -> Grade:
    window = as_window(answer)
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
    criteria = [
        Criterion(f"the lung parenchyma (median {lung_hu:.0f} HU) lies inside the window",
                  lung_inside, lung_where),
        Criterion(f"every nodule (mean {min(nodule_hu):.0f} to {max(nodule_hu):.0f} HU) lies "
                  f"inside the window", nodules_inside, nodule_detail),
        Criterion(f"the faintest nodule is at least {LUNG_WINDOW_SEPARATION} of "
                  f"{GREY_LEVELS} grey levels brighter than the lung", separation
                  >= LUNG_WINDOW_SEPARATION, f"{separation:.0f} grey levels apart"),
    ]
    notes = []
    if lung_inside and nodules_inside and separation < LUNG_WINDOW_SEPARATION:
        notes.append("Both tissues are visible but look alike: a narrower window spreads "
                     "the grey levels over fewer HU, so differences stand out more.")
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
            "levels apart). Set `answer = mi.Window(center, width)` (or a `(center, width)` "
            "tuple)."),
    hint=("Look at the HU of the lung (mostly air) and of the nodules (soft-tissue-like) "
          "with `mi.view(...)`'s pixel probe or `image[mask].mean()`, then choose a window "
          "that spans both, and not much more."),
    expects="a window `mi.Window(center, width)` in HU",
    grade=_grade_lung_window,
    inputs={"phantom": _chest_slice},
))


# -- denoise_psnr --------------------------------------------------------------------------
def _grade_denoise(answer: Any, scan: Any, reference: np.ndarray) -> Grade:
    noisy = np.asarray(getattr(scan, "array", scan), dtype=np.float64)
    reference = np.asarray(reference, dtype=np.float64)
    sigma = None
    if (isinstance(answer, np.ndarray) and answer.size > 1
            or isinstance(answer, (list, tuple, Scan))):
        image = as_image(answer, noisy.shape)
    else:
        try:
            sigma = as_number(answer)
        except AnswerError:
            raise AnswerError(f"expected a Gaussian sigma in mm (one number) or your denoised "
                              f"image of shape {noisy.shape}, got {describe(answer)}") from None
        if sigma < 0:
            raise AnswerError(f"the Gaussian sigma must be >= 0 mm, got {sigma:g}")
        image = gaussian(scan, sigma=sigma)
    data_range = float(reference.max() - reference.min())
    base = psnr(reference, noisy, data_range=data_range)
    target = base + PSNR_GAIN_DB
    value = psnr(reference, image, data_range=data_range)
    own_work = not np.array_equal(np.asarray(image, np.float64), reference)
    criteria = [
        Criterion("is computed from the noisy scan (not the clean reference)", own_work),
        Criterion(f"PSNR against the clean phantom at least {target:.1f} dB (the noisy scan "
                  f"has {base:.1f} dB)", own_work and value >= target,
                  f"yours: {value:.1f} dB"),
    ]
    notes = []
    if own_work and value < target:
        if sigma is not None:
            more = psnr(reference, gaussian(scan, sigma=sigma + 0.2), data_range=data_range)
            less = psnr(reference, gaussian(scan, sigma=max(sigma - 0.2, 0.0)),
                        data_range=data_range)
            notes.append("Smoothing more would raise the PSNR: noise is still dominating."
                         if more >= less else
                         "Smoothing less would raise the PSNR: edges are blurred away.")
        else:
            notes.append("Too little smoothing leaves noise, too much blurs edges; both "
                         "lower the PSNR.")
    return criteria, notes


register(Exercise(
    id="denoise_psnr",
    title="Denoise a low-dose scan",
    notebook="03_denoising",
    prompt=("`ex.data.scan` is a noisy (low-dose) chest slice and `ex.data.reference` the "
            "same slice without noise. Smooth the noisy scan with a Gaussian filter "
            "(`mi.ops.gaussian(scan, sigma=...)`, sigma in mm) so that its PSNR against the "
            f"reference beats the noisy scan's own PSNR by at least {PSNR_GAIN_DB:g} dB. Set "
            "`answer` to your sigma (a number), or to your denoised image (any filter)."),
    hint=("Try a few sigmas and compute `mi.ops.psnr(reference, denoised)` for each: the "
          "PSNR rises while noise is removed and falls once edges blur."),
    expects="a Gaussian sigma in mm (one number) or your denoised image",
    grade=_grade_denoise,
    inputs={"scan": lambda: _low_dose_pair()[0].scan,
            "reference": lambda: _low_dose_pair()[1]},
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


def _grade_contrast(answer: Any, phantom: Phantom) -> Grade:
    shape = phantom.scan.array.shape
    display = as_image(answer, shape).astype(np.float64)
    low, high = float(display.min()), float(display.max())
    if low < -1e-6 or high > 1 + 1e-6:
        units = (": this looks like Hounsfield units, enhance the scan first" if low < -100
                 else "")
        raise AnswerError(f"expected display values in [0, 1] (what the enhancement ops "
                          f"return), got values from {low:.3g} to {high:.3g}{units}")
    baseline = _nodule_contrast(gamma(phantom.scan, gamma=1.0), phantom)
    target = baseline + CONTRAST_GAIN
    contrast = _nodule_contrast(display, phantom)
    greys = [float(display[phantom.mask(name)].mean()) for name in _TISSUE_ORDER]
    in_order = all(a < b for a, b in zip(greys, greys[1:]))
    saturated = float(np.mean((display <= 0) | (display >= 1)))
    criteria = [
        Criterion(f"the faintest nodule is at least {target:.2f} brighter than the lung (the "
                  f"plain min-max rescale gives {baseline:.2f})", contrast >= target,
                  f"yours: {contrast:.2f}"),
        Criterion("keeps the tissues in order, darkest first: " + ", ".join(_TISSUE_ORDER),
                  in_order, "mean grey " + ", ".join(f"{g:.2f}" for g in greys)),
        Criterion(f"at most {MAX_SATURATED:.0%} of the pixels are pure black or pure white",
                  saturated <= MAX_SATURATED, f"{saturated:.0%} saturated"),
    ]
    notes = []
    if saturated > 0.5:
        notes.append("Most pixels are pure black or white: this is a mask, not a display. "
                     "Keep the grey levels in between.")
    elif not in_order:
        notes.append("Your display makes a denser tissue look darker than a lighter one. "
                     "Local methods (CLAHE, especially with a high clip limit) can do that; "
                     "a global mapping that only rises cannot.")
    elif contrast < target and abs(contrast - baseline) < 0.02:
        notes.append("This is about as much contrast as the plain rescale: the few darkest "
                     "(air) and brightest (bone) pixels still take most of the grey range.")
    return criteria, notes


register(Exercise(
    id="nodule_contrast",
    title="Make the nodules stand out",
    notebook="04_enhancement",
    prompt=("`ex.data.phantom` is a chest CT slice in HU with a few lung nodules. Rescaled "
            "from its minimum to its maximum (`mi.ops.gamma(scan, gamma=1.0)`), the nodules "
            "are only moderately brighter than the lung. Enhance the slice with the ops of "
            "`mi.ops` (`window`, `contrast_stretch`, `equalize_hist`, `clahe`, `gamma`, alone "
            "or chained) so that the faintest nodule stands out from the lung by at least "
            f"{CONTRAST_GAIN:g} more (on the 0..1 grey scale) than in that plain rescale, "
            "while the tissues keep their order (air, lung, soft tissue, "
            f"bone from dark to bright) and at most {MAX_SATURATED:.0%} of the pixels are "
            "pure black or white. Set `answer` to your display image (values in [0, 1])."),
    hint=("Measure the grey levels you get: the faintest nodule's mean minus the lung's "
          "median, with `display[phantom.nodules == k].mean()` and "
          "`np.median(display[phantom.mask(\"lung\")])`. Grey levels spent on the rare "
          "extreme pixels are lost to the tissues in between; a percentile or a window "
          "chooses which values get the range, and gamma bends it."),
    expects="a display image (values in [0, 1]) of the slice's shape",
    grade=_grade_contrast,
    inputs={"phantom": _chest_slice},
))


# -- segment_dice --------------------------------------------------------------------------
def _grade_segment(answer: Any, phantom: Phantom) -> Grade:
    truth = np.asarray(phantom.nodules) > 0
    mask = as_mask(answer, truth.shape)
    score = dice(truth, mask)
    ids = [int(k) for k in np.unique(phantom.nodules) if k]
    found = sum(mask[phantom.nodules == k].mean() >= 0.5 for k in ids)
    criteria = [
        Criterion(f"Dice with the true nodules at least {DICE_TARGET:.2f}",
                  score >= DICE_TARGET, f"Dice = {score:.2f}"),
        Criterion("finds every nodule (at least half of each one's pixels)",
                  found == len(ids), f"{found} of {len(ids)} nodules found"),
    ]
    notes = []
    covered, nodules = 100 * mask.mean(), 100 * truth.mean()
    if not mask.any():
        notes.append("Your mask is empty.")
    elif covered > 3 * nodules:
        notes.append(f"Your mask covers {covered:.1f} % of the image, the nodules about "
                     f"{nodules:.1f} %: it also selects other tissue. Keep only what lies "
                     f"inside the lungs, and remove objects too small to be a nodule.")
    return criteria, notes


register(Exercise(
    id="segment_dice",
    title="Segment the lung nodules",
    notebook="05_segmentation",
    prompt=("Make a boolean mask of the nodules in the chest slice `ex.data.phantom.scan` "
            f"that reaches a Dice coefficient of at least {DICE_TARGET:.2f} against the "
            "phantom's ground truth and finds every nodule. Set `answer` to your mask (same "
            "shape as the image)."),
    hint=("Nodules are soft-tissue dense (near 0 HU) inside the air-filled lung. A threshold "
          "alone also selects the chest wall: restrict it to the lung region (e.g. fill or "
          "close the lung mask), then remove small objects such as vessel cross-sections."),
    expects="a boolean mask of the nodules, same shape as the image",
    grade=_grade_segment,
    inputs={"phantom": _chest_slice},
))


# -- region_volume -------------------------------------------------------------------------
def _grade_volume(answer: Any, phantom: Phantom) -> Grade:
    value = as_number(answer, "one number: the volume in mm³")
    table = phantom.table
    if "volume_mm3" not in table or table.empty:
        raise AnswerError("this exercise needs a 3-D phantom with nodules")
    largest = table.loc[table["volume_mm3"].idxmax()]
    target = float(largest["volume_mm3"])
    ok = _near(value, target, relative=VOLUME_TOLERANCE)
    error = abs(value - target) / target
    criteria = [Criterion(f"within {VOLUME_TOLERANCE:.0%} of the largest nodule's true "
                          f"volume", ok, f"within {error:.1%}" if ok else
                          f"off by more than {VOLUME_TOLERANCE:.0%}")]
    notes = []
    voxel = float(np.prod(phantom.scan.spacing))
    if not ok:
        others = table["volume_mm3"].drop(largest.name)
        if _near(value, target / voxel, relative=0.05):
            notes.append("This looks like a voxel count: multiply by the volume of one "
                         "voxel in mm³ (the product of the spacing).")
        elif any(_near(value, float(v), relative=VOLUME_TOLERANCE) for v in others):
            notes.append("This is close to the volume of another nodule: measure the "
                         "largest one.")
        elif _near(value, target / phantom.scan.spacing[0], relative=0.05):
            notes.append("This looks like an area summed over slices: include the slice "
                         "thickness (the first spacing value).")
        elif _near(value, target / 1000, relative=0.15):
            notes.append("This looks like cm³ (mL); give mm³ (1 cm³ = 1000 mm³).")
        elif _near(value, float(table["volume_mm3"].sum()), relative=VOLUME_TOLERANCE):
            notes.append("This is about the volume of all nodules together: measure the "
                         "largest one alone.")
        elif value > 3 * target:
            notes.append("Your region is far larger than any nodule: it probably leaks into "
                         "vessels or the chest wall (try an opening to cut thin "
                         "connections).")
    return criteria, notes


register(Exercise(
    id="region_volume",
    title="Measure a nodule's volume in mm³",
    notebook="06_measuring_regions",
    prompt=("`ex.data.phantom` is a 3-D chest CT phantom with anisotropic voxels "
            "(`phantom.scan.spacing`, mm per axis). Segment its nodules, measure them, and set "
            "`answer` to the volume of the largest nodule in mm³ (within "
            f"{VOLUME_TOLERANCE:.0%}). Do not read it from `phantom.table`: measure it."),
    hint=("Threshold, cut thin connections with an opening, label the connected regions and "
          "use `mi.ops.region_table(scan, labels)`, whose volume column is in mm³; a voxel "
          "count needs multiplying by the voxel volume."),
    expects="one number (a volume in mm³)",
    grade=_grade_volume,
    inputs={"phantom": _chest_volume},
))


# -- classifier_accuracy -------------------------------------------------------------------
def _predicted_classes(answer: Any, x_test: np.ndarray, n_classes: int) -> np.ndarray:
    n = len(x_test)
    expected = (f"a trained Keras model, or predictions for the {n} test patches "
                f"(shape ({n},) of classes or ({n}, {n_classes}) of probabilities)")
    if hasattr(answer, "predict") and not isinstance(answer, np.ndarray):
        answer = answer.predict(x_test, verbose=0)
    answer = np.asarray(answer) if isinstance(answer, (list, tuple)) else answer
    if not isinstance(answer, np.ndarray) or answer.dtype == object:
        raise AnswerError(f"expected {expected}, got {describe(answer)}")
    if answer.shape == (n, n_classes):
        return answer.argmax(axis=1)
    if answer.shape == (n,) and (np.issubdtype(answer.dtype, np.integer)
                                 or answer.dtype == bool):
        return answer.astype(int)
    if answer.shape == (n,) and np.issubdtype(answer.dtype, np.floating) and n_classes == 2:
        return (answer >= 0.5).astype(int)
    raise AnswerError(f"expected {expected}, got {describe(answer)}")


def _grade_classifier(answer: Any, dataset: Any) -> Grade:
    x_test, y_test = dataset.split("test")
    predicted = _predicted_classes(answer, x_test, dataset.n_classes)
    if predicted.shape != np.shape(y_test):
        raise AnswerError(f"expected predictions for {len(y_test)} test patches, got "
                          f"{predicted.shape[0]}")
    accuracy = float(np.mean(predicted == np.asarray(y_test)))
    criteria = [Criterion(f"test accuracy at least {ACCURACY_TARGET:.2f} on {len(y_test)} "
                          f"patches from patients never seen in training",
                          accuracy >= ACCURACY_TARGET, f"accuracy = {accuracy:.2f}")]
    notes = []
    classes = np.unique(predicted)
    if len(classes) == 1:
        name = dataset.class_names[int(classes[0])]
        notes.append(f"Your model predicts {name!r} for every patch: it has not learned yet "
                     f"(train for more epochs, or check the learning rate).")
    return criteria, notes


@functools.cache
def _nodule_patches() -> Any:
    from medinteract.learn.datasets import phantom_patches

    return phantom_patches(16, seed=100)


register(Exercise(
    id="classifier_accuracy",
    title="Train a nodule classifier",
    notebook="08_training_a_cnn",
    prompt=("`ex.data.dataset` holds 64x64 patches with and without nodules, split by patient "
            "into train, validation and test. Train a CNN on the training split (validate on "
            "`val`) that reaches a test accuracy of at least "
            f"{ACCURACY_TARGET:.2f}. Set `answer` to your trained model (or to its "
            "predictions for `dataset.x_test`)."),
    hint=("`mi.learn.small_cnn(dataset.input_shape, dataset.n_classes)` is a good start; "
          "watch the validation accuracy while training and stop when it no longer "
          "improves. Never train or tune on the test split."),
    expects="a trained Keras model (or its predictions for the test patches)",
    grade=_grade_classifier,
    inputs={"dataset": _nodule_patches},
))
