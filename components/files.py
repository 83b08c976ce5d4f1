"""Reading and writing files on a local path or a URI: the data, the spans and the page's corrections
go through here. Local paths use the os module; a URI (gs://, and file:// or ram:// in tests) goes
through tf.io.gfile, imported only then, so local work starts without TensorFlow. Errors name the file.
Also the user's cache dir, where what can be found again is remembered between runs."""
import hashlib
import json
import os
import tempfile

from components.common import DataError, is_uri

HASHES_CACHE = "file-hashes.json"


def sha256_of(path: str) -> str:
    return hashlib.sha256(read_bytes(path)).hexdigest()


def sha256s(paths: list[str]) -> dict[str, str]:
    """Each file's sha256. A file is read only if its size or modification time differ from when it
    was last hashed, remembered by path in the user's cache dir: unchanged data is only stat'ed."""
    known = read_cache(HASHES_CACHE, {})
    hashes, changed = {}, False
    for path in paths:
        size_and_time = list(stat(path))
        entry = known.get(path)
        if entry and entry[:2] == size_and_time:
            hashes[path] = entry[2]
        else:
            hashes[path] = sha256_of(path)
            known[path] = [*size_and_time, hashes[path]]
            changed = True
    if changed:  # forgets local files that are gone, such as a test's
        write_cache(HASHES_CACHE, {path: entry for path, entry in known.items()
                                   if path in hashes or is_uri(path) or os.path.lexists(path)})
    return hashes


def user_cache_dir() -> str:
    """$XDG_CACHE_HOME/mnist-tfx, else ~/.cache/mnist-tfx: downloads, and what is remembered between runs."""
    root = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return os.path.join(root, "mnist-tfx")


def read_cache(name: str, default):
    """The JSON value remembered as name in the user's cache dir, else default: a missing or
    unreadable cache costs time, never a run."""
    try:
        with open(os.path.join(user_cache_dir(), name)) as f:
            value = json.load(f)
    except (OSError, ValueError):
        return default
    return value if isinstance(value, type(default)) else default


def write_cache(name: str, value) -> None:
    """Remembers a JSON value as name in the user's cache dir, whole; a cache dir that cannot be
    written is left alone, as a cache is never needed."""
    try:
        write_bytes(os.path.join(user_cache_dir(), name), json.dumps(value).encode())
    except OSError:
        pass


def stat(path: str) -> tuple[int, int]:
    """(size in bytes, modification time in ns) of a local file or a URI's."""
    if is_uri(path):
        gfile, op_error = _gfile()
        try:
            info = gfile.stat(path)
        except op_error as e:
            raise DataError(f"{path}: cannot read ({e.message})") from None
        return info.length, info.mtime_nsec
    try:
        info = os.stat(path)
    except OSError as e:
        raise DataError(f"{path}: cannot read ({e.strerror})") from None
    return info.st_size, info.st_mtime_ns


def _gfile():
    import tensorflow as tf  # only remote data needs TensorFlow's file systems
    return tf.io.gfile, tf.errors.OpError


def exists(path: str) -> bool:
    if not is_uri(path):
        return os.path.lexists(path)
    gfile, op_error = _gfile()
    try:
        return gfile.exists(path)
    except op_error as e:  # e.g. s3:// without a file-system plugin such as tensorflow-io
        raise DataError(f"{path}: {e.message}") from None


def listdir(path: str) -> list[str]:
    """Entry names of a local directory or a URI's, sorted."""
    if not is_uri(path):
        try:
            return sorted(os.listdir(path))
        except OSError as e:
            raise DataError(f"{path}: cannot list ({e.strerror})") from None
    gfile, op_error = _gfile()
    try:
        return sorted(name.rstrip("/") for name in gfile.listdir(path))
    except op_error as e:
        raise DataError(f"{path}: {e.message}") from None


def isdir(path: str) -> bool:
    if not is_uri(path):
        return os.path.isdir(path)
    gfile, op_error = _gfile()
    try:
        return gfile.isdir(path)
    except op_error as e:
        raise DataError(f"{path}: {e.message}") from None


def read_bytes(path: str) -> bytes:
    if is_uri(path):
        gfile, op_error = _gfile()
        try:
            with gfile.GFile(path, "rb") as f:
                return f.read()
        except op_error as e:
            raise DataError(f"{path}: cannot read ({e.message})") from None
    try:
        with open(path, "rb") as f:
            return f.read()
    except OSError as e:
        raise DataError(f"{path}: cannot read ({e.strerror})") from None


def write_bytes(path: str, data: bytes) -> None:
    """Writes the file whole: a reader sees it complete or not at all. Locally under a temporary name,
    then renamed; on a URI in one write to its final name, as object stores upload an object whole
    on close and rename by copy and delete. OSError naming the file if it cannot be written."""
    if is_uri(path):
        gfile, op_error = _gfile()
        try:
            gfile.makedirs(os.path.dirname(path))  # object stores need none; file://, ram:// and hdfs:// do
            with gfile.GFile(path, "wb") as f:  # closed here, so a failed upload raises
                f.write(data)
        except op_error as e:
            raise OSError(f"{path}: cannot write ({e.message})") from None
        return
    folder = os.path.dirname(path)
    os.makedirs(folder, exist_ok=True)
    with tempfile.NamedTemporaryFile(dir=folder, prefix=f".{os.path.basename(path)}.", delete=False) as partial:
        try:
            partial.write(data)
            partial.close()
            os.replace(partial.name, path)
        finally:
            if os.path.exists(partial.name):
                os.unlink(partial.name)
