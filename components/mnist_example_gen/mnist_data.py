"""Reading and checking MNIST-format data: IDX `.gz` files and Keras' `mnist.npz`.

Plain Python and numpy, no TFX: the ExampleGen executor and the CLI's pre-flight check
both call `load_split`, so bad data is named the same way wherever it is found. A data
directory may also be a URI (components/files.py).
"""
import gzip
import hashlib
import io
import os
import struct
import zlib

import numpy as np

from components.common import DataError
from components.files import exists, read_bytes, sha256s
from components.mnist_example_gen.datasets import MNIST, SPLIT_SOURCES, Dataset, describe_expected
from models.features import IMAGE_HEIGHT, IMAGE_WIDTH, NUM_CLASSES

IMAGE_MAGIC = 0x00000803
LABEL_MAGIC = 0x00000801


def _parse_idx(path: str, raw: bytes, magic: int, expected_dims: int) -> np.ndarray:
    if path.endswith(".gz"):
        if raw[:2] != b"\x1f\x8b":
            kind = "an HTML page" if raw.lstrip()[:1] == b"<" else "not gzip data"
            raise DataError(f"{path}: {kind}, expected a gzip-compressed IDX file")
        try:
            raw = gzip.decompress(raw)
        except (EOFError, OSError, zlib.error) as e:
            raise DataError(f"{path}: corrupt or truncated gzip data ({e})") from None
    if len(raw) < 4 + 4 * expected_dims:
        raise DataError(f"{path}: too short for an IDX header ({len(raw)} bytes)")
    found_magic = struct.unpack(">I", raw[:4])[0]
    if found_magic != magic:
        raise DataError(f"{path}: IDX magic 0x{found_magic:08x}, expected 0x{magic:08x}")
    dims = struct.unpack(f">{expected_dims}I", raw[4:4 + 4 * expected_dims])
    body = raw[4 + 4 * expected_dims:]
    if len(body) != int(np.prod(dims)):
        raise DataError(f"{path}: header announces {'x'.join(map(str, dims))} values "
                        f"but the file holds {len(body)} bytes (truncated or padded)")
    return np.frombuffer(body, dtype=np.uint8).reshape(dims)


def _read_canonical_idx(path: str, magic: int, expected_dims: int, dataset: Dataset, verify: bool) -> np.ndarray:
    """Reads an IDX file; a file under a canonical name must also carry the canonical sha256."""
    expected = dataset.files.get(os.path.basename(path)) if verify else None
    raw = read_bytes(path)
    checksum_differs = bool(expected) and hashlib.sha256(raw).hexdigest() != expected
    try:
        array = _parse_idx(path, raw, magic, expected_dims)
    except DataError as e:
        if checksum_differs:
            raise DataError(f"{e}; its sha256 differs from the canonical {dataset.name} file") from None
        raise
    if checksum_differs:
        raise DataError(f"{path}: sha256 differs from the canonical {dataset.name} file {expected[:16]}… "
                        f"(to use other data on purpose, give it a non-canonical name such as "
                        f"{os.path.basename(path).replace('-idx', '.idx')})")
    return array


def _check_image_shape(images: np.ndarray, source: str) -> None:
    if images.shape[1:] != (IMAGE_HEIGHT, IMAGE_WIDTH):
        raise DataError(f"{source}: images are {images.shape[1]}x{images.shape[2]}, expected 28x28")


def _check_arrays(images: np.ndarray, labels: np.ndarray, images_src: str, labels_src: str) -> None:
    _check_image_shape(images, images_src)
    if len(images) != len(labels):
        raise DataError(f"{labels_src}: {len(labels)} labels for {len(images)} images in {images_src}")
    if len(images) == 0:
        raise DataError(f"{images_src}: holds no images")
    if labels.max() >= NUM_CLASSES:
        bad = int(np.argmax(labels >= NUM_CLASSES))
        raise DataError(f"{labels_src}: label {labels[bad]} at index {bad}, labels must be 0-9")


