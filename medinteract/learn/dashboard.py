"""A live training dashboard: a Keras callback that drives an ipywidgets panel.

>>> dash = TrainingDashboard(sample=(data.x_val, data.y_val))      # doctest: +SKIP
>>> model.fit(x, y, validation_data=..., epochs=10, callbacks=[dash])  # doctest: +SKIP

The panel shows a progress bar with an ETA, a Stop button, loss and metric curves for training
and validation, and the model's predictions on a fixed validation sample. It is designed to
cost next to nothing per batch:

- the progress bar and status line are updated at most every ``update_interval`` seconds
  (0.2 s by default), never once per batch;
- curves and predictions are drawn once per epoch, with matplotlib's Agg canvas straight to a
  PNG that goes into an :class:`ipywidgets.Image` (no pyplot, no figure re-display);
- without a frontend (a script, a test, nbclient) the widgets are plain objects and nothing is
  sent anywhere.

Stop while training runs
------------------------
``model.fit`` keeps the kernel's main thread busy for the whole cell, so a click on Stop in the
browser waits in the kernel's queue behind the running cell (JupyterLab sends widget messages on
a subshell, but ipykernel routes them back to the main shell that last updated the widget). The
dashboard therefore gives those messages a turn between batches (at most every 50 ms), with
:class:`medinteract._kernel_comms.PendingComms`: widget (comm) messages are dispatched on the
main thread at once, exactly as ipykernel dispatches them while an ``async`` cell awaits, and
every other message (the next cells of a "Run All") is handed back to the kernel untouched and
runs after this cell, never re-entrantly. This was chosen over ``jupyter-ui-poll`` (it relies on
``Kernel.do_one_iteration``, gone since ipykernel 7.1, and silently does nothing there) and over
training on a worker thread (``model.fit`` is the user's call, and widgets would then be updated
from a thread other than the kernel's main thread). Without a kernel, or with ipykernel < 7.4,
nothing is polled and the dashboard works as before.

A click, on whatever thread the kernel handles it, only records the request and sets
``model.stop_training``; Keras checks it after every batch, so training ends cleanly after the
current batch (that partial epoch is still validated and kept in the history). The dashboard
says so on the main thread ("stopping after ..." at once, "stopped by user after epoch E, batch
B" at the end), and the button is enabled again when the next ``fit`` starts.

When the panel was displayed in a notebook, training end replaces it with a bundle that also
holds a static PNG summary and a text summary, so a saved notebook (or a viewer without widget
support) still shows the curves. The status line and the caption wrap at the notebook's width.
"""

from __future__ import annotations

import html
import io
import time
from typing import Any, Sequence

import ipywidgets as widgets
import keras
import numpy as np

from medinteract._kernel_comms import PendingComms
from medinteract.learn.evaluate import _as_2d

__all__ = ["TrainingDashboard"]

#: Least time in seconds between two looks at the widget messages waiting for the kernel.
POLL_INTERVAL_S = 0.05


