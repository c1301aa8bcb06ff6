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
medmnist
    :func:`fetch_medmnist` (download once, checksummed, and load by name),
    :func:`write_medmnist_fixture` (an offline stand-in in MedMNIST's layout),
    :func:`medmnist_fixtures` (every name served from stand-ins for a ``with`` block).
models
    :func:`small_cnn`, :func:`small_unet`, :func:`denoising_autoencoder`,
    :func:`precise_batch_norm` and the :class:`PreciseBatchNorm` callback.
dashboard
    :class:`TrainingDashboard`, a Keras callback with live curves, progress and a Stop button.
evaluate
    :func:`classification_report`, :func:`threshold_for`, :func:`roc_curve`, :func:`auc`,
    :func:`confusion_matrix` (scikit-learn's), :func:`calibration_table`,
    :func:`expected_calibration_error`, :func:`plot_reliability`, :func:`bootstrap_interval`,
    :func:`predictive_values`, :func:`misclassified`, :func:`misclassified_gallery`,
    :func:`segmentation_scores`, :func:`compare_denoisers`, :func:`plot_confusion_matrix`,
    :func:`plot_roc`.
explain
    :func:`grad_cam`, :func:`occlusion_sensitivity`, :func:`overlay_saliency`.
"""

import logging as _logging
import os as _os

import lazy_loader as _lazy

# TensorFlow logs informational lines from C++ when it starts ("This TensorFlow binary is
# optimized...", "oneDNN custom operations are on..."); a notebook shows them as a red stderr
# box although nothing is wrong. Level 1 drops only these INFO lines: TensorFlow's warnings and
# errors still show. It must be set before TensorFlow is imported, i.e. before Keras is, which
# is why it is set here, and only when the user has not chosen a level.
_os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "1")


class _RetracingNotice(_logging.Filter):
    """Drops TensorFlow's "N out of the last M calls to <function> triggered tf.function
    retracing" notice. Keras gives every model its own compiled predict function, and
    TensorFlow counts the traces of all of them together, so a notebook that trains and
    compares a few models gets this performance hint although nothing is retraced in a loop.
    Every other TensorFlow message passes."""

    def filter(self, record: _logging.LogRecord) -> bool:
        return "triggered tf.function retracing" not in record.getMessage()


_TENSORFLOW_LOGGER = _logging.getLogger("tensorflow")
if not any(isinstance(f, _RetracingNotice) for f in _TENSORFLOW_LOGGER.filters):
    _TENSORFLOW_LOGGER.addFilter(_RetracingNotice())

__getattr__, __dir__, __all__ = _lazy.attach_stub(__name__, __file__)
