"""Small Keras 3 models sized for 64x64 patches on a CPU.

Every builder returns a compiled :class:`keras.Model` written with Keras layers and
``keras.ops`` only, so the same code runs on any Keras backend; the backend is chosen by the
``KERAS_BACKEND`` environment variable *before* Keras is first imported (``tensorflow`` by
default, ``jax`` also supported; see ``benchmarks/BACKENDS.md`` for the measurements behind the
default).

Inputs are expected as ``float32`` in ``[0, 1]`` with a trailing channel axis, which is what
:func:`medinteract.learn.hu_to_unit` and the datasets of :mod:`medinteract.learn.datasets`
produce.
"""

from __future__ import annotations

import weakref
from typing import Sequence

import keras
import numpy as np
from keras import layers, ops

__all__ = [
    "small_cnn",
    "small_unet",
    "denoising_autoencoder",
    "dice_coefficient",
    "dice_loss",
    "precise_batch_norm",
    "PreciseBatchNorm",
    "LAST_CONV_LAYER",
    "LOGITS_LAYER",
]

#: Name of the rectified output of :func:`small_cnn`'s last convolution stage (the feature maps
#: Grad-CAM weights).
LAST_CONV_LAYER = "last_relu"
#: Name of the pre-softmax class scores of :func:`small_cnn` (Grad-CAM differentiates these).
LOGITS_LAYER = "logits"


def _layers_for(ndim: int):
    """Convolution, max-pooling and global pooling layers for 2-D or 3-D inputs."""
    if ndim == 2:
        return (layers.Conv2D, layers.MaxPooling2D, layers.GlobalAveragePooling2D,
                layers.GlobalMaxPooling2D)
    if ndim == 3:
        return (layers.Conv3D, layers.MaxPooling3D, layers.GlobalAveragePooling3D,
                layers.GlobalMaxPooling3D)
    raise ValueError(f"expected 2-D images or 3-D volumes with a channel axis, got {ndim} "
                     "spatial dimensions")


def _conv_block(x, filters: int, name: str, batch_norm: bool = True, ndim: int = 2):
    conv = _layers_for(ndim)[0]
    x = conv(filters, 3, padding="same", use_bias=not batch_norm, name=f"{name}_conv")(x)
    if not batch_norm:
        return layers.Activation("relu", name=f"{name}_relu")(x)
    # momentum 0.9 (not Keras' 0.99): the moving statistics must follow the weights within
    # the few hundred steps of a classroom training run. They stay noisy estimates (an
    # average over the last ~20 batches); PreciseBatchNorm replaces them by exact ones.
    x = layers.BatchNormalization(momentum=0.9, name=f"{name}_bn")(x)
    return layers.Activation("relu", name=f"{name}_relu")(x)


