"""Convert a SavedModel signature to TFLite, run it in LiteRT, and publish a serving version.

Plain TensorFlow/LiteRT, no TFX: the Pusher executor and the tests call these directly.
"""
import datetime
import hashlib
import json
import os
import shutil
import tempfile

import numpy as np
import tensorflow as tf
from ai_edge_litert.interpreter import Interpreter

from models.features import IMAGE_HEIGHT, IMAGE_KEY, IMAGE_PIXELS, IMAGE_WIDTH, LABEL_KEY

LATEST = "latest"


def convert(saved_model_dir: str, signature_key: str) -> bytes:
    converter = tf.lite.TFLiteConverter.from_saved_model(saved_model_dir, signature_keys=[signature_key])
    return converter.convert()


def predict(tflite_model: bytes, images: np.ndarray, batch_size: int = 256) -> np.ndarray:
    """Probabilities [N,10] for uint8 images [N,28,28], computed by LiteRT."""
    interpreter = Interpreter(model_content=tflite_model)
    input_index = interpreter.get_input_details()[0]["index"]
    output_index = interpreter.get_output_details()[0]["index"]
    batches = []
    for start in range(0, len(images), batch_size):
        batch = images[start:start + batch_size]
        interpreter.resize_tensor_input(input_index, batch.shape)
        interpreter.allocate_tensors()
        interpreter.set_tensor(input_index, batch)
        interpreter.invoke()
        batches.append(interpreter.get_tensor(output_index).copy())
    return np.concatenate(batches)


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
    version = datetime.datetime.now(datetime.timezone.utc).strftime("%Y%m%d-%H%M%S")
    candidate, n = version, 1
    while os.path.exists(os.path.join(serving_dir, candidate)):
        n += 1
        candidate = f"{version}-{n}"
    return candidate


def publish(serving_dir: str, tflite_model: bytes, labels: list[str], metadata: dict) -> str:
    """Writes <serving_dir>/<version>/{model.tflite, labels.txt, model.json}, then moves `latest`.

    The version directory is assembled under a hidden temp name and renamed into place, and
    `latest` is replaced by an atomic rename, so readers only ever see complete versions.
    """
    os.makedirs(serving_dir, exist_ok=True)
    version = _new_version(serving_dir)
    metadata = {**metadata, "version": version, "tflite_sha256": hashlib.sha256(tflite_model).hexdigest(),
                "tflite_bytes": len(tflite_model)}
    staging = tempfile.mkdtemp(prefix=f".{version}.", dir=serving_dir)
    try:
        with open(os.path.join(staging, "model.tflite"), "wb") as f:
            f.write(tflite_model)
        with open(os.path.join(staging, "labels.txt"), "w") as f:
            f.write("\n".join(labels) + "\n")
        with open(os.path.join(staging, "model.json"), "w") as f:
            json.dump(metadata, f, indent=2)
        os.chmod(staging, 0o755)
        os.rename(staging, os.path.join(serving_dir, version))
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    link_tmp = os.path.join(serving_dir, f".{LATEST}.{os.getpid()}")
    os.symlink(version, link_tmp)
    os.replace(link_tmp, os.path.join(serving_dir, LATEST))
    return os.path.join(serving_dir, version)
