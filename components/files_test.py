"""The user's cache of file hashes: a file is read once, then only stat'ed until it changes; a cache
that cannot be read or written costs time, never a result."""
import hashlib
import os

import pytest

from components import files


@pytest.fixture
def cache_home(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    return tmp_path / "cache"


def test_a_file_is_read_once_then_only_when_its_size_or_time_change(tmp_path, cache_home, monkeypatch):
    first, second = tmp_path / "a.png", tmp_path / "b.png"
    first.write_bytes(b"first")
    second.write_bytes(b"second")
    paths = [str(first), str(second)]
    expected = {str(p): hashlib.sha256(p.read_bytes()).hexdigest() for p in (first, second)}
    assert files.sha256s(paths) == expected
    assert (cache_home / "mnist-tfx" / files.HASHES_CACHE).is_file()

    read = []
    monkeypatch.setattr(files, "sha256_of", lambda path: read.append(path) or hashlib.sha256(
        open(path, "rb").read()).hexdigest())
    assert files.sha256s(paths) == expected and read == []  # unchanged: stat only
    first.write_bytes(b"FIRST")  # same size; the modification time tells
    os.utime(first, ns=(1, 1))
    assert files.sha256s(paths)[str(first)] == hashlib.sha256(b"FIRST").hexdigest() and read == [str(first)]
    second.unlink()
    files.sha256s([str(first)])
    first.write_bytes(b"changed again, longer")  # now the size tells
    assert files.sha256s([str(first)])[str(first)] == hashlib.sha256(b"changed again, longer").hexdigest()
    assert list(files.read_cache(files.HASHES_CACHE, {})) == [str(first)]  # the removed file is forgotten


def test_a_cache_that_cannot_be_written_or_read_only_costs_time(tmp_path, monkeypatch):
    image = tmp_path / "a.png"
    image.write_bytes(b"pixels")
    (tmp_path / "not-a-directory").write_text("")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "not-a-directory"))  # no directory can be made under it
    assert files.sha256s([str(image)]) == {str(image): hashlib.sha256(b"pixels").hexdigest()}
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    (tmp_path / "cache" / "mnist-tfx").mkdir(parents=True)
    (tmp_path / "cache" / "mnist-tfx" / files.HASHES_CACHE).write_text("{not json")
    assert files.sha256s([str(image)]) == {str(image): hashlib.sha256(b"pixels").hexdigest()}


def test_a_uri_is_stated_and_hashed_through_tensorflow(tmp_path, cache_home):
    """file:// goes through tf.io.gfile, as gs:// would."""
    image = tmp_path / "a.png"
    image.write_bytes(b"pixels")
    uri = f"file://{image}"
    size, mtime_ns = files.stat(uri)
    assert size == 6 and abs(mtime_ns - files.stat(str(image))[1]) < 10 ** 9  # TensorFlow's local files: whole seconds
    assert files.sha256s([uri]) == {uri: hashlib.sha256(b"pixels").hexdigest()}
    with pytest.raises(files.DataError, match=rf"^{tmp_path}/missing.png: cannot read \(No such file or directory\)$"):
        files.stat(str(tmp_path / "missing.png"))
