"""Photos and scans of handwriting made into 28x28 images the way MNIST was made: white digit on
black, the digit's box fitted into 20x20 keeping its aspect ratio, centred in 28x28 by its centre of
mass. `mnist-tfx predict` and the spans of new data both prepare images with it."""
import io

import numpy as np
from PIL import Image, UnidentifiedImageError

from components.common import DataError
from components import files

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


def read_image(path: str) -> np.ndarray:
    """A PNG or JPEG (local or a URI) as uint8 [28,28]; DataError naming the file if it cannot be read."""
    if not files.exists(path):
        raise DataError(f"{path}: no such file")
    try:
        with Image.open(io.BytesIO(files.read_bytes(path))) as image:
            return to_mnist(image)
    except UnidentifiedImageError:
        raise DataError(f"{path}: not an image PIL can read (no PNG or JPEG data)") from None
    except OSError as e:  # e.g. a truncated file
        raise DataError(f"{path}: not an image PIL can read ({e})") from None
