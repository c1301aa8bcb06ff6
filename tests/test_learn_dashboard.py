"""The training dashboard: Stop button, curves, progress, static summary; no frontend needed."""

from __future__ import annotations

import keras
import numpy as np
import pytest

from medinteract.learn.dashboard import TrainingDashboard
from medinteract.learn.models import small_cnn

PNG = b"\x89PNG\r\n\x1a\n"
# every test trains a (tiny) model: a few seconds each on an idle 2-core machine
pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def data():
    rng = np.random.default_rng(0)
    x = rng.random((96, 32, 32, 1), dtype=np.float32)
    y = (x[:, 12:20, 12:20, 0].mean((1, 2)) > 0.5).astype(int)
    return x, y


def _model():
    keras.utils.set_random_seed(0)
    return small_cnn((32, 32, 1), 2, filters=(4, 8))


class ClickStopAt(keras.callbacks.Callback):
    """Presses the dashboard's Stop button from inside a batch, as a user would."""

    def __init__(self, dashboard: TrainingDashboard, epoch: int, batch: int):
        super().__init__()
        self.dashboard, self.at = dashboard, (epoch, batch)
        self.batches: list[tuple[int, int]] = []

    def on_epoch_begin(self, epoch, logs=None):
        self.epoch = epoch

    def on_train_batch_end(self, batch, logs=None):
        self.batches.append((self.epoch, batch))
        if (self.epoch, batch) == self.at:
            self.dashboard.stop_button.click()


def test_stop_button_ends_training_after_the_current_batch(data):
    x, y = data
    dash = TrainingDashboard((x[:16], y[:16]), class_names=["a", "b"])
    clicker = ClickStopAt(dash, epoch=1, batch=2)
    model = _model()
    history = model.fit(x, y, validation_data=(x[:16], y[:16]), batch_size=16, epochs=5,
                        verbose=0, callbacks=[dash, clicker])
    # 6 batches per epoch: all of epoch 0, then batches 0, 1, 2 of epoch 1, then nothing
    assert clicker.batches == [(0, b) for b in range(6)] + [(1, 0), (1, 1), (1, 2)]
    assert dash.stopped_at == (2, 3)
    # the history is intact: both (partial) epochs are recorded, with validation
    assert len(history.history["loss"]) == 2
    assert len(history.history["val_loss"]) == 2
    assert dash.history["loss"] == pytest.approx(history.history["loss"])
    assert dash.stop_button.disabled and "stopped" in dash.status.value
    assert dash.progress.bar_style == "warning"
    assert "stopped by user" in dash._repr_mimebundle_()["text/plain"]


def test_a_new_fit_after_stop_runs_normally(data):
    x, y = data
    dash = TrainingDashboard()
    model = _model()
    model.fit(x, y, batch_size=32, epochs=3, verbose=0,
              callbacks=[dash, ClickStopAt(dash, epoch=0, batch=0)])
    history = model.fit(x, y, batch_size=32, epochs=2, verbose=0, callbacks=[dash])
    assert len(history.history["loss"]) == 2
    assert dash.stopped_at is None and dash.progress.value == dash.progress.max == 2 * 3
    assert dash.progress.bar_style == "success"
    assert len(dash.history["loss"]) == 3  # 1 stopped epoch + 2


def test_dashboard_draws_curves_and_predictions_once_per_epoch(data):
    x, y = data
    dash = TrainingDashboard((x, y), n_samples=6, class_names=["dark", "bright"])
    drawn: list[bytes] = []  # ipywidgets keeps images as memoryview
    dash.curves.observe(lambda change: drawn.append(bytes(change["new"])), "value")
    model = _model()
    model.fit(x, y, validation_data=(x[:32], y[:32]), batch_size=16, epochs=3, verbose=0,
              callbacks=[dash])
    assert len(drawn) == 3 + 1  # one per epoch, and the titled summary at the end
    assert all(png.startswith(PNG) for png in drawn)
    assert bytes(dash.predictions.value).startswith(PNG)
    assert sorted(dash.history) == ["accuracy", "loss", "val_accuracy", "val_loss"]
    assert len(dash.sample_x) == 6 and set(dash.sample_y) == {0, 1}  # balanced sample
    assert dash.caption.value.count("|") == 5
    bundle = dash._repr_mimebundle_()
    assert bundle["image/png"].startswith(PNG)
    assert "application/vnd.jupyter.widget-view+json" in bundle
    assert "3 epochs" in bundle["text/plain"] and "val_accuracy" in bundle["text/plain"]
    assert dash.status.value.startswith("done")


def test_progress_updates_are_throttled(data):
    x, y = data
    dash = TrainingDashboard(update_interval=3600.0)
    values: list[int] = []
    dash.progress.observe(lambda change: values.append(change["new"]), "value")
    model = _model()
    model.fit(x, y, batch_size=8, epochs=2, verbose=0, callbacks=[dash])
    # 24 batches, but the bar moved only at the first batch, at epoch ends and at the end
    assert len(values) <= 4 and values[-1] == 24


def test_image_outputs_are_shown_under_their_inputs(data):
    from medinteract.learn.models import denoising_autoencoder

    x, _ = data
    keras.utils.set_random_seed(0)
    model = denoising_autoencoder((32, 32, 1), filters=(4, 8))
    dash = TrainingDashboard(x[:4])
    model.fit(x, x, batch_size=32, epochs=1, verbose=0, callbacks=[dash])
    assert bytes(dash.predictions.value).startswith(PNG)
    assert "mae" in dash.history


def test_without_a_kernel_nothing_is_polled_and_a_late_click_is_ignored(data):
    from medinteract._kernel_comms import PendingComms

    assert PendingComms.for_running_cell() is None  # pytest: no kernel, nothing to poll
    x, y = data
    dash = TrainingDashboard()
    assert dash.curves.layout.display == "none"  # no broken-image icon before the first epoch
    assert dash.predictions.layout.display == "none"  # nor ever, without a sample
    _model().fit(x, y, batch_size=48, epochs=1, verbose=0, callbacks=[dash])
    assert dash._comms is None and dash.curves.layout.display is None
    assert dash.predictions.layout.display == "none"
    dash.stop_button.click()  # a click that arrives after training ended changes nothing
    assert not dash.stop_requested and dash.stop_button.description == "Stop"
    assert dash.status.value.startswith("done")


def test_status_and_caption_are_html_that_wraps(data):
    x, y = data
    dash = TrainingDashboard((x, y), n_samples=2, class_names=["<dark>", "bright"])
    _model().fit(x, y, batch_size=48, epochs=1, verbose=0, callbacks=[dash])
    assert dash.widget.children[1] is dash.status  # on its own line, under progress and Stop
    assert "&lt;dark&gt;" in dash.caption.value or "bright" in dash.caption.value
    assert "<dark>" not in dash.caption.value
