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

import lazy_loader as _lazy

__getattr__, __dir__, __all__ = _lazy.attach_stub(__name__, __file__)