def _format_seconds(seconds: float) -> str:
    seconds = max(0, int(round(seconds)))
    minutes, secs = divmod(seconds, 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"


def _text(text: str) -> str:
    """Plain text for an :class:`ipywidgets.HTML` (which wraps, unlike a Label)."""
    return html.escape(text, quote=False)


def _figure_png(fig: Any) -> bytes:
    """PNG bytes of a matplotlib Figure rendered with the Agg canvas (no pyplot)."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    canvas = FigureCanvasAgg(fig)
    buffer = io.BytesIO()
    canvas.print_png(buffer)
    return buffer.getvalue()


def render_curves(history: dict[str, list[float]], *, title: str = "",
                  size: tuple[float, float] = (7.0, 2.6), dpi: int = 80) -> bytes:
    """Draw loss and metric curves (training solid, validation dashed) as PNG bytes.

    Parameters
    ----------
    history : dict of str to list of float
        Per-epoch values as in ``keras.callbacks.History.history`` (``loss``, ``val_loss``,
        ``accuracy``, ``val_accuracy``, ...).
    title : str, optional
        Figure title.
    size, dpi : optional
        Figure size in inches and resolution.
    """
    from matplotlib.figure import Figure
    from matplotlib.ticker import MaxNLocator

    names = [k for k in history if not k.startswith("val_") and k != "learning_rate"]
    metrics = [k for k in names if k != "loss"]
    panels = ["loss"] + ([metrics[0]] if metrics else [])
    fig = Figure(figsize=size, dpi=dpi)
    fig.subplots_adjust(left=0.08, right=0.98, bottom=0.18, top=0.8 if title else 0.88,
                        wspace=0.25)
    axes = fig.subplots(1, len(panels), squeeze=False)[0]
    for ax, name in zip(axes, panels):
        for key, style, label in ((name, "-", "train"), (f"val_{name}", "--", "validation")):
            values = history.get(key, [])
            if values:
                epochs = np.arange(1, len(values) + 1)
                ax.plot(epochs, values, style, marker="o", markersize=3, label=label)
        ax.set_xlabel("epoch")
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.set_title(name)
        ax.grid(alpha=0.3)
        if history.get(name) or history.get(f"val_{name}"):
            ax.legend(fontsize="small")
    if title:
        fig.suptitle(title, fontsize="medium")
    return _figure_png(fig)


_RIGHT, _WRONG, _NEUTRAL = (40, 160, 60), (210, 40, 40), (128, 128, 128)


def _tile(image: np.ndarray, size: int) -> np.ndarray:
    """A ``size`` x ``size`` uint8 RGB tile of a ``[0, 1]`` image (nearest-neighbour)."""
    from medinteract.display.encode import resize_nearest

    grey = np.round(_as_2d(image) * 255).astype(np.uint8)
    if grey.ndim == 2:
        grey = np.repeat(grey[..., None], 3, axis=2)
    return resize_nearest(grey[..., :3], size, size)


def render_predictions(x: np.ndarray, y: np.ndarray | None, prediction: np.ndarray, *,
                       tile: int = 64, border: int = 3) -> bytes:
    """A strip of sample images with the model's output, as PNG bytes (no matplotlib).

    For classifier outputs ``(n, k)`` each image gets a frame, green when the predicted class
    is right and red when wrong (grey without labels), and a bar under it whose length is the
    probability of the predicted class. Image outputs (segmentation, denoising) are shown in a
    second row under their inputs.
    """
    from medinteract.display.encode import encode_png

    n = len(x)
    image_output = prediction.ndim >= 3
    cell = tile + 2 * border
    bar = 0 if image_output else 6
    rows = 2 if image_output else 1
    canvas = np.full((rows * cell + bar, n * cell, 3), 255, dtype=np.uint8)
    for i in range(n):
        c0 = i * cell
        colour = _NEUTRAL
        if not image_output:
            k = int(np.argmax(prediction[i]))
            if y is not None and np.ndim(y[i]) == 0:
                colour = _RIGHT if k == int(y[i]) else _WRONG
            length = int(round(float(prediction[i][k]) * (cell - 2)))
            canvas[cell + 1:cell + bar - 1, c0 + 1:c0 + 1 + length] = colour
        canvas[:cell, c0:c0 + cell] = colour
        canvas[border:border + tile, c0 + border:c0 + border + tile] = _tile(x[i], tile)
        if image_output:
            canvas[cell + border:cell + border + tile, c0 + border:c0 + border + tile] = \
                _tile(prediction[i], tile)
    return encode_png(canvas)


def prediction_caption(y: np.ndarray | None, prediction: np.ndarray,
                       class_names: Sequence[str] | None = None) -> str:
    """One line per sample: predicted class and probability, and the true class."""
    if prediction.ndim >= 3:
        return "top: input, bottom: model output"
    parts = []
    for i, p in enumerate(prediction):
        k = int(np.argmax(p))
        name = class_names[k] if class_names is not None and k < len(class_names) else str(k)
        mark = ""
        if y is not None and np.ndim(y[i]) == 0:
            mark = " ✓" if k == int(y[i]) else " ✗"
        parts.append(f"{name} {float(p[k]):.2f}{mark}")
    return " | ".join(parts)


def _pick_sample(x: np.ndarray, y: np.ndarray | None, n: int, seed: int = 0):
    """A fixed sample of ``n`` items, balanced over classes when ``y`` holds class indices."""
    rng = np.random.default_rng(seed)
    if y is not None and np.ndim(y) == 1:
        # deal the classes out in turn: a0 b0 a1 b1 ... (each class in random order)
        per_class = [rng.permutation(np.flatnonzero(y == c)) for c in np.unique(y)]
        width = max(len(idx) for idx in per_class)
        padded = np.full((len(per_class), width), -1)
        for row, idx in zip(padded, per_class):
            row[:len(idx)] = idx
        dealt = padded.T.ravel()
        order = dealt[dealt >= 0][:n]
    else:
        order = np.sort(rng.permutation(len(x))[:n])
    return x[order], (None if y is None else y[order])


class TrainingDashboard(keras.callbacks.Callback):
    """Keras callback showing training live in an ipywidgets panel.

    Parameters
    ----------
    sample : (x, y) or ndarray, optional
        Validation images (and labels) from which a fixed sample of ``n_samples`` is drawn
        once (balanced over classes) and predicted at the end of every epoch.
    n_samples : int, optional
        How many sample predictions to show.
    class_names : sequence of str, optional
        Names of the classes for the prediction titles.
    update_interval : float, optional
        Least time in seconds between two progress bar updates.
    display : bool, optional
        Display the panel when training starts. By default it is displayed only inside a
        Jupyter kernel (never in scripts or tests).

    Attributes
    ----------
    widget : ipywidgets.VBox
        The panel.
    stop_button : ipywidgets.Button
        Ends training after the current batch; enabled while a ``fit`` runs.
    progress : ipywidgets.IntProgress
        Batches done out of all batches of the ``fit`` call.
    status : ipywidgets.HTML
        Epoch, batch, latest loss and ETA (plain text that wraps at the notebook's width).
    curves, predictions : ipywidgets.Image
        PNG images redrawn at the end of every epoch (predictions: frame green when right,
        red when wrong, bar length = probability of the predicted class).
    caption : ipywidgets.HTML
        The predicted class and probability of each sample, in words.
    history : dict of str to list of float
        Per-epoch logs across all ``fit`` calls made with this dashboard.
    stop_requested : bool
        True once Stop was clicked during the current ``fit``.
    stopped_at : tuple of (int, int) or None
        ``(epoch, batch)`` (both from 1) after which the Stop button ended training.
    """

    def __init__(
        self,
        sample: tuple[np.ndarray, np.ndarray] | np.ndarray | None = None,
        *,
        n_samples: int = 8,
        class_names: Sequence[str] | None = None,
        update_interval: float = 0.2,
        display: bool | None = None,
    ) -> None:
        super().__init__()
        if isinstance(sample, tuple):
            x, y = sample
            self.sample_x, self.sample_y = _pick_sample(np.asarray(x), np.asarray(y), n_samples)
        elif sample is not None:
            self.sample_x, self.sample_y = _pick_sample(np.asarray(sample), None, n_samples)
        else:
            self.sample_x = self.sample_y = None
        self.class_names = tuple(class_names) if class_names is not None else None
        self.update_interval = float(update_interval)
        self._display = display
        self._handle: Any = None
        self.history: dict[str, list[float]] = {}
        self.stopped_at: tuple[int, int] | None = None
        self.stop_requested = False
        self._training = False
        self._stop_shown = False
        self._comms: PendingComms | None = None
        self._last_poll = 0.0
        self._epoch = 0
        self._epochs = 0
        self._steps = 0
        self._step_in_epoch = 0
        self._done = 0
        self._start = 0.0
        self._last_update = 0.0
        self._last_loss: float | None = None

        self.progress = widgets.IntProgress(value=0, min=0, max=1, description="Training",
                                            layout=widgets.Layout(width="320px"))
        self.stop_button = widgets.Button(description="Stop", icon="stop", button_style="danger",
                                          tooltip="End training after the current batch",
                                          disabled=True)
        self.stop_button.on_click(self._on_stop)
        self.status = widgets.HTML(value=_text("waiting for model.fit"))
        # images stay hidden until they have something to show (no broken-image icons)
        self.curves = widgets.Image(format="png", layout=widgets.Layout(max_width="560px",
                                                                        display="none"))
        self.predictions = widgets.Image(format="png", layout=widgets.Layout(max_width="100%",
                                                                             display="none"))
        self.caption = widgets.HTML(value="")
        self.widget = widgets.VBox([
            widgets.HBox([self.progress, self.stop_button],
                         layout=widgets.Layout(flex_flow="row wrap", align_items="center")),
            self.status,
            self.curves,
            self.predictions,
            self.caption,
        ], layout=widgets.Layout(max_width="100%"))
        self.widget.add_class("mi-dashboard")  # CSS classes: how a browser test finds them
        for name in ("progress", "stop_button", "status", "caption"):
            getattr(self, name).add_class(f"mi-dashboard-{name.replace('_', '-')}")

    # -- the Stop button ---------------------------------------------------------------------
    def _on_stop(self, _button: widgets.Button | None = None) -> None:
        """Record a Stop click. Runs on whatever thread the kernel handles the click on."""
        if not self._training:  # a click that arrives after training ended
            return
        self.stop_requested = True
        if self.model is not None:
            self.model.stop_training = True  # Keras reads it after the current batch

    def _handle_widget_messages(self, now: float) -> None:
        """Let waiting widget messages (a Stop click) through, then show a Stop request."""
        if self._comms is not None and now - self._last_poll >= POLL_INTERVAL_S:
            self._last_poll = now
            self._comms.poll()
        if self.stop_requested and not self._stop_shown:
            self._stop_shown = True
            self.stop_button.disabled = True
            self.stop_button.description = "Stopping"
            self.status.value = _text(f"stopping after epoch {self._epoch + 1}, batch "
                                      f"{self._step_in_epoch}{self._of_steps()}")

    # -- Keras hooks -------------------------------------------------------------------------
    def on_train_begin(self, logs: dict | None = None) -> None:
        self._epochs = int(self.params.get("epochs") or 1)
        self._steps = int(self.params.get("steps") or 0)
        self.progress.max = max(1, self._epochs * max(self._steps, 1))
        self.progress.value = 0
        self.progress.bar_style = ""
        self._done = 0
        self._epoch = self._step_in_epoch = 0
        self.stop_requested = False
        self._stop_shown = False
        self.stopped_at = None
        self._comms = PendingComms.for_running_cell()
        self._last_poll = 0.0
        self._training = True
        self.stop_button.description = "Stop"
        self.stop_button.disabled = False
        self._start = time.monotonic()
        self._last_update = 0.0
        self.status.value = _text("starting (the first batch includes compilation)")
        if self._should_display():
            from IPython.display import display

            self._handle = display(self.widget, display_id=True)

    def on_epoch_begin(self, epoch: int, logs: dict | None = None) -> None:
        self._epoch = epoch
        self._step_in_epoch = 0

    def on_train_batch_end(self, batch: int, logs: dict | None = None) -> None:
        self._step_in_epoch = batch + 1
        self._done += 1
        if logs and "loss" in logs:
            self._last_loss = logs["loss"]
        now = time.monotonic()
        if now - self._last_update >= self.update_interval and not self.stop_requested:
            self._last_update = now
            self._update_progress(now)
        self._handle_widget_messages(now)

    def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
        for key, value in (logs or {}).items():
            self.history.setdefault(key, []).append(float(value))
        if self.stop_requested and self._steps:
            # the epoch ended early: count the batches it will never run as done
            self._done = (epoch + 1) * self._steps
        self.progress.value = min(self._done, self.progress.max)
        if not self.stop_requested:
            self._update_progress(time.monotonic())
        self.curves.value = render_curves(self.history)
        self.curves.layout.display = None
        if self.sample_x is not None:
            prediction = keras.ops.convert_to_numpy(self.model.predict_on_batch(self.sample_x))
            prediction = np.asarray(prediction)
            self.predictions.value = render_predictions(self.sample_x, self.sample_y,
                                                        prediction)
            self.predictions.layout.display = None
            self.caption.value = _text(prediction_caption(self.sample_y, prediction,
                                                          self.class_names))
        self._handle_widget_messages(time.monotonic())

    def on_train_end(self, logs: dict | None = None) -> None:
        self._training = False
        self._comms = None
        self.stop_button.disabled = True
        elapsed = time.monotonic() - self._start
        if self.stop_requested:
            self.stopped_at = (self._epoch + 1, self._step_in_epoch)
            self.progress.bar_style = "warning"
            self.stop_button.description = "Stopped"
            epoch, batch = self.stopped_at
            self.status.value = _text(f"stopped by user after epoch {epoch}, batch "
                                      f"{batch}{self._of_steps()} ({_format_seconds(elapsed)})")
        else:
            self.stop_button.description = "Stop"
            self.progress.value = self.progress.max
            self.progress.bar_style = "success"
            self.status.value = _text(f"done: {self._summary_line()} "
                                      f"({_format_seconds(elapsed)})")
        self.curves.value = render_curves(self.history, title=self._summary_line())
        self.curves.layout.display = None
        if self._handle is not None:
            self._handle.update(self)

    # -- display -----------------------------------------------------------------------------
    def _should_display(self) -> bool:
        if self._display is not None:
            return self._display
        try:
            from IPython import get_ipython
        except ImportError:  # pragma: no cover
            return False
        shell = get_ipython()
        return shell is not None and hasattr(shell, "kernel")

    def _of_steps(self) -> str:
        return f"/{self._steps}" if self._steps else ""

    def _update_progress(self, now: float) -> None:
        self.progress.value = min(self._done, self.progress.max)
        rate = (now - self._start) / max(self._done, 1)
        remaining = rate * (self.progress.max - self._done)
        loss = f", loss {self._last_loss:.4f}" if self._last_loss is not None else ""
        self.status.value = _text(f"epoch {self._epoch + 1}/{self._epochs}, batch "
                                  f"{self._step_in_epoch}{self._of_steps()}{loss}, ETA "
                                  f"{_format_seconds(remaining)}")

    def _summary_line(self) -> str:
        n = len(next(iter(self.history.values()), []))
        parts = [f"{n} epoch{'s' if n != 1 else ''}"]
        for key, values in self.history.items():
            if values and key != "learning_rate":
                parts.append(f"{key} {values[-1]:.4f}")
        if self.stopped_at is not None:
            parts.append("stopped by user")
        return ", ".join(parts)

    def summary_png(self) -> bytes:
        """The curves (and the last predictions, if any) as one static PNG."""
        return render_curves(self.history, title=self._summary_line())

    def _repr_mimebundle_(self, **kwargs: Any) -> dict[str, Any]:
        bundle = dict(self.widget._repr_mimebundle_(**kwargs) or {})
        bundle["text/plain"] = f"TrainingDashboard: {self._summary_line()}"
        if self.history:
            bundle["image/png"] = self.summary_png()
        return bundle
