"""Convert a SavedModel signature to TFLite, run it in LiteRT, and publish a serving version.

Plain TensorFlow/LiteRT, no TFX: the Pusher executor and the tests call these directly.
"""
import dataclasses
import datetime
import hashlib
import json
import os
import re
import shutil
import statistics
import time

import numpy as np
import tensorflow as tf
from ai_edge_litert.interpreter import Interpreter

from components import native_stderr
from models.features import IMAGE_HEIGHT, IMAGE_KEY, IMAGE_PIXELS, IMAGE_WIDTH, LABEL_KEY

LATEST = "latest"  # a symlink to the newest version on local file systems
LATEST_POINTER = "LATEST"  # on object stores, which have no symlinks: a file holding its name
VERSION_NAME = re.compile(r"^\d{8}-\d{6}(\+\d{3})?$")
QUANTIZATIONS = ("none", "dynamic", "float16", "int8")
MIN_FLOAT_AGREEMENT = 0.9995


def convert(saved_model_dir: str, signature_key: str, quantize: str = "none",
            representative_images: np.ndarray | None = None) -> bytes:
    """TFLite flatbuffer of one signature. `int8` quantizes weights and activations with ranges
    measured on `representative_images`; input stays raw uint8 pixels and output float32
    probabilities in every mode, so clients never change."""
    converter = tf.lite.TFLiteConverter.from_saved_model(saved_model_dir, signature_keys=[signature_key])
    if quantize != "none":
        converter.optimizations = [tf.lite.Optimize.DEFAULT]
    if quantize == "float16":
        converter.target_spec.supported_types = [tf.float16]
    elif quantize == "int8":
        converter.representative_dataset = lambda: ([image[None]] for image in representative_images)
        # Integer kernels everywhere they exist; the uint8->float casts at the input stay builtin.
        converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8, tf.lite.OpsSet.TFLITE_BUILTINS]
    return converter.convert()


@dataclasses.dataclass(frozen=True)
class Verification:
    tflite_accuracy: float
    reference_accuracy: float  # the evaluated (float) model's accuracy
    agreement: float | None  # share of images where TFLite and SavedModel predict the same class (float only)
    problem: str | None


def verify(tflite_model: bytes, quantize: str, images: np.ndarray, labels: np.ndarray, reference_accuracy: float,
           reference_classes: np.ndarray | None = None, max_accuracy_gap: float = 0.001,
           max_quantization_drop: float = 0.003) -> Verification:
    """A float model must score like the evaluated one and agree with the SavedModel's class on
    >= 99.95 % of images; a quantized one may lose at most max_quantization_drop of accuracy."""
    classes = np.argmax(predict(tflite_model, images), axis=1)
    accuracy = float(np.mean(classes == labels))
    problem, agreement = None, None
    if quantize == "none":
        agreement = float(np.mean(classes == reference_classes))
        if agreement < MIN_FLOAT_AGREEMENT:
            problem = (f"TFLite model predicts the same class as the SavedModel for only {agreement:.2%} of "
                       f"{len(labels)} eval images (needs {MIN_FLOAT_AGREEMENT:.2%}); accuracy {accuracy:.2%} "
                       f"vs {reference_accuracy:.2%} evaluated")
        elif abs(accuracy - reference_accuracy) > max_accuracy_gap:
            problem = (f"TFLite accuracy {accuracy:.2%} differs from the evaluated {reference_accuracy:.2%} "
                       f"by more than {max_accuracy_gap:.2%}")
    elif reference_accuracy - accuracy > max_quantization_drop:
        problem = (f"{quantize} TFLite accuracy {accuracy:.2%} is more than {max_quantization_drop:.2%} below "
                   f"the evaluated float accuracy {reference_accuracy:.2%}")
    return Verification(accuracy, reference_accuracy, agreement, problem)


def saved_model_classes(saved_model_dir: str, signature_key: str, images: np.ndarray) -> np.ndarray:
    """Predicted classes of the SavedModel itself, for the float parity check."""
    serve = tf.saved_model.load(saved_model_dir).signatures[signature_key]
    return np.concatenate([np.argmax(next(iter(serve(tf.constant(images[i:i + 1000])).values())).numpy(), axis=1)
                           for i in range(0, len(images), 1000)])


