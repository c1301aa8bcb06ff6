"""Model builders: shapes, compilation, the layers other modules rely on; lazy imports."""

from __future__ import annotations

import subprocess
import sys

import keras
import numpy as np
import pytest

from medinteract.learn.datasets import augmentation
from medinteract.learn.models import (
    LAST_CONV_LAYER,
    LOGITS_LAYER,
    PreciseBatchNorm,
    denoising_autoencoder,
    dice_coefficient,
    precise_batch_norm,
    small_cnn,
    small_unet,
)


def test_small_cnn_outputs_probabilities_and_names_its_grad_cam_layers():
    model = small_cnn()
    assert model.input_shape == (None, 64, 64, 1) and model.output_shape == (None, 2)
    assert model.get_layer(LAST_CONV_LAYER).output.shape[1:3] == (8, 8)
    assert model.get_layer(LOGITS_LAYER).output.shape[-1] == 2
    assert model.optimizer is not None and model.count_params() < 100_000
    x = np.random.default_rng(0).random((3, 64, 64, 1), dtype=np.float32)
    p = model.predict(x, verbose=0)
    np.testing.assert_allclose(p.sum(1), 1.0, rtol=1e-5)


def test_small_cnn_options():
    model = small_cnn((28, 28, 3), 5, filters=(8, 16), batch_norm=False, pooling="max",
                      augmentation=augmentation(), compile=False)
    assert model.output_shape == (None, 5)
    assert getattr(model, "optimizer", None) is None
    assert "augmentation" in [layer.name for layer in model.layers]
    with pytest.raises(ValueError, match="n_classes"):
        small_cnn(n_classes=1)
    with pytest.raises(ValueError, match="pooling"):
        small_cnn(pooling="median")
    plain = small_cnn(batch_norm=False, compile=False)
    assert not any(isinstance(layer, keras.layers.BatchNormalization) for layer in plain.layers)
    assert plain.get_layer(LAST_CONV_LAYER).output.shape[1:3] == (8, 8)


def test_small_cnn_on_volumes_uses_3d_convolutions():
    model = small_cnn((16, 16, 16, 1), 2, filters=(4, 8))
    assert model.output_shape == (None, 2)
    assert isinstance(model.get_layer("stage1_conv"), keras.layers.Conv3D)
    assert model.get_layer(LAST_CONV_LAYER).output.shape[1:4] == (8, 8, 8)
    with pytest.raises(ValueError, match="4 spatial dimensions"):
        small_cnn((4, 8, 8, 8, 1))


def test_small_cnn_for_multilabel_targets_gives_one_probability_per_finding():
    keras.utils.set_random_seed(0)
    model = small_cnn((16, 16, 1), 5, filters=(4, 8), multilabel=True)
    x = np.random.default_rng(0).random((8, 16, 16, 1), dtype=np.float32)
    y = (np.arange(40).reshape(8, 5) % 3 == 0).astype(np.float32)
    history = model.fit(x, y, epochs=1, batch_size=4, verbose=0)
    assert {"loss", "accuracy", "auc"} <= set(history.history)
    p = model.predict(x, verbose=0)
    assert p.shape == (8, 5) and (p >= 0).all() and (p <= 1).all()
    assert not np.allclose(p.sum(1), 1.0)  # independent findings, not a softmax


def _bn_input_statistics(model, x):
    """Exact mean and variance of every BatchNormalization layer's inputs over ``x``."""
    out = {}
    for layer in model.layers:
        if isinstance(layer, keras.layers.BatchNormalization):
            probe = keras.Model(model.input, layer.input)
            values = np.asarray(probe.predict(x, verbose=0), dtype=np.float64)
            out[layer.name] = (values.mean(axis=(0, 1, 2)), values.var(axis=(0, 1, 2)))
    return out


def test_precise_batch_norm_sets_exact_statistics_layer_after_layer():
    keras.utils.set_random_seed(0)
    model = small_cnn((32, 32, 1), 2, filters=(8, 16, 16))
    x = np.random.default_rng(1).random((50, 32, 32, 1), dtype=np.float32)
    trainable = [w.copy() for w in model.get_weights()[:1]]
    # stale statistics, as after training: far from what the layers see
    for layer in model.layers:
        if isinstance(layer, keras.layers.BatchNormalization):
            layer.moving_mean.assign(np.full(layer.moving_mean.shape, 3.0, np.float32))
            layer.moving_variance.assign(np.full(layer.moving_variance.shape, 9.0, np.float32))
    assert precise_batch_norm(model, x, batch_size=16) == 3
    # each layer's statistics are those of its inputs *given* the exact statistics before it
    for name, (mean, variance) in _bn_input_statistics(model, x).items():
        layer = model.get_layer(name)
        np.testing.assert_allclose(keras.ops.convert_to_numpy(layer.moving_mean), mean,
                                   rtol=1e-4, atol=1e-5)
        np.testing.assert_allclose(keras.ops.convert_to_numpy(layer.moving_variance), variance,
                                   rtol=1e-4, atol=1e-6)
    np.testing.assert_array_equal(model.get_weights()[0], trainable[0])
    # a subset gives nearly the same statistics; the result does not depend on the batch size
    before = [keras.ops.convert_to_numpy(v).copy() for v in model.non_trainable_weights]
    precise_batch_norm(model, x, batch_size=7)
    for a, b in zip(before, model.non_trainable_weights):
        np.testing.assert_allclose(a, keras.ops.convert_to_numpy(b), rtol=1e-4, atol=1e-6)
    with pytest.raises(ValueError, match="at least one sample"):
        precise_batch_norm(model, x[:0])


