"""Where does the network look? Grad-CAM and occlusion sensitivity.

Grad-CAM (Selvaraju et al., 2017) weights the feature maps of a convolution layer by the
average gradient of a class score with respect to them, keeps the positive part and
upsamples it to the image: a coarse map of the regions that *raise* that class score. It needs
gradients, and Keras 3 has no backend-neutral gradient API, so it is implemented per backend:

- ``tensorflow``: :class:`tf.GradientTape`;
- ``jax``: :func:`jax.grad` of a pure function built with ``keras.Model.stateless_call``;
- ``torch``: not implemented yet (raises :class:`NotImplementedError`).

Occlusion sensitivity (Zeiler & Fergus, 2014) needs no gradient and works with every backend
(and any model that predicts): slide a grey square over the image and record how much the
class probability drops when each region is hidden.

Both return maps in ``[0, 1]`` with the image's height and width; :func:`overlay_saliency`
draws one over the image with the display core (:func:`medinteract.display.rendering`).
"""

from __future__ import annotations

from typing import Sequence

import keras
import numpy as np

__all__ = ["grad_cam", "occlusion_sensitivity", "overlay_saliency", "feature_and_head_models"]


def _images(images: np.ndarray, model: keras.Model) -> np.ndarray:
    x = np.asarray(images, dtype=np.float32)
    if x.ndim == len(model.input_shape) - 1:  # a single image
        x = x[None]
    return x


def _last_conv_layer(model: keras.Model) -> str:
    """Name of the last layer with a 4-D (n, h, w, c) output, i.e. the last feature maps."""
    for layer in reversed(model.layers):
        shape = getattr(layer, "output", None)
        shape = getattr(shape, "shape", None)
        if shape is not None and len(shape) == 4 and not isinstance(layer, keras.layers.InputLayer):
            return layer.name
    raise ValueError(f"model {model.name!r} has no layer with (n, h, w, c) feature maps")


def feature_and_head_models(model: keras.Model, layer_name: str | None = None,
                            score_layer: str | None = None) -> tuple[keras.Model, keras.Model]:
    """Split a functional model at a convolution layer for Grad-CAM.

    Returns ``features`` (image -> feature maps of ``layer_name``) and ``head`` (feature maps ->
    class scores). The class scores are the pre-softmax output of a layer named ``"logits"``
    when the model has one (as :func:`~medinteract.learn.models.small_cnn` does), else the
    model output.
    """
    layer_name = layer_name or _last_conv_layer(model)
    conv = model.get_layer(layer_name)
    names = {layer.name for layer in model.layers}
    if score_layer is None:
        score_layer = "logits" if "logits" in names else None
    last = score_layer or model.layers[-1].name
    features = keras.Model(model.input, conv.output, name=f"{model.name}_features")
    try:
        head_input = keras.Input(shape=tuple(conv.output.shape[1:]), name="feature_maps")
        # Re-apply the layers after ``conv`` to a fresh input (works for a chain of layers,
        # which is what classifiers end with after their last convolution).
        x = head_input
        after = False
        for layer in model.layers:
            if after:
                x = layer(x)
                if layer.name == last:
                    break
            if layer.name == layer_name:
                after = True
        head = keras.Model(head_input, x, name=f"{model.name}_head")
    except Exception as exc:  # noqa: BLE001 - a clear message instead of a deep traceback
        raise ValueError(
            f"cannot split {model.name!r} after layer {layer_name!r}: the layers after it must "
            f"form a simple chain ({exc})") from None
    return features, head