def predict(tflite_model: bytes, images: np.ndarray, batch_size: int = 256) -> np.ndarray:
    """Probabilities [N,10] for uint8 images [N,28,28], computed by LiteRT."""
    interpreter = Interpreter(model_content=tflite_model)
    input_index = interpreter.get_input_details()[0]["index"]
    output_index = interpreter.get_output_details()[0]["index"]
    batches = []
    for start in range(0, len(images), batch_size):
        batch = images[start:start + batch_size]
        interpreter.resize_tensor_input(input_index, batch.shape)
        with native_stderr.silenced():  # the XNNPACK delegate announces itself
            interpreter.allocate_tensors()
        interpreter.set_tensor(input_index, batch)
        interpreter.invoke()
        batches.append(interpreter.get_tensor(output_index).copy())
    return np.concatenate(batches)


def litert_runner(model: bytes, batch: int, threads: int = 1):
    """A function images -> probabilities on one LiteRT interpreter sized for `batch` images."""
    interpreter = Interpreter(model_content=model, num_threads=threads)
    input_index = interpreter.get_input_details()[0]["index"]
    output_index = interpreter.get_output_details()[0]["index"]
    interpreter.resize_tensor_input(input_index, [batch, IMAGE_HEIGHT, IMAGE_WIDTH])
    with native_stderr.silenced():
        interpreter.allocate_tensors()

    def run(images):
        interpreter.set_tensor(input_index, images)
        interpreter.invoke()
        return interpreter.get_tensor(output_index)
    return run


def single_image_latency_us(call, image, runs: int, warmup: int = 50) -> float:
    """Median wall time of call(image) over `runs` calls, after warm-up."""
    for _ in range(warmup):
        call(image)
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        call(image)
        times.append(time.perf_counter() - started)
    return statistics.median(times) * 1e6


def accuracy(probabilities: np.ndarray, labels: np.ndarray) -> float:
    return float(np.mean(np.argmax(probabilities, axis=1) == labels))


def read_examples(file_pattern: str) -> tuple[np.ndarray, np.ndarray]:
    """(uint8 images [N,28,28], labels [N]) from gzip TFRecords of MNIST tf.Examples."""
    spec = {IMAGE_KEY: tf.io.FixedLenFeature([IMAGE_PIXELS], tf.int64),
            LABEL_KEY: tf.io.FixedLenFeature([], tf.int64)}
    files = tf.io.gfile.glob(file_pattern)
    dataset = (tf.data.TFRecordDataset(files, compression_type="GZIP")
               .batch(4096).map(lambda s: tf.io.parse_example(s, spec)))
    images, labels = [], []
    for batch in dataset:
        images.append(batch[IMAGE_KEY].numpy().astype(np.uint8).reshape(-1, IMAGE_HEIGHT, IMAGE_WIDTH))
        labels.append(batch[LABEL_KEY].numpy())
    return np.concatenate(images), np.concatenate(labels)


def _new_version(serving_dir: str) -> str:
    """A UTC timestamp, made strictly greater than every existing version so that names sort by age."""
    version = datetime.datetime.now(datetime.timezone.utc).strftime("%Y%m%d-%H%M%S")
    existing = versions(serving_dir)
    if existing and version <= existing[-1]:
        stamp, _, count = existing[-1].partition("+")
        version = f"{stamp}+{int(count or 1) + 1:03d}"
    return version


def is_uri(path: str) -> bool:
    """gs://, s3://, hdfs://...: object stores, reached through tf.io.gfile, with no symlinks or
    atomic directory renames."""
    return "://" in path


def staging_dir(serving_dir: str) -> str:
    """Beside serving_dir, on the same file system so that renames from it are atomic."""
    serving_dir = os.path.abspath(serving_dir)
    return os.path.join(os.path.dirname(serving_dir), f".{os.path.basename(serving_dir)}-staging")


def _version_dirs(serving_dir: str) -> list[str]:
    if not tf.io.gfile.isdir(serving_dir):
        return []
    return sorted(n.rstrip("/") for n in tf.io.gfile.listdir(serving_dir) if VERSION_NAME.match(n.rstrip("/")))


