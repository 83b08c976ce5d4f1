"""Reading and checking MNIST-format data: IDX `.gz` files and Keras' `mnist.npz`.

Plain Python and numpy, no TFX: the ExampleGen executor and the CLI's pre-flight check
both call `load_split`, so bad data is named the same way wherever it is found. A data
directory may also be a URI read through tf.io.gfile: gs:// is built into TensorFlow; s3:// and
hdfs:// need a file-system plugin such as tensorflow-io.
"""
import glob
import gzip
import hashlib
import io
import os
import struct
import tempfile
import urllib.request
import zlib
from dataclasses import dataclass

import numpy as np

from components.common import DataError, is_uri
from models.features import IMAGE_HEIGHT, IMAGE_WIDTH, NUM_CLASSES

IMAGE_MAGIC = 0x00000803
LABEL_MAGIC = 0x00000801


@dataclass(frozen=True)
class Dataset:
    name: str
    files: dict  # canonical file name -> sha256
    download_url: str
    labels: tuple
    npz_name: str | None = None


MNIST = Dataset(
    name="mnist",
    files={
        "train-images-idx3-ubyte.gz": "440fcabf73cc546fa21475e81ea370265605f56be210a4024d2ca8f203523609",
        "train-labels-idx1-ubyte.gz": "3552534a0a558bbed6aed32b30c495cca23d567ec52cac8be1a0730e8010255c",
        "t10k-images-idx3-ubyte.gz": "8d422c7b0a1c1c79245a5bcf07fe86e33eeafee792b84584aec276f5a2dbc4e6",
        "t10k-labels-idx1-ubyte.gz": "f7ae60f92e00ec6debd23a6088c31dbd2371eca3ffa0defaefb259924204aec6",
    },
    download_url="https://storage.googleapis.com/cvdf-datasets/mnist/",
    labels=tuple(str(d) for d in range(10)),
    npz_name="mnist.npz",
)
FASHION_MNIST = Dataset(
    name="fashion_mnist",
    files={
        "train-images-idx3-ubyte.gz": "3aede38d61863908ad78613f6a32ed271626dd12800ba2636569512369268a84",
        "train-labels-idx1-ubyte.gz": "a04f17134ac03560a47e3764e11b92fc97de4d1bfaf8ba1a3aa29af54cc90845",
        "t10k-images-idx3-ubyte.gz": "346e55b948d973a97e58d2351dde16a484bd415d4595297633bb08f03db6a073",
        "t10k-labels-idx1-ubyte.gz": "67da17c76eaffca5446c3361aaab5c3cd6d1c2608764d35dfb1850b086bf8dd5",
    },
    download_url="https://storage.googleapis.com/tensorflow/tf-keras-datasets/",
    labels=("T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
            "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"),
)
DATASETS = {d.name: d for d in (MNIST, FASHION_MNIST)}

# Split name in the pipeline -> file prefix of the canonical IDX files / key suffix in mnist.npz.
SPLIT_SOURCES = {"train": ("train", "train"), "eval": ("t10k", "test")}


def sha256_of(path: str) -> str:
    return hashlib.sha256(read_bytes(path)).hexdigest()


def _gfile():
    import tensorflow as tf  # only remote data needs TensorFlow's file systems
    return tf.io.gfile, tf.errors.OpError


def exists(path: str) -> bool:
    if not is_uri(path):
        return os.path.lexists(path)
    gfile, op_error = _gfile()
    try:
        return gfile.exists(path)
    except op_error as e:  # e.g. s3:// without a file-system plugin such as tensorflow-io
        raise DataError(f"{path}: {e.message}") from None


def listdir(path: str) -> list[str]:
    """Entry names of a local directory or a URI's, sorted."""
    if not is_uri(path):
        try:
            return sorted(os.listdir(path))
        except OSError as e:
            raise DataError(f"{path}: cannot list ({e.strerror})") from None
    gfile, op_error = _gfile()
    try:
        return sorted(name.rstrip("/") for name in gfile.listdir(path))
    except op_error as e:
        raise DataError(f"{path}: {e.message}") from None


def isdir(path: str) -> bool:
    return _gfile()[0].isdir(path) if is_uri(path) else os.path.isdir(path)


def read_bytes(path: str) -> bytes:
    if is_uri(path):
        gfile, op_error = _gfile()
        try:
            with gfile.GFile(path, "rb") as f:
                return f.read()
        except op_error as e:
            raise DataError(f"{path}: cannot read ({e.message})") from None
    try:
        with open(path, "rb") as f:
            return f.read()
    except OSError as e:
        raise DataError(f"{path}: cannot read ({e.strerror})") from None


def write_bytes(path: str, data: bytes) -> None:
    """Writes the file whole: a reader sees it complete or not at all. Locally under a temporary name,
    then renamed; on a URI in one write to its final name, as object stores upload an object whole
    on close and rename by copy and delete. OSError naming the file if it cannot be written."""
    if is_uri(path):
        gfile, op_error = _gfile()
        try:
            gfile.makedirs(os.path.dirname(path))  # object stores need none; file://, ram:// and hdfs:// do
            with gfile.GFile(path, "wb") as f:  # closed here, so a failed upload raises
                f.write(data)
        except op_error as e:
            raise OSError(f"{path}: cannot write ({e.message})") from None
        return
    folder = os.path.dirname(path)
    os.makedirs(folder, exist_ok=True)
    with tempfile.NamedTemporaryFile(dir=folder, prefix=f".{os.path.basename(path)}.", delete=False) as partial:
        try:
            partial.write(data)
            partial.close()
            os.replace(partial.name, path)
        finally:
            if os.path.exists(partial.name):
                os.unlink(partial.name)


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


