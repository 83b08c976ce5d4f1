"""Silencing what native libraries write straight to file descriptor 2, which Python's logging
cannot filter: TensorFlow's start-up lines, LiteRT's "Created TensorFlow Lite XNNPACK delegate"."""
import contextlib
import os


@contextlib.contextmanager
def silenced():
    saved = os.dup(2)
    try:
        with open(os.devnull, "w") as devnull:
            os.dup2(devnull.fileno(), 2)
            yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)
