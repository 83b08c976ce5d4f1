"""What every part of the project shares: the error for bad input, telling URIs from local paths,
and silencing what native libraries write to stderr."""
import contextlib
import os


class DataError(ValueError):
    """Bad input: data files missing, corrupt or not MNIST-shaped, an unusable output directory, an
    image that cannot be read. The message names the file; the CLI prints it as one line, exit 2."""


def is_uri(path: str) -> bool:
    """gs://, s3://, hdfs://...: reached through tf.io.gfile, with no symlinks or atomic directory renames."""
    return "://" in path


@contextlib.contextmanager
def silenced_native_stderr():
    """Sends file descriptor 2 to /dev/null: native libraries (TensorFlow's start-up lines, LiteRT's
    "Created TensorFlow Lite XNNPACK delegate") write there, past Python's logging."""
    saved = os.dup(2)
    try:
        with open(os.devnull, "w") as devnull:
            os.dup2(devnull.fileno(), 2)
            yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)
