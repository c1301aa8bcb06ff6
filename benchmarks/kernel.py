"""Talk to a real IPython kernel the way JupyterLab does, and time what comes back.

:class:`BenchKernel` starts the venv's ``python3`` kernel with ``jupyter_client``, runs setup
code, and then plays the browser's part: :meth:`BenchKernel.change_widget` sends the ipywidgets
comm message a slider sends when the user moves it (``{"method": "update", "state": {...}}``
to the slider's comm id) and times the kernel's answer on the IOPub channel: the first image
message, the kernel going idle, and every image message that followed (renders per change).

An *image message* is an IOPub message that carries pixels: a ``comm_msg`` with a binary
buffer of at least :data:`MIN_IMAGE_BYTES` (an ``ipywidgets.Image`` value, an ipycanvas
``putImageData``), or a ``display_data`` / ``update_display_data`` with an ``image/*`` entry
(a matplotlib figure shown in an ``Output``).
"""

from __future__ import annotations

import base64
import os
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from jupyter_client.manager import KernelManager

MIN_IMAGE_BYTES = 1024
STRAGGLER_WINDOW_S = 0.15  # after idle, wait this long for renders scheduled after the handler
MESSAGE_TIMEOUT_S = 120.0


class KernelError(RuntimeError):
    """Setup code raised in the benchmark kernel."""


@dataclass(frozen=True)
class Change:
    """What one simulated slider change cost."""

    first_image_ms: float | None
    last_image_ms: float | None
    idle_ms: float
    renders: int
    payload_bytes: int
    encoding: str


@dataclass(frozen=True)
class ImagePayload:
    """Pixels found in one IOPub message."""

    n_bytes: int
    encoding: str


def image_encoding(data: bytes) -> str:
    """Name the image format of ``data`` from its first bytes."""
    if data[:8] == b"\x89PNG\r\n\x1a\n":
        return "PNG"
    if data[:3] == b"\xff\xd8\xff":
        return "JPEG"
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "WebP"
    return "raw"


def image_payload(message: dict[str, Any]) -> ImagePayload | None:
    """Return the pixels an IOPub message carries, or None if it carries none."""
    kind = message["header"]["msg_type"]
    if kind == "comm_msg":
        buffers = [bytes(buffer) for buffer in message.get("buffers") or []]
        images = [buffer for buffer in buffers if len(buffer) >= MIN_IMAGE_BYTES]
        if not images:
            return None
        encodings = sorted({image_encoding(buffer) for buffer in images})
        return ImagePayload(sum(len(buffer) for buffer in images), "+".join(encodings))
    if kind in ("display_data", "update_display_data"):
        data = message["content"].get("data", {})
        for mime in ("image/png", "image/jpeg", "image/webp"):
            if mime in data:
                raw = base64.b64decode(data[mime])
                return ImagePayload(len(raw), image_encoding(raw))
    return None


