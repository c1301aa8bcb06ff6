"""Checked exercises on trained models: the classifier (08) and its explanation (09).

Two real small CNNs are trained once for the module, briefly: one on the training split, one
on the training and test splits together (the cheat). The honest model is graded on unseen
patients and not flagged; the one that saw the test split is flagged. Explanations must find
the nodule (pointing game on unseen patients) and depend on the model: saliency computed from
the image alone, or a fixed centre prior, fails the randomised-weights sanity check.
"""

from __future__ import annotations

import os

import numpy as np
import pytest

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
keras = pytest.importorskip("keras")

import medinteract as mi  # noqa: E402
from medinteract import teach  # noqa: E402
from medinteract.teach import course  # noqa: E402

pytestmark = pytest.mark.slow
EPOCHS = 10


def _train(x, y, dataset):
    keras.utils.set_random_seed(0)
    model = mi.learn.small_cnn(dataset.input_shape, dataset.n_classes)
    model.fit(x, y, validation_data=(dataset.x_val, dataset.y_val), epochs=EPOCHS,
              batch_size=32, verbose=0)
    return model


@pytest.fixture(scope="module")
def dataset():
    return teach.exercise("classifier_accuracy").data.dataset


@pytest.fixture(scope="module")
def honest(dataset):
    return _train(dataset.x_train, dataset.y_train, dataset)


@pytest.fixture(scope="module")
def saw_the_test_split(dataset):
    return _train(np.concatenate([dataset.x_train, dataset.x_test]),
                  np.concatenate([dataset.y_train, dataset.y_test]), dataset)


@pytest.fixture(autouse=True)
def _fresh_check_count():
    teach.reset_checks()


def test_a_model_trained_on_the_test_split_is_flagged(honest, saw_the_test_split):
    fair = teach.check("classifier_accuracy", honest)
    assert not fair.flags, fair
    assert "patients nobody has seen" in fair.criteria[0].description
    leaked = teach.check("classifier_accuracy", saw_the_test_split)
    assert leaked.flags and "trained or tuned on the test split" in leaked.flags[0]
    assert not leaked.passed


def test_the_test_labels_are_not_a_model(dataset):
    feedback = teach.check("classifier_accuracy", dataset.y_test)
    assert not feedback.passed and "hand over the model itself" in feedback.problem


def test_an_explanation_must_point_at_the_nodule_and_depend_on_the_model(honest):
    def fine_grad_cam(model, images):
        return mi.learn.grad_cam(model, images, class_index=1, layer_name="stage3_relu")

    def brightest_spots(model, images):  # ignores the model
        return images[..., 0]

    centre = np.exp(-((np.mgrid[:64, :64] - 31.5) ** 2).sum(0) / (2 * 8.0 ** 2))

    def centre_prior(model, images):  # nodule patches are roughly centred
        return np.broadcast_to(centre, images.shape[:3]).copy()

    good = teach.check("explain_nodule", fine_grad_cam, model=honest)
    assert good.passed, good
    for cheat in (brightest_spots, centre_prior):
        feedback = teach.check("explain_nodule", cheat, model=honest)
        assert not feedback.passed and not feedback.criteria[1].passed, feedback
        assert "describe the image" in feedback.notes[0]


def test_explanations_need_the_model_and_a_function(honest, dataset):
    assert "Give the model" in teach.check("explain_nodule", lambda m, x: x[..., 0]).problem
    maps = mi.learn.grad_cam(honest, dataset.x_test[:3], class_index=1)
    feedback = teach.check("explain_nodule", maps, model=honest)
    assert "hand over the function" in feedback.problem
    wrong = teach.check("explain_nodule", lambda m, x: x[:2, ..., 0], model=honest)
    assert "Expected an image (array of numbers) of shape" in wrong.problem


def test_unseen_patients_are_new(dataset):
    x, y, masks = course.unseen_patients()
    seen = {row.tobytes() for row in dataset.x_test.reshape(len(dataset.x_test), -1)}
    assert not any(row.tobytes() in seen for row in x.reshape(len(x), -1))
    assert set(np.unique(y)) == {0, 1} and masks[y == 1].any(axis=(1, 2)).all()
