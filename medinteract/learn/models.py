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

from typing import Sequence

import keras
from keras import layers, ops

__all__ = [
    "small_cnn",
    "small_unet",
    "denoising_autoencoder",
    "dice_coefficient",
    "dice_loss",
    "LAST_CONV_LAYER",
    "LOGITS_LAYER",
]

#: Name of the last convolution of :func:`small_cnn`, the layer Grad-CAM looks at.
LAST_CONV_LAYER = "last_conv"
#: Name of the pre-softmax class scores of :func:`small_cnn` (Grad-CAM differentiates these).
LOGITS_LAYER = "logits"


def _conv_block(x, filters: int, name: str, batch_norm: bool = True):
    if not batch_norm:
        return layers.Conv2D(filters, 3, padding="same", activation="relu",
                             name=f"{name}_conv")(x)
    x = layers.Conv2D(filters, 3, padding="same", use_bias=False, name=f"{name}_conv")(x)
    # momentum 0.9 (not Keras' 0.99): the moving statistics must settle within the few
    # hundred steps of a classroom training run, or validation scores stay at chance.
    x = layers.BatchNormalization(momentum=0.9, name=f"{name}_bn")(x)
    return layers.Activation("relu", name=f"{name}_relu")(x)


def small_cnn(
    input_shape: Sequence[int] = (64, 64, 1),
    n_classes: int = 2,
    *,
    filters: Sequence[int] = (16, 32, 64, 64),
    dropout: float = 0.3,
    batch_norm: bool = True,
    pooling: str = "avg",
    learning_rate: float = 1e-3,
    augmentation: keras.Layer | None = None,
    compile: bool = True,
) -> keras.Model:
    """A small convolutional classifier (about 60 k parameters with the defaults).

    Each stage is ``Conv 3x3 -> BatchNorm -> ReLU -> MaxPool 2x2``; the last stage's
    convolution is named :data:`LAST_CONV_LAYER` (``"last_conv"``) for Grad-CAM and is not
    pooled, then global average pooling, dropout, a dense layer of class scores named
    :data:`LOGITS_LAYER` (``"logits"``) and a softmax.

    Parameters
    ----------
    input_shape : sequence of int, optional
        ``(height, width, channels)`` of one image.
    n_classes : int, optional
        Number of classes; the output is a softmax over them (also for 2 classes, so
        ``predict(x)[:, 1]`` is the probability of the positive class).
    filters : sequence of int, optional
        Number of filters per stage. Four stages (the last convolution sees 8x8 feature maps
        of a 64x64 patch) learned the phantom task markedly faster than three in our runs.
    dropout : float, optional
        Dropout rate before the classifier.
    learning_rate : float, optional
        Adam learning rate.
    augmentation : keras.Layer, optional
        Preprocessing layers applied during training only (for example
        :func:`medinteract.learn.augmentation`).
    compile : bool, optional
        Compile with Adam, sparse categorical cross-entropy and accuracy.

    Returns
    -------
    keras.Model
        Takes ``(n, *input_shape)`` float32 in ``[0, 1]``, returns ``(n, n_classes)``
        probabilities.
    """
    if n_classes < 2:
        raise ValueError(f"n_classes must be at least 2, got {n_classes}")
    if not filters:
        raise ValueError("filters needs at least one stage")
    inputs = keras.Input(shape=tuple(input_shape), name="image")
    x = augmentation(inputs) if augmentation is not None else inputs
    for i, n in enumerate(filters[:-1]):
        x = _conv_block(x, n, name=f"stage{i + 1}", batch_norm=batch_norm)
        x = layers.MaxPooling2D(2, name=f"stage{i + 1}_pool")(x)
    x = layers.Conv2D(filters[-1], 3, padding="same", activation="relu", name=LAST_CONV_LAYER)(x)
    if pooling == "max":
        x = layers.GlobalMaxPooling2D(name="global_pool")(x)
    elif pooling == "avg":
        x = layers.GlobalAveragePooling2D(name="global_pool")(x)
    else:
        raise ValueError(f"pooling must be 'avg' or 'max', got {pooling!r}")
    x = layers.Dropout(dropout, name="dropout")(x)
    logits = layers.Dense(n_classes, name=LOGITS_LAYER)(x)
    outputs = layers.Activation("softmax", name="probabilities")(logits)
    model = keras.Model(inputs, outputs, name="small_cnn")
    if compile:
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
