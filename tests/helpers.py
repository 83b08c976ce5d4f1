"""Helpers shared by the tests: run the real `mnist-tfx` CLI, snapshot what it published, write IDX files."""
import gzip
import hashlib
import json
import os
import shutil
import struct
import subprocess
import sys
import threading

import numpy as np
from PIL import Image

from components.tflite_pusher import serving_layout

BIN_DIR = os.path.dirname(sys.executable)
# A small real slice keeps a cold run under a minute on 2 cores.
SLICE_ARGS = ["--max-train-examples", "3000", "--max-eval-examples", "1000", "--epochs", "3", "--augment", "off",
              "--accuracy-threshold", "0.85"]
# Scheduled retraining: a retrain may cost MNIST at most 1 point.
RETRAINING_ARGS = [*SLICE_ARGS, "--max-regression", "1"]
COMPONENTS = ["ImportSchemaGen", "MnistExampleGen", "StatisticsGen", "StrictExampleValidator", "Transform",
              "Trainer", "Resolver", "Evaluator", "TFLitePusher"]


# A Kubeflow compile with every flag a user sets; the spec and scheduling tests share it.
KUBEFLOW_COMPILE = ["kubeflow", "compile", "--pipeline-root", "gs://bucket/mnist-tfx", "--data-uri", "gs://bucket/mnist",
                    "--image", "registry.example/mnist-tfx:7", "--arch", "mlp", "--epochs", "5"]


def write_idx(path, array: np.ndarray, magic: int, compress=True):
    raw = struct.pack(">I", magic) + struct.pack(f">{array.ndim}I", *array.shape) + array.astype(np.uint8).tobytes()
    with (gzip.open if compress else open)(path, "wb") as f:
        f.write(raw)


def linked_data_dir(mnist_dir: str, data_dir):
    """A data dir of links to the MNIST files, where a test can add spans (the shared data is read-only)."""
    for name in os.listdir(mnist_dir):
        os.symlink(os.path.join(mnist_dir, name), os.path.join(data_dir, name))
    return data_dir


def write_sklearn_digits(span_dir: str) -> None:
    """A new source of real handwriting: scikit-learn's bundled digits (1,797 scans at 8x8, no download)."""
    from sklearn.datasets import load_digits
    from components.mnist_example_gen import spans
    digits = load_digits()
    for i, (image, label) in enumerate(zip(digits.images, digits.target)):
        spans.add_image(span_dir, int(label), f"sklearn-{i:04d}", image * 255 / 16)


def write_png_span(span_dir, images, labels, first=0, suffix=".png"):
    """Digits as 100x100 dark-on-light images in label folders, as a phone or a scanner gives them."""
    for i, (image, label) in enumerate(zip(images, labels), first):
        os.makedirs(span_dir / str(label), exist_ok=True)
        Image.fromarray(255 - image).resize((100, 100), Image.BILINEAR).convert("RGB").save(
            span_dir / str(label) / f"digit-{i:04d}{suffix}")


def require(program: str, how_to_get_it: str) -> str:
    """The program's path; a missing one fails the test with one line saying how to get it."""
    import pytest
    path = shutil.which(program)
    if not path:
        pytest.fail(f"{program} is missing: {how_to_get_it}", pytrace=False)
    return path


def mnist_tfx(*args, env=None, timeout=900, cwd=None) -> subprocess.CompletedProcess:
    return subprocess.run([os.path.join(BIN_DIR, "mnist-tfx"), *args], capture_output=True, text=True,
                          timeout=timeout, env={**os.environ, **(env or {})}, cwd=cwd)


def compile_with_cli(output_path) -> subprocess.CompletedProcess:
    return subprocess.run([os.path.join(BIN_DIR, "mnist-tfx"), *KUBEFLOW_COMPILE, "--output", str(output_path)],
                          capture_output=True, text=True, timeout=300, check=True)


def compile_unchecked(output_path, *flags) -> dict:
    """`mnist-tfx kubeflow compile`'s own code on its own flags, less main's check of the locations:
    for a spec whose bucket is a local directory, which KFP would refuse."""
    from kubeflow import cli
    from mnist_tfx import build_parser
    args = build_parser().parse_args(["kubeflow", "compile", "--output", str(output_path), *flags])
    return cli.compile_spec(args, str(output_path))


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


def incomplete_entries(serving_dir: str) -> list[str]:
    """What a model server reading serving_dir now would find that is not a complete version."""
    problems = []
    for name in os.listdir(serving_dir):
        path = os.path.realpath(os.path.join(serving_dir, name))
        try:
            metadata = json.load(open(serving_layout.metadata_path(path)))
            complete = (hashlib.sha256(open(serving_layout.model_path(path), "rb").read()).hexdigest()
                        == metadata["tflite_sha256"]
                        and len(open(serving_layout.labels_path(path)).read().split()) == 10
                        and os.path.isfile(os.path.join(serving_layout.saved_model_path(path), "saved_model.pb")))
        except (OSError, ValueError, KeyError):
            complete = False
        if not complete:
            problems.append(name)
    return problems


class ServingWatcher(threading.Thread):
    """Polls serving/ as a model server would while runs go on, recording what it should never see."""

    def __init__(self, serving_dir: str):
        super().__init__(daemon=True)
        self.serving_dir, self.problems, self.latest_seen = serving_dir, [], set()
        self.finished = threading.Event()

    def run(self):
        while not self.finished.wait(0.05):
            self.problems += incomplete_entries(self.serving_dir)
            self.latest_seen.add(os.readlink(serving_layout.latest_pointer(self.serving_dir)))

    def stop(self):
        self.finished.set()
        self.join()
