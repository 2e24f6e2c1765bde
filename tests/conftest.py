import functools
import http.server
import threading

import pytest

from helpers import data as data_module

from .cifar_fixtures import fake_cifar10, write_cache


@pytest.fixture(autouse=True)
def _fresh_caches():
    """In-memory data caches are keyed by path; clear them so each test sees its own files."""
    for cached in (data_module._read_cache, data_module._cifar10_stats, data_module._cifar10_tensors):
        cached.cache_clear()
    yield


@pytest.fixture
def fake_data():
    return fake_cifar10()


@pytest.fixture
def cifar_dir(tmp_path, fake_data, monkeypatch):
    """A tiny CIFAR-10 cache as BN_DATA_DIR, a fresh run cache, downloads off, CPU."""
    root = write_cache(tmp_path / "data", fake_data)
    monkeypatch.setenv("BN_DATA_DIR", str(root))
    monkeypatch.setenv("BN_RUNS_DIR", str(tmp_path / "runs"))
    monkeypatch.setenv("BN_NO_DOWNLOAD", "1")
    monkeypatch.setenv("BN_DEVICE", "cpu")
    return root


@pytest.fixture
def http_folder(tmp_path, monkeypatch):
    """Serve a folder over HTTP on loopback (as a download server would); returns (folder, base URL)."""
    folder = tmp_path / "server"
    folder.mkdir()
    for var in ("http_proxy", "HTTP_PROXY"):
        monkeypatch.delenv(var, raising=False)
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(folder))
    handler.log_message = lambda *args: None
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield folder, f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()
