"""`mnist-tfx predict`: classify handwriting with a pushed .tflite in LiteRT.

Photos and scans are turned into 28x28 images the way MNIST was made: white digit on black, the
digit's box fitted into 20x20 keeping its aspect ratio, centred in 28x28 by its centre of mass.
"""
import json
import os

import numpy as np
from PIL import Image, UnidentifiedImageError

from components.common import DataError
from components.mnist_example_gen import mnist_data
from components.tflite_pusher import publish, tflite
from models.features import NUM_CLASSES
from pipeline.config import PipelineConfig

IDX_SUFFIXES = ("-ubyte", "-ubyte.gz")
_INK = 0.2  # of the brightest pixel: what counts as part of the digit when cropping


def _border(pixels: np.ndarray) -> np.ndarray:
    return np.concatenate([pixels[0], pixels[-1], pixels[:, 0], pixels[:, -1]])


def to_mnist(image: Image.Image) -> np.ndarray:
    """uint8 [28,28]: white digit on black, fitted into 20x20, centred by mass."""
    pixels = np.asarray(image.convert("L"), dtype=np.float32)
    if np.median(_border(pixels)) > 127:  # dark ink on light paper
        pixels = 255 - pixels
    pixels = np.clip(pixels - np.median(_border(pixels)), 0, None)
    if pixels.max() <= 0:
        return np.zeros((28, 28), np.uint8)
    rows, cols = np.nonzero(pixels > _INK * pixels.max())
    digit = pixels[rows.min():rows.max() + 1, cols.min():cols.max() + 1]
    scale = 20 / max(digit.shape)
    size = (max(1, round(digit.shape[1] * scale)), max(1, round(digit.shape[0] * scale)))
    digit = np.asarray(Image.fromarray(digit).resize(size, Image.LANCZOS), dtype=np.float32).clip(0, None)
    digit *= 255 / digit.max()
    canvas = np.zeros((28, 28), np.float32)
    row_mass, col_mass = (np.arange(n) @ digit.sum(axis=axis) / digit.sum() for n, axis in ((size[1], 1), (size[0], 0)))
    top = int(np.clip(round(14 - row_mass), 0, 28 - size[1]))
    left = int(np.clip(round(14 - col_mass), 0, 28 - size[0]))
    canvas[top:top + size[1], left:left + size[0]] = digit
    return canvas.round().astype(np.uint8)


def load_images(path: str) -> list[tuple[str, np.ndarray]]:
    """(name, uint8 [28,28]) per image: an IDX images file gives all of its images as they are."""
    if path.endswith(IDX_SUFFIXES):
        images = mnist_data.read_images(path)
        return [(f"{path}[{i}]", image) for i, image in enumerate(images)]
    try:
        with Image.open(path) as image:
            return [(path, to_mnist(image))]
    except FileNotFoundError:
        raise DataError(f"{path}: no such file") from None
    except (UnidentifiedImageError, OSError) as e:
        raise DataError(f"{path}: not an image PIL can read ({e})") from None


def model_path(model: str, output_dir: str) -> str:
    """--model as given, else the latest version pushed under <output_dir>/serving."""
    if model:
        return model
    serving_dir = PipelineConfig(output_dir=output_dir).serving_dir
    version = publish.latest_version(serving_dir)
    if not version:
        raise DataError(f"{serving_dir}: no pushed model (run `mnist-tfx run` first, or pass --model)")
    return os.path.join(serving_dir, version, "model.tflite")


def classify(model_file: str, paths: list[str], top_k: int = 1) -> list[dict]:
    """For each image: its name and the top_k labels with their probabilities."""
    try:
        model = open(model_file, "rb").read()
    except OSError as e:
        raise DataError(f"{model_file}: cannot read ({e.strerror})") from None
    labels_file = os.path.join(os.path.dirname(model_file), "labels.txt")
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