def _probe_batches(model, x, **kwargs) -> list[int]:
    """Samples per forward pass that precise_batch_norm(model, x, **kwargs) makes."""
    from medinteract.learn import models

    norms, probe = models._batch_norm_probe(model)
    sizes: list[int] = []

    def spy(batch, training=False):
        sizes.append(len(batch))
        return probe(batch, training=training)

    models._PROBES[model] = (norms, spy)
    try:
        precise_batch_norm(model, x, **kwargs)
    finally:
        models._PROBES[model] = (norms, probe)
    return sizes


def test_precise_batch_norm_bounds_the_values_of_a_pass_not_the_samples():
    # a pass keeps every layer's activations: 128 volumes of 28^3 at once took 570 MB in
    # notebook 10, so the default batch holds as many values as 128 patches of 64x64
    keras.utils.set_random_seed(0)
    volumes = np.random.default_rng(3).random((40, 28, 28, 28, 1), dtype=np.float32)
    model = small_cnn(volumes.shape[1:], 2, filters=(4, 8))
    sizes = _probe_batches(model, volumes)
    assert max(sizes) * 28**3 <= 128 * 64 * 64 and sum(sizes) == 2 * len(volumes)
    exact = [keras.ops.convert_to_numpy(v).copy() for v in model.non_trainable_weights]
    assert _probe_batches(model, volumes, batch_size=40) == [40, 40]  # as asked
    for a, b in zip(exact, model.non_trainable_weights):
        np.testing.assert_allclose(a, keras.ops.convert_to_numpy(b), rtol=1e-4, atol=1e-6)
    patches = np.random.default_rng(4).random((300, 64, 64, 1), dtype=np.float32)
    assert _probe_batches(small_cnn(filters=(4, 8)), patches) == [128, 128, 128, 128]


def test_precise_batch_norm_callback_runs_before_validation_and_at_the_end():
    keras.utils.set_random_seed(0)
    model = small_cnn((32, 32, 1), 2, filters=(8, 16))
    rng = np.random.default_rng(2)
    x = rng.random((64, 32, 32, 1), dtype=np.float32)
    y = (x.mean(axis=(1, 2, 3)) > 0.5).astype(int)
    updates = []

    class Spy(PreciseBatchNorm):
        def _update(self):
            updates.append(len(updates))
            super()._update()

    history = model.fit(x, y, validation_data=(x[:16], y[:16]), epochs=2, batch_size=16,
                        verbose=0, callbacks=[Spy(x)])
    assert len(updates) == 3  # before each of 2 validations, and at the end
    exact = _bn_input_statistics(model, x)
    for name, (mean, _) in exact.items():
        np.testing.assert_allclose(
            keras.ops.convert_to_numpy(model.get_layer(name).moving_mean), mean, rtol=1e-4,
            atol=1e-5)
    # the last validation saw the final model: evaluating again gives the same loss
    loss = model.evaluate(x[:16], y[:16], verbose=0, callbacks=[Spy(x)])[0]
    assert loss == pytest.approx(history.history["val_loss"][-1], rel=1e-4)
    assert len(updates) == 3, "evaluate() outside fit leaves the statistics alone"


def test_small_unet_maps_images_to_masks():
    model = small_unet((64, 64, 1), filters=(8, 16, 32))
    assert model.output_shape == (None, 64, 64, 1)
    with pytest.raises(ValueError, match="divisible by 4"):
        small_unet((30, 30, 1), filters=(8, 16, 32))


def test_dice_coefficient_of_masks():
    a = np.zeros((1, 8, 8, 1), np.float32)
    a[0, :4] = 1
    b = np.zeros_like(a)
    b[0, 2:6] = 1
    dice = float(keras.ops.convert_to_numpy(dice_coefficient(a, b, smooth=0.0)))
    assert dice == pytest.approx(0.5)
    assert float(keras.ops.convert_to_numpy(dice_coefficient(a, a))) == pytest.approx(1.0)


def test_denoising_autoencoder_starts_close_to_identity_and_keeps_shape():
    keras.utils.set_random_seed(0)
    model = denoising_autoencoder((64, 64, 1))
    assert model.output_shape == (None, 64, 64, 1)
    x = np.random.default_rng(0).random((2, 64, 64, 1), dtype=np.float32)
    y = model.predict(x, verbose=0)
    assert np.abs(y - x).mean() < 0.2  # residual design: output = input + correction
    with pytest.raises(ValueError, match="divisible by 4"):
        denoising_autoencoder((30, 30, 1))