class BenchKernel:
    """A real kernel from this venv, driven like a browser drives it."""

    def __init__(self, *, kernel_name: str = "python3") -> None:
        self._workdir = tempfile.TemporaryDirectory(prefix="medinteract-bench-")
        env = dict(os.environ)
        env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
        env["MPLBACKEND"] = "module://matplotlib_inline.backend_inline"
        env["PYDEVD_DISABLE_FILE_VALIDATION"] = "1"
        self.manager = KernelManager(kernel_name=kernel_name)
        self.manager.start_kernel(cwd=self._workdir.name, env=env)
        self.client = self.manager.blocking_client()
        self.client.start_channels()
        self.client.wait_for_ready(timeout=120)
        self._pid: int | None = None

    @property
    def pid(self) -> int:
        """Process id of the kernel (asked of the kernel itself)."""
        if self._pid is None:
            self._pid = int(self.evaluate("__import__('os').getpid()"))
        return self._pid

    def cpu_seconds(self) -> float:
        """CPU time (user + system, all threads) the kernel process has used so far.

        Unlike wall time, this hardly changes when other processes compete for the cores,
        so it is the figure to compare on a busy machine.
        """
        fields = Path(f"/proc/{self.pid}/stat").read_text().rsplit(")", 1)[1].split()
        user_ticks, system_ticks = int(fields[11]), int(fields[12])
        return (user_ticks + system_ticks) / os.sysconf("SC_CLK_TCK")

    def close(self) -> None:
        """Shut the kernel down and remove its working folder."""
        self.client.stop_channels()
        self.manager.shutdown_kernel(now=True)
        self._workdir.cleanup()

    def __enter__(self) -> BenchKernel:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- code ----------------------------------------------------------------------------
    def execute(self, code: str, *, timeout_s: float = 600.0) -> None:
        """Run ``code``; raise :class:`KernelError` with the traceback if it fails."""
        msg_id = self.client.execute(code, store_history=False)
        reply = self.client.get_shell_msg(timeout=timeout_s)
        while reply["parent_header"].get("msg_id") != msg_id:
            reply = self.client.get_shell_msg(timeout=timeout_s)
        self._wait_idle(msg_id, timeout_s)
        content = reply["content"]
        if content["status"] != "ok":
            traceback = "\n".join(content.get("traceback", []))
            raise KernelError(f"{content.get('ename')}: {content.get('evalue')}\n{traceback}")

    def evaluate(self, expression: str) -> str:
        """Return ``repr(eval(expression))`` in the kernel's namespace, as text."""
        msg_id = self.client.execute(
            "", silent=True, store_history=False, user_expressions={"value": expression}
        )
        reply = self.client.get_shell_msg(timeout=MESSAGE_TIMEOUT_S)
        while reply["parent_header"].get("msg_id") != msg_id:
            reply = self.client.get_shell_msg(timeout=MESSAGE_TIMEOUT_S)
        result = reply["content"]["user_expressions"]["value"]
        if result["status"] != "ok":
            raise KernelError(f"{expression}: {result.get('ename')}: {result.get('evalue')}")
        return str(result["data"]["text/plain"])

    def _wait_idle(self, msg_id: str, timeout_s: float) -> None:
        deadline = time.monotonic() + timeout_s
        while True:
            message = self.client.get_iopub_msg(timeout=max(0.01, deadline - time.monotonic()))
            if (
                message["header"]["msg_type"] == "status"
                and message["parent_header"].get("msg_id") == msg_id
                and message["content"]["execution_state"] == "idle"
            ):
                return

    def drain_iopub(self, quiet_s: float = 0.2) -> None:
        """Read and drop IOPub messages until none arrives for ``quiet_s`` seconds."""
        while True:
            try:
                self.client.get_iopub_msg(timeout=quiet_s)
            except Exception:  # noqa: BLE001 - queue.Empty: it is quiet
                return

    # -- widgets -------------------------------------------------------------------------
    def change_widget(self, comm_id: str, state: dict[str, Any], *,
                      settle_s: float = STRAGGLER_WINDOW_S) -> Change:
        """Send the comm ``update`` a browser sends for a changed widget; time the answer.

        Returns the times to the first and the last image message (None if no image came),
        the time until the kernel was idle again, and the number and size of the image
        messages that arrived until ``settle_s`` seconds after idle (longer for widgets whose
        results come from a background thread after the kernel is idle).
        """
        content = {
            "comm_id": comm_id,
            "data": {"method": "update", "state": state, "buffer_paths": []},
        }
        message = self.client.session.msg("comm_msg", content)
        msg_id = message["header"]["msg_id"]
        started = time.perf_counter()
        self.client.shell_channel.send(message)
        first_image: float | None = None
        last_image: float | None = None
        idle: float | None = None
        renders = 0
        payload = 0
        encodings: set[str] = set()
        deadline = started + MESSAGE_TIMEOUT_S
        while True:
            now = time.perf_counter()
            if idle is not None:
                remaining = idle + settle_s - now
            else:
                remaining = deadline - now
            if remaining <= 0:
                if idle is None:
                    raise TimeoutError(f"no idle after {MESSAGE_TIMEOUT_S} s for {state}")
                break
            try:
                iopub = self.client.get_iopub_msg(timeout=remaining)
            except Exception:  # noqa: BLE001 - queue.Empty: the window closed
                continue
            arrived = time.perf_counter()
            found = image_payload(iopub)
            if found is not None:
                renders += 1
                payload += found.n_bytes
                encodings.add(found.encoding)
                if first_image is None:
                    first_image = arrived
                last_image = arrived
            elif (
                iopub["header"]["msg_type"] == "status"
                and iopub["parent_header"].get("msg_id") == msg_id
                and iopub["content"]["execution_state"] == "idle"
            ):
                idle = arrived
        return Change(
            first_image_ms=None if first_image is None else (first_image - started) * 1000,
            last_image_ms=None if last_image is None else (last_image - started) * 1000,
            idle_ms=(idle - started) * 1000,
            renders=renders,
            payload_bytes=payload,
            encoding="+".join(sorted(encodings)) or "-",
        )