def versions(serving_dir: str) -> list[str]:
    """Complete published versions, oldest first (names sort by time)."""
    return [v for v in _version_dirs(serving_dir) if tf.io.gfile.exists(os.path.join(serving_dir, v, "model.json"))]


def latest_version(serving_dir: str) -> str | None:
    if is_uri(serving_dir):
        pointer = os.path.join(serving_dir, LATEST_POINTER)
        return tf.io.gfile.GFile(pointer).read().strip() if tf.io.gfile.exists(pointer) else None
    link = os.path.join(serving_dir, LATEST)
    return os.readlink(link) if os.path.islink(link) else None


def latest_metadata(serving_dir: str) -> dict | None:
    version = latest_version(serving_dir)
    return json.loads(tf.io.gfile.GFile(os.path.join(serving_dir, version, "model.json")).read()) if version else None


def _write_version(version_dir: str, tflite_model: bytes, labels: list[str], metadata_json: str,
                   saved_model_dir: str | None) -> None:
    """model.json goes last: on an object store, a version without it is incomplete."""
    tf.io.gfile.makedirs(version_dir)
    tf.io.gfile.GFile(os.path.join(version_dir, "model.tflite"), "wb").write(tflite_model)
    tf.io.gfile.GFile(os.path.join(version_dir, "labels.txt"), "w").write("\n".join(labels) + "\n")
    if saved_model_dir:
        for directory, _, files in tf.io.gfile.walk(saved_model_dir):
            relative = os.path.relpath(directory, saved_model_dir)
            target = os.path.join(version_dir, "saved_model", "" if relative == "." else relative)
            tf.io.gfile.makedirs(target)
            for name in files:
                tf.io.gfile.copy(os.path.join(directory, name), os.path.join(target, name))
    tf.io.gfile.GFile(os.path.join(version_dir, "model.json"), "w").write(metadata_json)


def publish(serving_dir: str, tflite_model: bytes, labels: list[str], metadata: dict,
            saved_model_dir: str | None = None, keep_versions: int = 0) -> str:
    """Writes <serving_dir>/<version>/{model.tflite, labels.txt, model.json[, saved_model/]}, then
    moves `latest` and prunes all but the newest `keep_versions` (0: keep all; never `latest`).

    On a local file system the version is assembled in a staging directory beside serving_dir and
    renamed into place, and the `latest` symlink is replaced by an atomic rename, so readers only
    ever see complete versions, even if the process is killed. Callers hold the run lock: a
    publish clears what a killed one left behind. On an object store (gs://, s3://) the version is
    written in place with model.json last, then the LATEST file names it.
    """
    tf.io.gfile.makedirs(serving_dir)
    for name in set(_version_dirs(serving_dir)) - set(versions(serving_dir)):
        tf.io.gfile.rmtree(os.path.join(serving_dir, name))  # left incomplete by a killed publish
    version = _new_version(serving_dir)
    metadata_json = json.dumps({**metadata, "version": version, "tflite_bytes": len(tflite_model),
                                "tflite_sha256": hashlib.sha256(tflite_model).hexdigest()}, indent=2)
    if is_uri(serving_dir):
        _write_version(os.path.join(serving_dir, version), tflite_model, labels, metadata_json, saved_model_dir)
        tf.io.gfile.GFile(os.path.join(serving_dir, LATEST_POINTER), "w").write(version + "\n")
    else:
        staging_root = staging_dir(serving_dir)
        shutil.rmtree(staging_root, ignore_errors=True)
        try:
            staging = os.path.join(staging_root, version)
            _write_version(staging, tflite_model, labels, metadata_json, saved_model_dir)
            os.rename(staging, os.path.join(serving_dir, version))
            link = os.path.join(staging_root, LATEST)
            os.symlink(version, link)
            os.replace(link, os.path.join(serving_dir, LATEST))
        finally:
            shutil.rmtree(staging_root, ignore_errors=True)
    if keep_versions:
        for old in versions(serving_dir)[:-keep_versions]:
            if old != version:
                tf.io.gfile.rmtree(os.path.join(serving_dir, old))
    return os.path.join(serving_dir, version)
