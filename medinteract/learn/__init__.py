"""Deep learning in the notebook: datasets, small Keras models, a training dashboard,
evaluation and explanation.

The Keras backend is whatever ``KERAS_BACKEND`` says when Keras is first imported
(``tensorflow`` by default; ``jax`` is supported too). Names are imported lazily, so
``import medinteract.learn`` is cheap and only the functions that need Keras import it.

Modules
-------
datasets
    :func:`phantom_patches`, :func:`denoising_pairs`, :func:`load_medmnist`, :class:`Dataset`,
    :func:`hu_to_unit`, :func:`split_by_patient`, :func:`augmentation`.
models
    :func:`small_cnn`, :func:`small_unet`, :func:`denoising_autoencoder`.
dashboard
    :class:`TrainingDashboard`, a Keras callback with live curves, progress and a Stop button.
evaluate
    :func:`classification_report`, :func:`threshold_for`, :func:`roc_curve`, :func:`auc`,
    :func:`confusion_matrix`, :func:`misclassified`, :func:`misclassified_gallery`,
    :func:`segmentation_scores`, :func:`compare_denoisers`, :func:`plot_confusion_matrix`,
    :func:`plot_roc`.
explain
    :func:`grad_cam`, :func:`occlusion_sensitivity`, :func:`overlay_saliency`.
"""

from __future__ import annotations

import importlib
from typing import Any

_LAZY = {
    # datasets
    "Dataset": "datasets",
    "LUNG_WINDOW": "datasets",
    "hu_to_unit": "datasets",
    "unit_to_hu": "datasets",
    "split_by_patient": "datasets",
    "phantom_patches": "datasets",
    "denoising_pairs": "datasets",
    "load_medmnist": "datasets",
    "augmentation": "datasets",
    # models
    "small_cnn": "models",
    "small_unet": "models",
    "denoising_autoencoder": "models",
    "dice_coefficient": "models",
    # dashboard
    "TrainingDashboard": "dashboard",
    # evaluate
    "confusion_matrix": "evaluate",
    "roc_curve": "evaluate",
    "classification_report": "evaluate",
    "OperatingPoint": "evaluate",
    "misclassified": "evaluate",
    "threshold_for": "evaluate",
    "auc": "evaluate",
    "misclassified_gallery": "evaluate",
    "segmentation_scores": "evaluate",
    "compare_denoisers": "evaluate",
    "CLASSICAL_DENOISERS": "evaluate",
    "plot_confusion_matrix": "evaluate",
    "plot_roc": "evaluate",
    # explain
    "grad_cam": "explain",
    "occlusion_sensitivity": "explain",
    "overlay_saliency": "explain",
}

__all__ = sorted(_LAZY)


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        value = getattr(importlib.import_module(f"medinteract.learn.{_LAZY[name]}"), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'medinteract.learn' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
