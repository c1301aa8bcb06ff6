"""Notebook 08's recipe, trained for its default 12 epochs, reaches a stated test accuracy.

Patients in the test split are never seen in training (split by phantom seed); the test split
is used once. The model is trained as notebook 08 trains it, then its BatchNormalization
running averages are replaced by exact statistics (:func:`precise_batch_norm`), as the
notebook does. On the reference 2-core machine (TensorFlow) this reaches a test accuracy of
0.92 (AUC 0.98, ECE 0.05), and 0.93 with JAX; the assertions leave a margin for numerical
differences between CPUs and library versions. Nothing here is timed.

The second test is the measurement behind the fix: with the running averages BatchNorm
collected while training, the same weights are worse calibrated (and, on the validation
split, less accurate at the 0.5 threshold) than with exact statistics.
"""

from __future__ import annotations

import keras
import numpy as np
import pytest
from keras import layers

from medinteract.learn import evaluate
from medinteract.learn.datasets import phantom_patches
from medinteract.learn.models import precise_batch_norm, small_cnn

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def trained():
    data = phantom_patches(16, seed=100)
    keras.utils.set_random_seed(0)
    model = small_cnn(data.input_shape, data.n_classes)
    history = model.fit(data.x_train, data.y_train, validation_data=(data.x_val, data.y_val),
                        epochs=12, batch_size=32, verbose=0)
    running = {name: model.predict(getattr(data, f"x_{name}"), verbose=0)
               for name in ("val", "test")}
    averages = [keras.ops.convert_to_numpy(v).copy() for v in model.non_trainable_weights]
    precise_batch_norm(model, data.x_train)
    return data, model, history, running, averages


def test_the_notebook_recipe_reaches_the_stated_test_accuracy(trained):
    data, model, history, _, _ = trained
    probabilities = model.predict(data.x_test, verbose=0)
    report = evaluate.classification_report(data.y_test, probabilities)
    assert report.accuracy >= 0.90, report
    assert report.auc >= 0.95, report
    assert evaluate.expected_calibration_error(data.y_test, probabilities) < 0.1
    assert min(history.history["loss"]) < history.history["loss"][0]


def test_exact_batch_norm_statistics_beat_the_running_averages(trained):
    data, model, _, running, averages = trained
    # the running averages differ from the exact statistics of the same weights
    exact = [keras.ops.convert_to_numpy(v) for v in model.non_trainable_weights]
    deviation = [np.abs(a - e).max() / (np.abs(e).max() + 1e-9) for a, e in zip(averages, exact)]
    assert max(deviation) > 0.01
    # ... and cost calibration; the ranking (AUC) stays about the same
    val_exact = model.predict(data.x_val, verbose=0)
    ece_running = evaluate.expected_calibration_error(data.y_val, running["val"])
    ece_exact = evaluate.expected_calibration_error(data.y_val, val_exact)
    assert ece_exact < ece_running
    auc_running = evaluate.classification_report(data.y_val, running["val"]).auc
    auc_exact = evaluate.classification_report(data.y_val, val_exact).auc
    assert abs(auc_exact - auc_running) < 0.03
    assert any(isinstance(layer, layers.BatchNormalization) for layer in model.layers)


def test_an_untrained_model_is_at_chance_level(trained):
    data, _, _, _, _ = trained
    keras.utils.set_random_seed(1)
    fresh = small_cnn(data.input_shape, data.n_classes)
    accuracy = np.mean(fresh.predict(data.x_test, verbose=0).argmax(1) == data.y_test)
    assert 0.3 <= accuracy <= 0.7