def load_split(data_dir: str, split: str, dataset: Dataset = MNIST, verify_checksums: bool = True):
    """Returns (images uint8 [N,28,28], labels uint8 [N]) of a pipeline split ('train' or 'eval')."""
    idx_prefix, npz_suffix = SPLIT_SOURCES[split]
    images_path = _find_idx(data_dir, f"{idx_prefix}-images", "idx3")
    labels_path = _find_idx(data_dir, f"{idx_prefix}-labels", "idx1")
    if exists(images_path) or exists(labels_path) or not dataset.npz_name:
        for path in (images_path, labels_path):
            if not exists(path):
                raise DataError(f"{path}: missing ({describe_expected(dataset)})")
        images = _read_canonical_idx(images_path, IMAGE_MAGIC, 3, dataset, verify_checksums)
        labels = _read_canonical_idx(labels_path, LABEL_MAGIC, 1, dataset, verify_checksums)
        _check_arrays(images, labels, images_path, labels_path)
        return images, labels
    npz_path = os.path.join(data_dir, dataset.npz_name)
    if not exists(npz_path):
        raise DataError(f"{data_dir}: no {dataset.name} data ({describe_expected(dataset)})")
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
    ones, whose contents are known; any other data is read."""
    idx_prefix, _ = SPLIT_SOURCES[split]
    paths = [_find_idx(data_dir, f"{idx_prefix}-images", "idx3"), _find_idx(data_dir, f"{idx_prefix}-labels", "idx1")]
    if all(exists(path) and dataset.files.get(os.path.basename(path)) == sha256_of(path) for path in paths):
        return
    load_split(data_dir, split, dataset)


def describe_expected(dataset: Dataset) -> str:
    names = ", ".join(dataset.files)
    npz = f", or {dataset.npz_name}" if dataset.npz_name else ""
    return f"expected {names}{npz}"


def has_data(data_dir: str, dataset: Dataset) -> bool:
    names = list(dataset.files) + ([dataset.npz_name] if dataset.npz_name else [])
    return any(os.path.exists(os.path.join(data_dir, n)) for n in names)


def fingerprint_patterns(data_dir: str, dataset: Dataset) -> dict:
    """Split name -> glob of the files it is read from (Keras' npz holds both splits). A URI is not
    listed, so that compiling for a cluster needs no storage access: remote data is IDX files."""
    if is_uri(data_dir):
        return {split: f"{prefix}-*" for split, (prefix, _) in SPLIT_SOURCES.items()}
    idx_present = any(os.path.basename(p).startswith(("train-", "t10k-"))
                      for p in glob.glob(os.path.join(data_dir, "*")))
    if dataset.npz_name and not idx_present and glob.glob(os.path.join(data_dir, dataset.npz_name)):
        return {split: dataset.npz_name for split in SPLIT_SOURCES}
    return {split: f"{prefix}-*" for split, (prefix, _) in SPLIT_SOURCES.items()}


def default_cache_dir(dataset: Dataset) -> str:
    root = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return os.path.join(root, "mnist-tfx", dataset.name)


def download(dataset: Dataset, dest_dir: str, base_url: str | None = None, timeout: float = 30) -> None:
    """Downloads the canonical files into dest_dir, each checked against its sha256 before it lands."""
    base_url = base_url or dataset.download_url
    for name, expected in dataset.files.items():
        final = os.path.join(dest_dir, name)
        if os.path.exists(final) and sha256_of(final) == expected:
            continue
        with urllib.request.urlopen(base_url + name, timeout=timeout) as response:
            data = response.read()
        if hashlib.sha256(data).hexdigest() != expected:
            raise DataError(f"{base_url + name}: downloaded file's sha256 differs from the canonical one")
        write_bytes(final, data)


def resolve_data_dir(dataset: Dataset, data_dir: str | None = None, download_missing: bool = True) -> str | None:
    """--data-dir / MNIST_DIR, which must exist, else the local cache, else a checked download into the
    cache; without download_missing, None instead of the download."""
    data_dir = data_dir or os.environ.get("MNIST_DIR")
    if data_dir:
        if not isdir(data_dir):
            raise DataError(f"{data_dir}: data directory does not exist")
        return data_dir if is_uri(data_dir) else os.path.abspath(data_dir)
    cache = default_cache_dir(dataset)
    if has_data(cache, dataset):
        return cache
    if not download_missing:
        return None
    try:
        download(dataset, cache)
    except (OSError, urllib.error.URLError) as e:
        raise DataError(
            f"{cache}: no {dataset.name} data and the download from {dataset.download_url} failed ({e}); "
            f"put the four canonical IDX .gz files in a directory and pass --data-dir DIR (or set MNIST_DIR)"
        ) from None
    return cache
