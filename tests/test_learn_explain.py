"""Explanations concentrate on the nodule; Grad-CAM agrees across backends."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap

import keras
import numpy as np
import pytest

from medinteract.learn.datasets import phantom_patches
from medinteract.learn.explain import (
    feature_and_head_models,
    grad_cam,
    occlusion_sensitivity,
    overlay_saliency,
)
from medinteract.learn.models import small_cnn

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def trained():
    keras.utils.set_random_seed(0)
    data = phantom_patches(14, seed=200)
    model = small_cnn(data.input_shape, data.n_classes)
    model.fit(data.x_train, data.y_train, epochs=12, batch_size=32, verbose=0)
    return data, model


def _nodule_patches(data, model, n=12):
    """Test patches that show a nodule and that the model calls 'nodule'."""
    probs = model.predict(data.x_test, verbose=0)
    idx = np.flatnonzero((data.y_test == 1) & (probs.argmax(1) == 1))[:n]
    assert len(idx) >= min(n, 6)
    return data.x_test[idx], data.masks_test[idx][..., 0].astype(bool)


def _inside_vs_outside(maps, masks):
    inside = np.array([m[k].mean() for m, k in zip(maps, masks)])
    outside = np.array([m[~k].mean() for m, k in zip(maps, masks)])
    return inside, outside


@pytest.mark.parametrize("method", [grad_cam, occlusion_sensitivity])
def test_saliency_concentrates_on_the_nodule(trained, method):
    data, model = trained
    x, masks = _nodule_patches(data, model)
    maps = method(model, x, class_index=1)
    assert maps.shape == x.shape[:3] and maps.dtype == np.float32
    assert 0.0 <= maps.min() and maps.max() <= 1.0
    inside, outside = _inside_vs_outside(maps, masks)
    assert inside.mean() > 2 * outside.mean()
    assert np.mean(inside > outside) >= 2 / 3


def test_one_image_and_default_class(trained):
    data, model = trained
    x, _ = _nodule_patches(data, model, n=1)
    cam = grad_cam(model, x[0])  # one image, its predicted class
    assert cam.shape == (1, 64, 64)
    np.testing.assert_allclose(cam, grad_cam(model, x, class_index=[1]), atol=1e-6)


def test_head_model_reproduces_the_class_scores(trained):
    data, model = trained
    features, head = feature_and_head_models(model)
    logits = keras.Model(model.input, model.get_layer("logits").output)
    x = data.x_test[:4]
    np.testing.assert_allclose(keras.ops.convert_to_numpy(head(features(x))),
                               keras.ops.convert_to_numpy(logits(x)), rtol=1e-4, atol=1e-4)


def test_overlay_draws_the_map_and_the_mask_outline(trained):
    data, model = trained
    x, masks = _nodule_patches(data, model, n=1)
    cam = grad_cam(model, x, class_index=1)[0]
    rgb = overlay_saliency(x[0], cam, mask=masks[0])
    assert rgb.shape == (64, 64, 3) and rgb.dtype == np.uint8
    plain = overlay_saliency(x[0], np.zeros_like(cam))
    grey = np.round(np.clip(x[0, ..., 0], 0, 1) * 255)
    assert np.abs(plain[..., 0].astype(float) - grey).max() <= 1  # no map: just the image
    assert not np.array_equal(rgb, plain)


def test_occlusion_rejects_a_patch_larger_than_the_image(trained):
    data, model = trained
    with pytest.raises(ValueError, match="larger than the image"):
        occlusion_sensitivity(model, data.x_test[:1], patch=65)


JAX_SCRIPT = textwrap.dedent("""
    import json, sys
    import numpy as np
    import keras
    from medinteract.learn.explain import grad_cam
    from medinteract.learn.models import small_cnn
    arrays = np.load(sys.argv[1])
    model = small_cnn((64, 64, 1), 2)
    model.set_weights([arrays[f"w{i}"] for i in range(len(model.weights))])
    cam = grad_cam(model, arrays["x"], class_index=1)
    np.save(sys.argv[2], cam)
    print(json.dumps({"backend": keras.backend.backend()}))
""")


@pytest.mark.skipif(keras.backend.backend() != "tensorflow", reason="compares jax with tf")
def test_grad_cam_on_jax_matches_tensorflow(trained, tmp_path):
    pytest.importorskip("jax")
    data, model = trained
    x, _ = _nodule_patches(data, model, n=4)
    weights = {f"w{i}": w for i, w in enumerate(model.get_weights())}
    np.savez(tmp_path / "model.npz", x=x, **weights)
    env = {**os.environ, "KERAS_BACKEND": "jax", "TF_CPP_MIN_LOG_LEVEL": "3"}
    out = subprocess.run([sys.executable, "-c", JAX_SCRIPT, str(tmp_path / "model.npz"),
                          str(tmp_path / "cam.npy")], env=env, capture_output=True, text=True,
                         check=False)
    assert out.returncode == 0, out.stderr[-2000:]
    assert json.loads(out.stdout.strip().splitlines()[-1])["backend"] == "jax"
    np.testing.assert_allclose(np.load(tmp_path / "cam.npy"),
                               grad_cam(model, x, class_index=1), atol=2e-3)


def test_grad_cam_names_an_unsupported_backend(monkeypatch, trained):
    data, model = trained
    monkeypatch.setattr(keras.backend, "backend", lambda: "torch")
    with pytest.raises(NotImplementedError, match="torch.*occlusion_sensitivity"):
        grad_cam(model, data.x_test[:1])
