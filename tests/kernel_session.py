"""A real IPython kernel, started as a front end starts it and spoken to as a browser does.

The kernel runs in :func:`jupyter_python` (``$MEDINTERACT_JUPYTER_PYTHON``, e.g. the Binder
environment that ``.ci/run`` builds, else this interpreter), with the environment variables a
launcher sets (``JPY_SESSION_NAME`` for JupyterLab and Notebook, Voila's ``SERVER_SOFTWARE``,
nothing for nbclient).
"""

from __future__ import annotations

import json
import os
import queue
import sys
import tempfile
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from jupyter_client.kernelspec import KernelSpecManager
from jupyter_client.manager import KernelManager

READY_TIMEOUT_S = 60.0


def jupyter_python() -> str:
    """The Python whose Jupyter server and kernels the tests drive."""
    return os.environ.get("MEDINTERACT_JUPYTER_PYTHON") or sys.executable


@dataclass
class CellResult:
    """What one executed cell printed, and its error if it raised."""

    stdout: str
    error: str | None
    seconds: float


class KernelSession:
    """A started kernel and its client."""

    def __init__(self, manager: KernelManager) -> None:
        self.manager = manager
        self.client = manager.client()
        self.client.start_channels()
        self.client.wait_for_ready(timeout=READY_TIMEOUT_S)

    def run(self, code: str, *, timeout_s: float = 120.0) -> CellResult:
        """Execute ``code`` as a cell and wait until the kernel is idle again."""
        started = time.monotonic()
        msg_id = self.client.execute(code)
        stdout, error, started_running = [], None, False
        deadline = started + timeout_s
        while True:
            try:
                message = self.client.get_iopub_msg(timeout=max(0.1, deadline - time.monotonic()))
            except queue.Empty:
                raise TimeoutError(f"cell did not finish within {timeout_s:.0f} s: {code[:80]!r}"
                                   f"; printed so far: {''.join(stdout)!r}") from None
            if message["parent_header"].get("msg_id") != msg_id:
                continue
            kind, content = message["header"]["msg_type"], message["content"]
            # A cell held back (itkwidgets queues cells while its viewer loads) reports idle
            # once when queued: it has run only after its execute_input.
            started_running |= kind == "execute_input"
            if kind == "stream" and content["name"] == "stdout":
                stdout.append(content["text"])
            elif kind == "error":
                error = f"{content['ename']}: {content['evalue']}"
            elif kind == "status" and content["execution_state"] == "idle" and started_running:
                return CellResult("".join(stdout), error, time.monotonic() - started)

    def value(self, expression: str) -> Any:
        """Evaluate ``expression`` in the kernel and return it (through JSON)."""
        result = self.run(f"import json as _json; print(_json.dumps({expression}))")
        assert result.error is None, result.error
        return json.loads(result.stdout.strip().splitlines()[-1])

    def send_custom(self, comm_id: str, content: Mapping[str, Any]) -> None:
        """Send what a widget's ``model.send(content)`` sends from the browser."""
        data = {"method": "custom", "content": dict(content)}
        message = self.client.session.msg("comm_msg", {"comm_id": comm_id, "data": data})
        self.client.shell_channel.send(message)


@contextmanager
def kernel_session(env: Mapping[str, str] | None = None, *,
                   python: str | None = None) -> Iterator[KernelSession]:
    """Start a kernel in ``python`` with ``env`` added to this process's environment."""
    with tempfile.TemporaryDirectory() as folder:
        spec_dir = Path(folder) / "kernels" / "medinteract-test"
        spec_dir.mkdir(parents=True)
        spec = {"argv": [python or jupyter_python(), "-m", "ipykernel_launcher", "-f",
                         "{connection_file}"],
                "display_name": "medinteract test kernel", "language": "python"}
        (spec_dir / "kernel.json").write_text(json.dumps(spec))
        specs = KernelSpecManager(kernel_dirs=[str(spec_dir.parent)])
        manager = KernelManager(kernel_name="medinteract-test", kernel_spec_manager=specs)
        kernel_env = {key: value for key, value in os.environ.items()
                      if key not in ("JPY_SESSION_NAME", "SERVER_SOFTWARE", "VOILA_BASE_URL")}
        kernel_env.update(env or {})
        kernel_env["PYDEVD_DISABLE_FILE_VALIDATION"] = "1"
        manager.start_kernel(env=kernel_env, cwd=folder)
        session = None
        try:
            session = KernelSession(manager)
            yield session
        finally:
            if session is not None:
                session.client.stop_channels()
            manager.shutdown_kernel(now=True)