def small_cnn(
    input_shape: Sequence[int] = (64, 64, 1),
    n_classes: int = 2,
    *,
    filters: Sequence[int] = (8, 16, 32, 32),
    dropout: float = 0.3,
    batch_norm: bool = True,
    pooling: str = "avg",
    learning_rate: float = 1e-3,
    augmentation: keras.Layer | None = None,
    multilabel: bool = False,
    compile: bool = True,
) -> keras.Model:
    """A small convolutional classifier for 2-D images or 3-D volumes (15 k parameters with the
    defaults).

    Each stage is ``Conv 3x3 -> BatchNorm -> ReLU``, followed by ``MaxPool 2x2`` except for
    the last stage, whose rectified output (named :data:`LAST_CONV_LAYER`) is what Grad-CAM
    looks at. Then global average pooling, dropout, a dense layer of class scores named
    :data:`LOGITS_LAYER` (``"logits"``) and a softmax (a sigmoid per finding for
    multi-label data). Inputs with three spatial axes ``(d, h, w, c)`` get 3-D convolutions.

    The BatchNormalization layers normalise with each batch's statistics while training and
    with moving averages afterwards; train with the :class:`PreciseBatchNorm` callback so the
    model you evaluate uses exact statistics (notebook 08 shows why it matters).

    Parameters
    ----------
    input_shape : sequence of int, optional
        ``(height, width, channels)`` of one image, or ``(depth, height, width, channels)``
        of one volume.
    n_classes : int, optional
        Number of classes (or of findings, for ``multilabel``); the output is a softmax over
        them (also for 2 classes, so ``predict(x)[:, 1]`` is the probability of the positive
        class).
    filters : sequence of int, optional
        Number of filters per stage; each stage but the last halves the resolution. The
        default four stages see 8x8 feature maps of a 64x64 patch at the end; on the phantom
        nodule task they reached the accuracy of a four times wider network (16, 32, 64, 64)
        at half its training time.
    dropout : float, optional
        Dropout rate before the classifier.
    batch_norm : bool, optional
        Batch normalisation in every stage (without it, convolutions get a bias).
    pooling : {"avg", "max"}, optional
        Global pooling of the last feature maps.
    learning_rate : float, optional
        Adam learning rate.
    augmentation : keras.Layer, optional
        Preprocessing layers applied during training only (for example
        :func:`medinteract.learn.augmentation`).
    multilabel : bool, optional
        Several independent 0/1 findings per sample (as MedMNIST's ChestMNIST): a sigmoid
        per finding, binary cross-entropy, binary accuracy and a per-finding mean AUC as
        metrics; targets are ``(n, n_classes)`` 0/1 arrays.
    compile : bool, optional
        Compile with Adam, sparse categorical cross-entropy and accuracy (or the multi-label
        loss and metrics).

    Returns
    -------
    keras.Model
        Takes ``(n, *input_shape)`` float32 in ``[0, 1]``, returns ``(n, n_classes)``
        probabilities.
    """
    if n_classes < (1 if multilabel else 2):
        raise ValueError(f"n_classes must be at least {1 if multilabel else 2}, got {n_classes}")
    if not filters:
        raise ValueError("filters needs at least one stage")
    ndim = len(input_shape) - 1
    _, max_pool, global_avg, global_max = _layers_for(ndim)
    if pooling not in ("avg", "max"):
        raise ValueError(f"pooling must be 'avg' or 'max', got {pooling!r}")
    inputs = keras.Input(shape=tuple(input_shape), name="image")
    x = augmentation(inputs) if augmentation is not None else inputs
    for i, n in enumerate(filters[:-1]):
        x = _conv_block(x, n, name=f"stage{i + 1}", batch_norm=batch_norm, ndim=ndim)
        x = max_pool(2, name=f"stage{i + 1}_pool")(x)
    x = _conv_block(x, filters[-1], name="last", batch_norm=batch_norm, ndim=ndim)
    x = (global_avg if pooling == "avg" else global_max)(name="global_pool")(x)
    x = layers.Dropout(dropout, name="dropout")(x)
    logits = layers.Dense(n_classes, name=LOGITS_LAYER)(x)
    outputs = layers.Activation("sigmoid" if multilabel else "softmax", name="probabilities")(
        logits)
    model = keras.Model(inputs, outputs, name="small_cnn")
    if compile:
        if multilabel:
            model.compile(
                optimizer=keras.optimizers.Adam(learning_rate),
                loss="binary_crossentropy",
                metrics=[keras.metrics.BinaryAccuracy(name="accuracy"),
                         keras.metrics.AUC(multi_label=True, num_labels=n_classes,
                                           name="auc")],
            )
        else:
            model.compile(
                optimizer=keras.optimizers.Adam(learning_rate),
                loss="sparse_categorical_crossentropy",
                metrics=["accuracy"],
            )
    return model


def dice_coefficient(y_true, y_pred, smooth: float = 1.0):
    """Soft Dice coefficient of probability maps, averaged over the batch (``keras.ops``).

    Parameters
    ----------
    y_true, y_pred : tensor of shape (n, height, width, 1)
        Ground-truth mask (0/1) and predicted foreground probability.
    smooth : float, optional
        Added to numerator and denominator so empty masks score 1.
    """
    y_true = ops.cast(y_true, y_pred.dtype)
    axes = tuple(range(1, len(y_pred.shape)))
    intersection = ops.sum(y_true * y_pred, axis=axes)
    total = ops.sum(y_true, axis=axes) + ops.sum(y_pred, axis=axes)
    return ops.mean((2.0 * intersection + smooth) / (total + smooth))


