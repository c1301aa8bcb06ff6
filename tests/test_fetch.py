"""Optional downloads, tested against a local HTTP server on 127.0.0.1 (never the network)."""

from __future__ import annotations

import hashlib
import http.server
import threading
from functools import partial
from pathlib import Path

import numpy as np
import pytest

from medinteract.data import fetch as fetch_module
from medinteract.data.fetch import REGISTRY, RemoteFile, fetch, list_remote
from medinteract.errors import LoadError


class _QuietCountingHandler(http.server.SimpleHTTPRequestHandler):
    requests: list[str] = []

    def do_GET(self):  # noqa: N802 - http.server's naming
        type(self).requests.append(self.path)
        super().do_GET()

    def log_message(self, *args):
        pass


@pytest.fixture
def server(tmp_path):
    """A folder served on 127.0.0.1, with the list of requested paths."""
    folder = tmp_path / "served"
    folder.mkdir()
    handler = type("Handler", (_QuietCountingHandler,), {"requests": []})
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0),
                                            partial(handler, directory=str(folder)))
    thread = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.05},
                              daemon=True)
    thread.start()
    try:
        yield folder, f"http://127.0.0.1:{httpd.server_address[1]}", handler.requests
    finally:
        httpd.shutdown()
        httpd.server_close()
        thread.join()


def _publish(folder: Path, name: str = "tiny.npy") -> tuple[bytes, str]:
    array = np.arange(1000, dtype=np.int16).reshape(10, 100)
    np.save(folder / name, array)
    content = (folder / name).read_bytes()
    return content, hashlib.sha256(content).hexdigest()


def test_download_is_verified_cached_and_reused(server, tmp_path):
    folder, base, requests = server
    content, digest = _publish(folder)
    remote = RemoteFile("tiny", f"{base}/tiny.npy", f"sha256:{digest}", "tiny.npy", "test")
    cache = tmp_path / "cache"
    path = fetch(remote, cache=cache, progressbar=True)
    assert path == cache / "tiny.npy" and path.read_bytes() == content
    np.testing.assert_array_equal(np.load(path)[0, :3], [0, 1, 2])
    assert requests == ["/tiny.npy"]
    assert fetch(remote, cache=cache) == path
    assert requests == ["/tiny.npy"]  # served from the cache


def test_corrupted_cache_entry_is_downloaded_again(server, tmp_path):
    folder, base, requests = server
    content, digest = _publish(folder)
    remote = RemoteFile("tiny", f"{base}/tiny.npy", f"sha256:{digest}", "tiny.npy")
    path = fetch(remote, cache=tmp_path, progressbar=False)
    path.write_bytes(b"truncated")
    assert fetch(remote, cache=tmp_path, progressbar=False).read_bytes() == content
    assert len(requests) == 2


def test_checksum_mismatch_is_a_clear_error_and_keeps_nothing(server, tmp_path):
    folder, base, _ = server
    _publish(folder)
    remote = RemoteFile("tiny", f"{base}/tiny.npy", "sha256:" + "0" * 64, "tiny.npy")
    with pytest.raises(LoadError, match="does not match its checksum") as info:
        fetch(remote, cache=tmp_path / "cache", progressbar=False)
    assert "tiny" in str(info.value) and base in str(info.value)
    assert not (tmp_path / "cache" / "tiny.npy").exists()


def test_missing_file_on_the_server_is_a_clear_error(server, tmp_path):
    _, base, _ = server
    remote = RemoteFile("absent", f"{base}/absent.npy", "sha256:" + "0" * 64, "absent.npy")
    with pytest.raises(LoadError, match="could not download 'absent'"):
        fetch(remote, cache=tmp_path, progressbar=False)


def test_registry_entries_can_be_fetched_from_a_mirror(server, tmp_path):
    # A mirror must serve the very file the registry's checksum describes: a stand-in with the
    # registry's name is rejected, so a wrong mirror can never slip in other data.
    folder, base, requests = server
    (folder / "pneumoniamnist.npz").write_bytes(b"not the real file")
    with pytest.raises(LoadError, match="checksum"):
        fetch("pneumoniamnist", cache=tmp_path, base_url=base + "/", progressbar=False)
    assert requests == ["/pneumoniamnist.npz"]


def test_cache_folder_comes_from_the_environment(server, tmp_path, monkeypatch):
    folder, base, _ = server
    _, digest = _publish(folder)
    monkeypatch.setenv(fetch_module.CACHE_ENV, str(tmp_path / "env-cache"))
    assert fetch_module.cache_dir() == tmp_path / "env-cache"
    remote = RemoteFile("tiny", f"{base}/tiny.npy", f"sha256:{digest}", "tiny.npy")
    assert fetch(remote, progressbar=False).parent == tmp_path / "env-cache"


def test_registry_lists_real_datasets_by_url_and_checksum():
    table = list_remote()
    assert table["name"].tolist() == list(REGISTRY)
    assert table["url"].str.startswith("https://").all()
    assert table["known_hash"].str.match(r"^(sha256:[0-9a-f]{64}|md5:[0-9a-f]{32})$").all()
    assert table["description"].str.len().min() > 40


def test_unknown_dataset_name():
    with pytest.raises(ValueError, match="unknown dataset 'lidc'"):
        fetch("lidc")


def test_unsupported_url_is_a_load_error_naming_the_url(tmp_path):
    remote = RemoteFile("odd", "notaurl://example/x.npz", "md5:" + "0" * 32, "x.npz")
    with pytest.raises(LoadError, match="notaurl://example/x.npz.*could not download 'odd'"):
        fetch(remote, cache=tmp_path, progressbar=False)
    assert not (tmp_path / "x.npz").exists()
