import dataclasses
import functools
import http.server
import os
import threading

import pytest

from components.common import DataError
from components.mnist_example_gen import datasets, download, mnist_data
from tests.helpers import linked_data_dir


@pytest.fixture
def file_server():
    """A real HTTP server on loopback standing in for the dataset mirror."""
    servers = []

    def serve(directory):
        handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(directory))
        server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        servers.append(server)
        return f"http://127.0.0.1:{server.server_port}/"

    yield serve
    for server in servers:
        server.shutdown()


def test_download_checks_every_file(mnist_dir, tmp_path, file_server):
    download.download(datasets.MNIST, str(tmp_path / "cache"), base_url=file_server(mnist_dir))
    assert sorted(os.listdir(tmp_path / "cache")) == sorted(datasets.MNIST.files)
    assert mnist_data.load_split(str(tmp_path / "cache"), "eval")[0].shape == (10000, 28, 28)


def test_download_of_a_wrong_file_leaves_nothing_behind(mnist_dir, tmp_path, file_server):
    (tmp_path / "mirror").mkdir()
    mirror = linked_data_dir(mnist_dir, tmp_path / "mirror")
    os.remove(mirror / "t10k-labels-idx1-ubyte.gz")
    (mirror / "t10k-labels-idx1-ubyte.gz").write_bytes(b"<html>moved</html>")
    cache = tmp_path / "cache"
    with pytest.raises(DataError, match="t10k-labels-idx1-ubyte.gz: downloaded file's sha256 differs"):
        download.download(datasets.MNIST, str(cache), base_url=file_server(mirror))
    assert "t10k-labels-idx1-ubyte.gz" not in os.listdir(cache)
    assert not [n for n in os.listdir(cache) if n.startswith(".")]


def test_without_data_or_network_the_error_says_how_to_supply_files(tmp_path, monkeypatch):
    monkeypatch.delenv("MNIST_DIR", raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    unreachable = dataclasses.replace(datasets.MNIST, download_url="http://127.0.0.1:9/")
    with pytest.raises(DataError, match="download from http://127.0.0.1:9/ failed .*pass --data-dir DIR"):
        download.resolve_data_dir(unreachable)


def test_without_download_missing_no_data_dir_is_none_and_a_named_one_must_exist(tmp_path, monkeypatch):
    """What `serve` asks: the data dir `run` would use, if there is one."""
    monkeypatch.delenv("MNIST_DIR", raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    unreachable = dataclasses.replace(datasets.MNIST, download_url="http://127.0.0.1:9/")
    assert download.resolve_data_dir(unreachable, download_missing=False) is None
    with pytest.raises(DataError, match=f"^file://{tmp_path}/nowhere: data directory does not exist$"):
        download.resolve_data_dir(unreachable, f"file://{tmp_path}/nowhere", download_missing=False)
