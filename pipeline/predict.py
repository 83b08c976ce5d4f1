"""`mnist-tfx predict`: classify handwriting with a pushed .tflite in LiteRT; photos and scans are
prepared as MNIST was made (components/mnist_example_gen/handwriting.py)."""
import json
import os

import numpy as np

from components.common import DataError
from components.mnist_example_gen import handwriting, mnist_data
from components.tflite_pusher import serving_layout, tflite
from models.features import NUM_CLASSES
from pipeline.config import PipelineConfig

IDX_SUFFIXES = ("-ubyte", "-ubyte.gz")
def load_images(path: str) -> list[tuple[str, np.ndarray]]:
    """(name, uint8 [28,28]) per image: an IDX images file gives all of its images as they are."""
    if path.endswith(IDX_SUFFIXES):
        images = mnist_data.read_images(path)
        return [(f"{path}[{i}]", image) for i, image in enumerate(images)]
    return [(path, handwriting.read_image(path))]


def model_path(model: str, output_dir: str) -> str:
    """--model as given, else the latest version pushed under <output_dir>/serving."""
    if model:
        return model
    serving_dir = PipelineConfig(output_dir=output_dir).serving_dir
    version_dir = serving_layout.latest_version_dir(serving_dir)
    if not version_dir:
        raise DataError(f"{serving_dir}: no pushed model (run `mnist-tfx run` first, or pass --model)")
    return serving_layout.model_path(version_dir)


def classify(model_file: str, paths: list[str], top_k: int = 1) -> list[dict]:
    """For each image: its name and the top_k labels with their probabilities."""
    try:
        model = open(model_file, "rb").read()
    except OSError as e:
        raise DataError(f"{model_file}: cannot read ({e.strerror})") from None
    labels_file = serving_layout.labels_path(os.path.dirname(model_file))
    labels = open(labels_file).read().split("\n")[:NUM_CLASSES] if os.path.exists(labels_file) else [str(d) for d in range(NUM_CLASSES)]
    named = [item for path in paths for item in load_images(path)]
    probabilities = tflite.predict(model, np.stack([image for _, image in named]))
    results = []
    for (name, _), row in zip(named, probabilities):
        best = np.argsort(row)[::-1][:top_k]
        results.append({"image": name, "predictions": [{"label": labels[i], "probability": float(row[i])} for i in best]})
    return results


def format_results(results: list[dict], as_json: bool) -> str:
    if as_json:
        return json.dumps(results, indent=2)
    return "\n".join(f"{r['image']}: " + ", ".join(f"{p['label']} ({p['probability']:.1%})" for p in r["predictions"])
                     for r in results)