def dice_loss(y_true, y_pred):
    """Binary cross-entropy plus ``1 - Dice``: stable early, and not swamped by background."""
    bce = ops.mean(keras.losses.binary_crossentropy(y_true, y_pred))
    return bce + 1.0 - dice_coefficient(y_true, y_pred)


def small_unet(
    input_shape: Sequence[int] = (64, 64, 1),
    *,
    filters: Sequence[int] = (16, 32, 64),
    learning_rate: float = 1e-3,
    compile: bool = True,
) -> keras.Model:
    """A small U-Net for binary segmentation (nodule vs background).

    Parameters
    ----------
    input_shape : sequence of int, optional
        ``(height, width, channels)``; height and width must be divisible by
        ``2 ** (len(filters) - 1)``.
    filters : sequence of int, optional
        Filters per level, from the finest (encoder input) to the bottleneck.
    learning_rate : float, optional
        Adam learning rate.
    compile : bool, optional
        Compile with Adam, :func:`dice_loss` and the :func:`dice_coefficient` metric.

    Returns
    -------
    keras.Model
        Maps ``(n, h, w, c)`` in ``[0, 1]`` to ``(n, h, w, 1)`` foreground probabilities.
    """
    levels = len(filters)
    factor = 2 ** (levels - 1)
    if input_shape[0] % factor or input_shape[1] % factor:
        raise ValueError(f"height and width must be divisible by {factor}, got {input_shape}")
    inputs = keras.Input(shape=tuple(input_shape), name="image")
    skips = []
    x = inputs
    for i, n in enumerate(filters[:-1]):
        x = _conv_block(x, n, name=f"down{i + 1}a")
        x = _conv_block(x, n, name=f"down{i + 1}b")
        skips.append(x)
        x = layers.MaxPooling2D(2, name=f"down{i + 1}_pool")(x)
    x = _conv_block(x, filters[-1], name="bottleneck_a")
    x = _conv_block(x, filters[-1], name="bottleneck_b")
    for i, (n, skip) in enumerate(zip(filters[-2::-1], skips[::-1])):
        x = layers.Conv2DTranspose(n, 2, strides=2, padding="same", name=f"up{i + 1}_tconv")(x)
        x = layers.Concatenate(name=f"up{i + 1}_concat")([x, skip])
        x = _conv_block(x, n, name=f"up{i + 1}a")
        x = _conv_block(x, n, name=f"up{i + 1}b")
    outputs = layers.Conv2D(1, 1, activation="sigmoid", name="mask")(x)
    model = keras.Model(inputs, outputs, name="small_unet")
    if compile:
        model.compile(
            optimizer=keras.optimizers.Adam(learning_rate),
            loss=dice_loss,
            metrics=[dice_coefficient],
        )
    return model


def denoising_autoencoder(
    input_shape: Sequence[int] = (64, 64, 1),
    *,
    filters: Sequence[int] = (32, 64),
    learning_rate: float = 1e-3,
    compile: bool = True,
) -> keras.Model:
    """A small convolutional denoising autoencoder with a residual output.

    The encoder halves the resolution ``len(filters)`` times, the decoder brings it back, a
    skip connection adds full-resolution features (noise lives at the pixel scale), and the
    network predicts a *correction* that is added to its input (residual learning: the
    identity is the starting point, so a few epochs already help). Train it on
    ``(noisy, clean)`` pairs scaled to ``[0, 1]``.

    Parameters
    ----------
    input_shape : sequence of int, optional
        ``(height, width, channels)``; divisible by ``2 ** len(filters)``.
    filters : sequence of int, optional
        Filters per encoder level.
    learning_rate : float, optional
        Adam learning rate.
    compile : bool, optional
        Compile with Adam and mean squared error (and mean absolute error as a metric).

    Returns
    -------
    keras.Model
        Maps noisy images to denoised images of the same shape.
    """
    factor = 2 ** len(filters)
    if input_shape[0] % factor or input_shape[1] % factor:
        raise ValueError(f"height and width must be divisible by {factor}, got {input_shape}")
    inputs = keras.Input(shape=tuple(input_shape), name="noisy")
    full = layers.Conv2D(filters[0], 3, padding="same", activation="relu", name="full_res")(inputs)
    x = full
    for i, n in enumerate(filters):
        x = layers.Conv2D(n, 3, padding="same", activation="relu", name=f"enc{i + 1}")(x)
        x = layers.MaxPooling2D(2, name=f"enc{i + 1}_pool")(x)
    for i, n in enumerate(filters[::-1]):
        x = layers.Conv2DTranspose(n, 3, strides=2, padding="same", activation="relu",
                                   name=f"dec{i + 1}")(x)
    # the skip brings back full-resolution detail: noise is a per-pixel, high-frequency signal
    x = layers.Concatenate(name="skip")([x, full])
    x = layers.Conv2D(filters[0], 3, padding="same", activation="relu", name="merge")(x)
    correction = layers.Conv2D(input_shape[-1], 3, padding="same", name="correction")(x)
    outputs = layers.Add(name="denoised")([inputs, correction])
    model = keras.Model(inputs, outputs, name="denoising_autoencoder")
    if compile:
        model.compile(optimizer=keras.optimizers.Adam(learning_rate), loss="mse",
                      metrics=["mae"])
    return model


