"""New labelled data that arrives beside the base dataset, as numbered spans:

    <data-dir>/spans/<N>/                       N a non-negative integer (no leading zeros); a larger N is newer
        <name>-images-idx3-ubyte[.gz]           IDX files, in pairs (also <name>-images.idx3-ubyte[.gz])
        <name>-labels-idx1-ubyte[.gz]
        0/ … 9/<any name>.png|.jpg|.jpeg        and/or images in label folders, any size, dark on
                                                light or the reverse, prepared as `predict` prepares them

The same layout works on a local path and on a URI (gs://). Each span is split by a hash of each
image's name, about EVAL_SHARE to `eval`, so new data is tested as well as trained on, and an image
stays in its split however the span grows.
"""
import dataclasses
import hashlib
import io
import os
import re

import numpy as np
from PIL import Image

from components.common import DataError
from components import files
from components.mnist_example_gen import handwriting, mnist_data

SPANS_DIR = "spans"
EVAL_SHARE = 0.2
IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg")
CHECKED_CACHE = "checked-spans.json"  # fingerprints of spans read without error
CHECKED_KEPT = 1000
_IDX_IMAGES = re.compile(r"^(?P<name>.+)-images[-.]idx3-ubyte(?P<gz>\.gz)?$")
_IDX_LABELS = re.compile(r"^.+-labels[-.]idx1-ubyte(\.gz)?$")
_SOURCE_PREFIX = "span-"


def source_of(number: int) -> str:
    """The source name a span's examples carry (`span-3`), in ML Metadata, model.json and the Evaluator's slices."""
    return f"{_SOURCE_PREFIX}{number}"


def number_of(source: str) -> int | None:
    """The span number a source name carries, None for the base dataset's."""
    suffix = source.removeprefix(_SOURCE_PREFIX)
    return int(suffix) if suffix != source and suffix.isdigit() else None


@dataclasses.dataclass(frozen=True)
class Span:
    number: int
    path: str

    @property
    def source(self) -> str:
        return source_of(self.number)


def at(data_dir: str, number: int) -> Span:
    return Span(number, os.path.join(data_dir, SPANS_DIR, str(number)))


def find(data_dir: str, max_spans: int = 0) -> list[Span]:
    """The spans under data_dir, oldest first; with max_spans, only the newest that many."""
    root = os.path.join(data_dir, SPANS_DIR)
    if not files.exists(root):
        return []
    if not files.isdir(root):
        raise DataError(f"{root}: expected a directory of numbered spans")
    spans = []
    for name in files.listdir(root):
        if name.startswith("."):
            continue
        if not name.isdigit():
            raise DataError(f"{os.path.join(root, name)}: a span's name must be a non-negative integer")
        if str(int(name)) != name:  # a number names one directory, found again by at()
            raise DataError(f"{os.path.join(root, name)}: a span's number is written without leading zeros "
                            f"({int(name)})")
        spans.append(at(data_dir, int(name)))
    spans.sort(key=lambda span: span.number)
    return spans[-max_spans:] if max_spans else spans


def file_names(span: Span) -> list[str]:
    """The files the span is read from, relative to it, in a stable order."""
    found = []
    for name in files.listdir(span.path):
        path = os.path.join(span.path, name)
        if name.startswith("."):
            continue
        if name.isdigit() and len(name) == 1 and files.isdir(path):
            for image in files.listdir(path):
                if image.startswith("."):  # e.g. a file add_image is still writing
                    continue
                if not image.lower().endswith(IMAGE_SUFFIXES):
                    raise DataError(f"{os.path.join(path, image)}: not a PNG or JPEG (by its name) in a label folder")
                found.append(f"{name}/{image}")
        elif _IDX_IMAGES.match(name) or _IDX_LABELS.match(name):
            found.append(name)
        else:
            raise DataError(f"{path}: not part of the span layout (IDX files, or images in label folders 0/ … 9/)")
    if not found:
        raise DataError(f"{span.path}: holds no images (IDX files, or PNG/JPEG in label folders 0/ … 9/)")
    return found


