"""Helpers for end-to-end tests: run the real `mnist-tfx` CLI and snapshot what it published."""
import hashlib
import os
import subprocess
import sys

BIN_DIR = os.path.dirname(sys.executable)
# A small real slice keeps a cold run under a minute on 2 cores.
SLICE_ARGS = ["--max-train-examples", "3000", "--max-eval-examples", "1000", "--epochs", "3", "--augment", "off",
              "--accuracy-threshold", "0.85"]
COMPONENTS = ["ImportSchemaGen", "MnistExampleGen", "StatisticsGen", "StrictExampleValidator", "Transform",
              "Trainer", "Resolver", "Evaluator", "TFLitePusher"]


def mnist_tfx(*args, env=None, timeout=900) -> subprocess.CompletedProcess:
    return subprocess.run([os.path.join(BIN_DIR, "mnist-tfx"), *args], capture_output=True, text=True,
                          timeout=timeout, env={**os.environ, **(env or {})})


def snapshot(directory: str) -> dict:
    """Every file's sha256 and every link's target below directory: equal snapshots, equal bytes."""
    state = {}
    for root, dirs, files in os.walk(directory):
        for name in dirs + files:
            path = os.path.join(root, name)
            if os.path.islink(path):
                state[path] = "-> " + os.readlink(path)
            elif os.path.isfile(path):
                state[path] = hashlib.sha256(open(path, "rb").read()).hexdigest()
    return state