def _cam_from(maps: np.ndarray, grads: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """Grad-CAM maps ``(n, h, w)`` in ``[0, 1]`` from feature maps and their gradients."""
    from skimage.transform import resize

    weights = grads.mean(axis=(1, 2))  # (n, c)
    cams = np.maximum(np.einsum("nhwc,nc->nhw", maps, weights), 0.0)
    out = np.empty((len(cams), *size), dtype=np.float32)
    for i, cam in enumerate(cams):
        up = resize(cam, size, order=1, mode="edge", anti_aliasing=False)
        peak = up.max()
        out[i] = up / peak if peak > 0 else 0.0
    return out


def _gradients_tensorflow(head: keras.Model, maps: np.ndarray, classes: np.ndarray):
    import tensorflow as tf

    a = tf.convert_to_tensor(maps)
    with tf.GradientTape() as tape:
        tape.watch(a)
        scores = head(a, training=False)
        target = tf.reduce_sum(tf.gather(scores, classes, axis=1, batch_dims=1))
    return np.asarray(tape.gradient(target, a))


def _gradients_jax(head: keras.Model, maps: np.ndarray, classes: np.ndarray):
    import jax
    import jax.numpy as jnp

    trainable = [v.value for v in head.trainable_variables]
    non_trainable = [v.value for v in head.non_trainable_variables]
    rows = jnp.arange(len(classes))

    def target(a):
        scores, _ = head.stateless_call(trainable, non_trainable, a, training=False)
        return jnp.sum(scores[rows, jnp.asarray(classes)])

    return np.asarray(jax.grad(target)(jnp.asarray(maps)))


def grad_cam(model: keras.Model, images: np.ndarray, class_index: int | Sequence[int] | None
             = None, *, layer_name: str | None = None) -> np.ndarray:
    """Grad-CAM heat maps of a classifier.

    Parameters
    ----------
    model : keras.Model
        A functional classifier (e.g. :func:`~medinteract.learn.models.small_cnn`).
    images : ndarray
        One image ``(h, w, c)`` or a batch ``(n, h, w, c)``, as fed to the model.
    class_index : int or sequence of int, optional
        The class to explain (one for all images, or one per image); by default each image's
        predicted class.
    layer_name : str, optional
        The convolution layer whose feature maps are weighted; by default the last layer with
        ``(n, h, w, c)`` output (``"last_relu"`` for ``small_cnn``).

    Returns
    -------
    ndarray of float32, shape (n, h, w)
        Maps in ``[0, 1]`` (each divided by its maximum; all zeros when no region raises the
        score).

    Raises
    ------
    NotImplementedError
        For a Keras backend without a Grad-CAM implementation (``torch`` for now): use
        :func:`occlusion_sensitivity`, which works everywhere.
    """
    backend = keras.backend.backend()
    if backend not in ("tensorflow", "jax"):
        raise NotImplementedError(
            f"grad_cam is implemented for the tensorflow and jax Keras backends, not {backend!r}"
            "; use occlusion_sensitivity instead, or set KERAS_BACKEND=tensorflow")
    x = _images(images, model)
    features, head = feature_and_head_models(model, layer_name)
    maps = np.asarray(keras.ops.convert_to_numpy(features(x, training=False)), dtype=np.float32)
    if class_index is None:
        probs = keras.ops.convert_to_numpy(model(x, training=False))
        classes = np.asarray(probs).argmax(1)
    else:
        classes = np.broadcast_to(np.asarray(class_index, dtype=np.int64), (len(x),)).copy()
    gradients = _gradients_tensorflow if backend == "tensorflow" else _gradients_jax
    grads = gradients(head, maps, classes)
    return _cam_from(maps, grads, x.shape[1:3])


def occlusion_sensitivity(model: keras.Model, images: np.ndarray,
                          class_index: int | Sequence[int] | None = None, *, patch: int = 8,
                          stride: int = 4, fill: float | None = None,
                          batch_size: int = 256) -> np.ndarray:
    """Occlusion sensitivity maps: how much the class probability drops when a region is hidden.

    A ``patch`` x ``patch`` square of value ``fill`` slides over each image with step
    ``stride``; each pixel's value is the mean drop in the probability of the class over all
    squares that covered it. Works with any backend and any model that outputs probabilities.

    Parameters
    ----------
    model : keras.Model
        A classifier returning ``(n, k)`` probabilities.
    images : ndarray
        One image ``(h, w, c)`` or a batch ``(n, h, w, c)``.
    class_index : int or sequence of int, optional
        Class to explain; by default each image's predicted class.
    patch, stride : int, optional
        Size and step of the occluding square in pixels.
    fill : float, optional
        Value of the occluding square; by default each image's median (for a lung patch:
        parenchyma, so hiding a nodule means replacing it by lung).
    batch_size : int, optional
        Occluded copies predicted at once.

    Returns
    -------
    ndarray of float32, shape (n, h, w)
        Probability drops clipped at 0 and divided by each map's maximum (so in ``[0, 1]``).
    """
    if patch < 1 or stride < 1:
        raise ValueError(f"patch and stride must be positive, got {patch}, {stride}")
    x = _images(images, model)
    n, h, w = x.shape[:3]
    if patch > min(h, w):
        raise ValueError(f"patch {patch} is larger than the image ({h}x{w})")
    base = np.asarray(model.predict(x, verbose=0, batch_size=batch_size))
    classes = (base.argmax(1) if class_index is None else
               np.broadcast_to(np.asarray(class_index, dtype=np.int64), (n,)).copy())
    ys = list(range(0, h - patch + 1, stride))
    xs = list(range(0, w - patch + 1, stride))
    if ys[-1] != h - patch:
        ys.append(h - patch)
    if xs[-1] != w - patch:
        xs.append(w - patch)
    positions = [(r, c) for r in ys for c in xs]
    out = np.zeros((n, h, w), dtype=np.float32)
    for i in range(n):
        value = float(np.median(x[i])) if fill is None else float(fill)
        copies = np.repeat(x[i][None], len(positions), axis=0)
        for k, (r, c) in enumerate(positions):
            copies[k, r:r + patch, c:c + patch] = value
        probs = np.asarray(model.predict(copies, verbose=0, batch_size=batch_size))
        drop = base[i, classes[i]] - probs[:, classes[i]]
        total = np.zeros((h, w), dtype=np.float64)
        count = np.zeros((h, w), dtype=np.float64)
        for d, (r, c) in zip(drop, positions):
            total[r:r + patch, c:c + patch] += d
            count[r:r + patch, c:c + patch] += 1
        sal = np.maximum(total / np.maximum(count, 1), 0.0)
        peak = sal.max()
        out[i] = sal / peak if peak > 0 else 0.0
    return out


def overlay_saliency(image: np.ndarray, saliency: np.ndarray, *, mask: np.ndarray | None = None,
                     opacity: float = 0.5, cmap: str = "inferno") -> np.ndarray:
    """Blend a saliency map over a ``[0, 1]`` image (RGB uint8), optionally outlining a mask.

    Uses the display core: the image is rendered in grey (:func:`medinteract.display.rendering`),
    the map with ``cmap``, and a ground-truth ``mask`` (e.g. the nodule) is drawn as a contour.

    Parameters
    ----------
    image : ndarray, shape (h, w) or (h, w, 1)
        Network input in ``[0, 1]``.
    saliency : ndarray, shape (h, w)
        Map in ``[0, 1]`` (from :func:`grad_cam` or :func:`occlusion_sensitivity`).
    mask : ndarray, optional
        Ground-truth mask outlined on top.
    opacity : float, optional
        Largest opacity of the map (reached where saliency is 1).
    cmap : str, optional
        Colormap of the map (one of :data:`medinteract.display.COLORMAPS`).

    Returns
    -------
    ndarray of uint8, shape (h, w, 3)
    """
    from medinteract.display import overlay_labels, render

    grey = np.squeeze(np.asarray(image, dtype=np.float32))
    sal = np.clip(np.squeeze(np.asarray(saliency, dtype=np.float32)), 0, 1)
    if grey.shape != sal.shape:
        raise ValueError(f"image {grey.shape} and saliency {sal.shape} differ in shape")
    base = render(grey, (0.5, 1.0)).astype(np.float32)
    heat = render(sal, (0.5, 1.0), cmap=cmap).astype(np.float32)
    alpha = (opacity * sal)[..., None]
    rgb = np.round(base * (1 - alpha) + heat * alpha).astype(np.uint8)
    if mask is not None:
        labels = (np.squeeze(np.asarray(mask)) != 0).astype(np.uint8)
        rgb = overlay_labels(rgb, labels, contour=True)
    return rgb