def _find_idx(data_dir: str, stem: str, kind: str) -> str:
    """The canonical `{stem}-{kind}-ubyte.gz`, else `{stem}.{kind}-ubyte` (the name inside the
    canonical gzip), compressed or not, else uncompressed canonical."""
    candidates = [f"{stem}-{kind}-ubyte.gz", f"{stem}.{kind}-ubyte.gz", f"{stem}.{kind}-ubyte", f"{stem}-{kind}-ubyte"]
    for name in candidates:
        if exists(os.path.join(data_dir, name)):
            return os.path.join(data_dir, name)
    return os.path.join(data_dir, candidates[0])


def read_idx_pair(images_path: str, labels_path: str) -> tuple[np.ndarray, np.ndarray]:
    """An IDX images file and its labels file, checked like the base dataset's, without canonical checksums."""
    if not exists(labels_path):
        raise DataError(f"{labels_path}: missing (the labels of {os.path.basename(images_path)})")
    images = _parse_idx(images_path, read_bytes(images_path), IMAGE_MAGIC, 3)
    labels = _parse_idx(labels_path, read_bytes(labels_path), LABEL_MAGIC, 1)
    _check_arrays(images, labels, images_path, labels_path)
    return images, labels


def read_images(path: str) -> np.ndarray:
    """Any IDX images file as uint8 [N,28,28], without the checksum of canonical names."""
    images = _parse_idx(path, read_bytes(path), IMAGE_MAGIC, 3)
    _check_image_shape(images, path)
    return images


def split_files(data_dir: str, split: str, dataset: Dataset = MNIST) -> tuple[str, ...]:
    """The files load_split reads for a pipeline split: an IDX images and labels pair, or the npz.
    DataError naming what is missing."""
    idx_prefix, _ = SPLIT_SOURCES[split]
    images_path = _find_idx(data_dir, f"{idx_prefix}-images", "idx3")
    labels_path = _find_idx(data_dir, f"{idx_prefix}-labels", "idx1")
    if exists(images_path) or exists(labels_path) or not dataset.npz_name:
        for path in (images_path, labels_path):
            if not exists(path):
                raise DataError(f"{path}: missing ({describe_expected(dataset)})")
        return images_path, labels_path
    npz_path = os.path.join(data_dir, dataset.npz_name)
    if not exists(npz_path):
        raise DataError(f"{data_dir}: no {dataset.name} data ({describe_expected(dataset)})")
    return (npz_path,)


def load_split(data_dir: str, split: str, dataset: Dataset = MNIST, verify_checksums: bool = True):
    """Returns (images uint8 [N,28,28], labels uint8 [N]) of a pipeline split ('train' or 'eval')."""
    paths = split_files(data_dir, split, dataset)
    if len(paths) == 2:
        images_path, labels_path = paths
        images = _read_canonical_idx(images_path, IMAGE_MAGIC, 3, dataset, verify_checksums)
        labels = _read_canonical_idx(labels_path, LABEL_MAGIC, 1, dataset, verify_checksums)
        _check_arrays(images, labels, images_path, labels_path)
        return images, labels
    (npz_path,), npz_suffix = paths, SPLIT_SOURCES[split][1]
    try:
        with np.load(io.BytesIO(read_bytes(npz_path))) as npz:
            images, labels = npz[f"x_{npz_suffix}"], npz[f"y_{npz_suffix}"]
    except (OSError, ValueError, KeyError, zlib.error) as e:
        raise DataError(f"{npz_path}: not a readable Keras mnist.npz ({e})") from None
    if images.ndim != 3 or images.dtype != np.uint8:
        raise DataError(f"{npz_path}: x_{npz_suffix} is {images.dtype}{list(images.shape)}, expected uint8 [N,28,28]")
    _check_arrays(images, labels, f"{npz_path}[x_{npz_suffix}]", f"{npz_path}[y_{npz_suffix}]")
    return images, labels.astype(np.uint8)


def check_split(data_dir: str, split: str, dataset: Dataset = MNIST) -> None:
    """What load_split checks, for the cost of a checksum when the split's files are the canonical
    ones, whose contents are known (a stat when their checksum is remembered: files.sha256s); any
    other data is read."""
    hashes = sha256s(list(split_files(data_dir, split, dataset)))
    if any(dataset.files.get(os.path.basename(path)) != digest for path, digest in hashes.items()):
        load_split(data_dir, split, dataset)