def test_importing_medinteract_learn_does_not_import_keras():
    code = ("import sys, medinteract.learn as L; assert 'keras' not in sys.modules; "
            "L.hu_to_unit, L.load_medmnist, L.classification_report; "
            "assert 'keras' not in sys.modules, 'keras imported'")
    subprocess.run([sys.executable, "-c", code], check=True)


@pytest.fixture(scope="module")
def trained_denoiser():
    """The autoencoder trained 10 epochs on noisy/clean phantom patches, and its data."""
    from medinteract.learn.datasets import denoising_pairs

    pairs = denoising_pairs(6, slices_per_patient=4, patches_per_slice=4, noise_hu=60.0, seed=0)
    keras.utils.set_random_seed(0)
    model = denoising_autoencoder(pairs.input_shape)
    model.fit(pairs.x_train, pairs.y_train, epochs=10, batch_size=16, verbose=0)
    return model, pairs


@pytest.mark.slow
def test_denoising_autoencoder_learns_to_remove_noise_on_unseen_patients(trained_denoiser):
    """Trained on noisy/clean phantom patches, it beats the noisy input and a Gaussian filter
    by PSNR on patches of patients it never saw (reference run: noisy 28.1 dB, Gaussian
    sigma 1 mm 27.1 dB, autoencoder after 10 epochs 30.1 dB)."""
    from medinteract.ops.denoise import gaussian
    from medinteract.ops.metrics import psnr

    model, pairs = trained_denoiser
    noisy, clean = pairs.x_test[..., 0], pairs.y_test[..., 0]
    denoised = model.predict(pairs.x_test, verbose=0)[..., 0]

    def mean_psnr(images):
        return np.mean([psnr(b, a, data_range=1.0) for a, b in zip(images, clean)])

    smoothed = [gaussian(image, spacing=(1.2, 1.2), sigma=1.0) for image in noisy]
    assert mean_psnr(denoised) > mean_psnr(noisy) + 1.0
    assert mean_psnr(denoised) > mean_psnr(smoothed)


@pytest.mark.slow
def test_compare_denoisers_ranks_the_autoencoder_against_every_classical_filter(
        trained_denoiser):
    """One table scores the noisy input, the six filters of the denoise panel and the trained
    autoencoder on held-out patients; its numbers are those of the metrics called directly."""
    from medinteract.learn import compare_denoisers
    from medinteract.learn.evaluate import CLASSICAL_DENOISERS
    from medinteract.ops import get_op
    from medinteract.ops.metrics import psnr, ssim

    model, pairs = trained_denoiser
    assert not set(pairs.patients_test) & set(pairs.patients_train)
    table = compare_denoisers(pairs.x_test, pairs.y_test, model=model, spacing=(1.2, 1.2))
    assert list(table.columns) == ["method", "params", "psnr_db", "ssim", "seconds"]
    assert list(table["method"]) == ["noisy", *CLASSICAL_DENOISERS, model.name]
    scores = table.set_index("method")
    assert scores.loc[model.name, "psnr_db"] > scores.loc["noisy", "psnr_db"] + 1.0
    assert scores.loc[model.name, "psnr_db"] > scores.loc["gaussian", "psnr_db"]
    assert table["ssim"].between(-1, 1).all() and (table["seconds"] >= 0).all()
    assert scores.loc["gaussian", "params"] == {"sigma": 1.0}

    noisy, clean = pairs.x_test[..., 0], pairs.y_test[..., 0]
    smoothed = [get_op("median")(image, spacing=(1.2, 1.2), size=3) for image in noisy]
    assert scores.loc["median", "psnr_db"] == pytest.approx(
        np.mean([psnr(b, a, data_range=1.0) for a, b in zip(smoothed, clean)]))
    assert scores.loc["median", "ssim"] == pytest.approx(
        np.mean([ssim(b, a, data_range=1.0) for a, b in zip(smoothed, clean)]))

    chosen = compare_denoisers(noisy[:4], clean[:4], filters={"gaussian": {"sigma": 2.0}})
    assert list(chosen["method"]) == ["noisy", "gaussian"]
    assert chosen["params"].iloc[1] == {"sigma": 2.0}
    with pytest.raises(ValueError, match="no parameter"):
        compare_denoisers(noisy[:2], clean[:2], filters={"gaussian": {"radius": 2}})


def test_tensorflow_retracing_notice_is_dropped_other_warnings_pass(caplog):
    # several models in one notebook each trace their own predict function; TensorFlow counts
    # them together and prints a retracing notice into the notebook: medinteract.learn drops it
    import logging

    import medinteract.learn  # noqa: F401

    logger = logging.getLogger("tensorflow")
    with caplog.at_level(logging.WARNING, logger="tensorflow"):
        logger.warning("5 out of the last 13 calls to <function f at 0x1> triggered "
                       "tf.function retracing. Tracing is expensive ...")
        logger.warning("a real warning")
    assert [r.getMessage() for r in caplog.records] == ["a real warning"]