# -- BatchNormalization statistics ------------------------------------------------------------
#: Input values per forward pass of :func:`precise_batch_norm` when no batch size is given:
#: 128 patches of 64x64 pixels, 24 volumes of 28x28x28 voxels. A pass keeps the activations
#: of every layer until it ends, so its memory grows with the values it is given, not with the
#: number of samples (115 such volumes at once took 570 MB).
_PROBE_VALUES = 128 * 64 * 64


def _probe_batch_size(sample_shape: Sequence[int], batch_size: int | None = None) -> int:
    """Samples per forward pass of :func:`precise_batch_norm`: ``batch_size`` if given, else
    as many samples of ``sample_shape`` as hold :data:`_PROBE_VALUES` input values (at least
    one)."""
    if batch_size is not None:
        return max(1, int(batch_size))
    return max(1, _PROBE_VALUES // max(1, int(np.prod(sample_shape))))


def precise_batch_norm(model: keras.Model, x, *, batch_size: int | None = None,
                       max_samples: int | None = 256, seed: int = 0) -> int:
    """Set every BatchNormalization layer's moving statistics to exact ones computed from ``x``.

    While training, a BatchNormalization layer normalises each batch with that batch's own
    mean and variance, and keeps moving averages of them for inference. Those averages are
    measured in training mode, where every layer before it also normalises with batch
    statistics, and while the weights still change; at inference the layers before normalise
    with *their* moving averages, so each layer sees inputs whose mean and spread differ
    slightly from what its averages describe, and the differences add up through the network.
    A classifier of small structures can be very sensitive to that: notebook 08 measures a
    nodule classifier whose accuracy on its own training data drops from 0.95 to 0.91 with the
    moving averages, same weights. (The averages are not merely noisy: exact statistics from
    as few as 64 images do better.)

    This function recomputes them in inference mode, layer after layer: each layer gets the
    mean and variance of its inputs over ``x`` given the exact statistics of the layers before
    it ("precise BatchNorm", Wu & Johnson, *Rethinking "Batch" in BatchNorm*, 2021). No
    trainable weight changes.

    Parameters
    ----------
    model : keras.Model
        A functional model (for example :func:`small_cnn`) whose BatchNormalization layers
        are its own layers (not inside a nested model).
    x : ndarray
        Training inputs ``(n, ...)`` as fed to the model (augmentation layers are inactive,
        so the statistics are those of the images the model will be applied to).
    batch_size : int, optional
        Samples per forward pass (the result does not depend on it); by default as many as
        hold about half a million input values (128 patches of 64x64, 24 volumes of
        28x28x28), which bounds the memory a pass needs whatever the size of a sample.
    max_samples : int or None, optional
        Use a seeded random subset of at most this many samples (None: all of them); a few
        hundred give stable statistics at a fraction of the cost of the whole set.
    seed : int, optional
        Seed of the subset.

    Returns
    -------
    int
        The number of BatchNormalization layers updated.
    """
    x = np.asarray(x)
    if max_samples is not None and len(x) > max_samples:
        pick = np.random.default_rng(seed).choice(len(x), size=max_samples, replace=False)
        x = x[np.sort(pick)]
    if not len(x):
        raise ValueError("precise_batch_norm needs at least one sample")
    norms, probe = _batch_norm_probe(model)
    if not norms or probe is None:
        return 0
    batch_size = min(_probe_batch_size(x.shape[1:], batch_size), len(x))
    widths = [2 * norm.moving_mean.shape[0] for norm in norms]
    # Pass k fixes layer k: its inputs depend only on layers 1..k-1, already exact. One probe
    # for all layers, called eagerly: no compiled function is traced per layer, per model or
    # per batch shape (TensorFlow warns about frequent retracing when a notebook trains
    # several models).
    for k, norm in enumerate(norms):
        total = np.zeros(sum(widths))
        for start in range(0, len(x), batch_size):
            moments = probe(x[start:start + batch_size], training=False)
            total += ops.convert_to_numpy(moments).astype(np.float64).sum(0)
        offset = sum(widths[:k])
        mean, mean_sq = np.split(total[offset:offset + widths[k]] / len(x), 2)
        norm.moving_mean.assign(mean.astype(np.float32))
        norm.moving_variance.assign(np.maximum(mean_sq - np.square(mean), 0.0)
                                    .astype(np.float32))
    return len(norms)


#: Per model, its BatchNormalization layers and the model computing their input moments
#: (kept while the model lives, so the probe is built once).
_PROBES: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def _batch_norm_probe(model: keras.Model) -> tuple[list[layers.BatchNormalization],
                                                   keras.Model | None]:
    """The model's BatchNormalization layers, and a model giving per sample, for each of them in
    order, the channel means of its inputs and of their squares (each sample covers the same
    number of positions, so averaging over samples gives the population moments)."""
    if model not in _PROBES:
        norms = [layer for layer in model.layers
                 if isinstance(layer, layers.BatchNormalization)]
        probe = None
        if norms:
            inputs = model.inputs[0] if len(model.inputs) == 1 else model.inputs
            moments = []
            for norm in norms:
                values = norm.input
                channel = (norm.axis if isinstance(norm.axis, int) else norm.axis[0]) \
                    % len(values.shape)
                axes = tuple(a for a in range(1, len(values.shape)) if a != channel)
                moments += [ops.mean(values, axis=axes), ops.mean(ops.square(values), axis=axes)]
            probe = keras.Model(inputs, ops.concatenate(moments, axis=-1),
                                name=f"{model.name}_batch_norm_moments")
        _PROBES[model] = (norms, probe)
    return _PROBES[model]


class PreciseBatchNorm(keras.callbacks.Callback):
    """Keras callback: exact BatchNormalization statistics for every validation and at the end.

    Before each validation pass inside ``model.fit`` (so validation scores, early stopping and
    any dashboard see the model as it will be used) and when training ends, it calls
    :func:`precise_batch_norm` with the training inputs. Training itself is unchanged: the
    moving averages keep being updated from each batch in between.

    Parameters
    ----------
    x : ndarray
        The training inputs (``x`` of ``model.fit``).
    batch_size, max_samples, seed
        As for :func:`precise_batch_norm`.

    Examples
    --------
    >>> model.fit(x, y, validation_data=(x_val, y_val),
    ...           callbacks=[PreciseBatchNorm(x)])  # doctest: +SKIP
    """

    def __init__(self, x, *, batch_size: int | None = None, max_samples: int | None = 256,
                 seed: int = 0):
        super().__init__()
        self.x = x
        self.batch_size = batch_size
        self.max_samples = max_samples
        self.seed = seed
        self._fitting = False

    def _update(self) -> None:
        precise_batch_norm(self.model, self.x, batch_size=self.batch_size,
                           max_samples=self.max_samples, seed=self.seed)

    def on_train_begin(self, logs=None):
        self._fitting = True

    def on_test_begin(self, logs=None):
        if self._fitting:  # validation inside fit; a separate evaluate() leaves the model alone
            self._update()

    def on_train_end(self, logs=None):
        self._fitting = False
        self._update()
