"""Reading and writing files on a local path or a URI: the data, the spans and the page's corrections
go through here. Local paths use the os module; a URI (gs://, and file:// or ram:// in tests) goes
through tf.io.gfile, imported only then, so local work starts without TensorFlow. Errors name the file."""
import hashlib
import os
import tempfile

from components.common import DataError, is_uri


def sha256_of(path: str) -> str:
    return hashlib.sha256(read_bytes(path)).hexdigest()


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