def add_image(span_dir: str, label: int, name: str, pixels: np.ndarray) -> str:
    """Stores one labelled grayscale image as <span_dir>/<label>/<name>.png, locally or on a URI, whole:
    a reader (or a run) sees the file complete or not at all. Returns its path."""
    if not 0 <= label < 10 or not re.fullmatch(r"[\w.-]+", name):
        raise ValueError(f"label {label!r} or name {name!r} cannot go in a span")
    encoded = io.BytesIO()  # encoded before anything is written, so a failure leaves nothing
    Image.fromarray(pixels.astype(np.uint8), mode="L").save(encoded, format="PNG")
    path = os.path.join(span_dir, str(label), f"{name}.png")
    files.write_bytes(path, encoded.getvalue())
    return path


def fingerprints(found: list[Span]) -> list[str]:
    """Each span's sha256 over its file names and contents; a file is read only when it is new or
    changed (files.sha256s remembers the others' hashes)."""
    listed = [file_names(span) for span in found]
    paths = [[os.path.join(span.path, name) for name in names] for span, names in zip(found, listed)]
    hashes = files.sha256s([path for span_paths in paths for path in span_paths])
    digests = []
    for names, span_paths in zip(listed, paths):
        digest = hashlib.sha256()
        for name, path in zip(names, span_paths):
            digest.update(name.encode() + b"\0" + bytes.fromhex(hashes[path]))
        digests.append(digest.hexdigest())
    return digests


def check(found: list[Span]) -> None:
    """Reads each span whose contents were never read without error, so that a bad file fails here
    with the line that reading it in ExampleGen would give; the others' layout is checked again
    (file_names), their images are not decoded again. The fingerprints of the spans read well are
    remembered in the user's cache dir."""
    checked = files.read_cache(CHECKED_CACHE, [])
    known, read = set(checked), []
    for span, digest in zip(found, fingerprints(found)):
        if digest not in known:
            load(span)
            read.append(digest)
    if read:
        files.write_cache(CHECKED_CACHE, (checked + read)[-CHECKED_KEPT:])


def in_eval(key: str) -> bool:
    """Whether the image named key belongs to the eval split: a hash, so the choice never changes."""
    return int.from_bytes(hashlib.sha256(key.encode()).digest()[:4], "big") < EVAL_SHARE * 2 ** 32


def load(span: Span) -> dict:
    """Split name -> (images uint8 [N,28,28], labels uint8 [N]) of the span, every file read and decoded."""
    names = file_names(span)
    images, labels, keys, paired = [], [], [], set()
    for name in names:
        path = os.path.join(span.path, name)
        if "/" in name:
            images.append(handwriting.read_image(path)[None])
            labels.append(np.array([int(name[0])], np.uint8))
            keys.append(name)
        elif match := _IDX_IMAGES.match(name):
            labels_path = _labels_file(span, match)
            paired.add(os.path.basename(labels_path))
            idx_images, idx_labels = mnist_data.read_idx_pair(path, labels_path)
            images.append(idx_images)
            labels.append(idx_labels)
            keys += [f"{name}#{i}" for i in range(len(idx_labels))]
    for name in names:
        if _IDX_LABELS.match(name) and name not in paired:
            raise DataError(f"{os.path.join(span.path, name)}: labels without their images file "
                            f"({name.replace('labels', 'images').replace('idx1', 'idx3')})")
    images, labels = np.concatenate(images), np.concatenate(labels)
    evaluated = np.array([in_eval(key) for key in keys])
    return {"train": (images[~evaluated], labels[~evaluated]), "eval": (images[evaluated], labels[evaluated])}


def _labels_file(span: Span, images_match: re.Match) -> str:
    gz = images_match.group("gz") or ""
    for separator in ("-", "."):
        path = os.path.join(span.path, f"{images_match.group('name')}-labels{separator}idx1-ubyte{gz}")
        if files.exists(path):
            return path
    return os.path.join(span.path, f"{images_match.group('name')}-labels-idx1-ubyte{gz}")
