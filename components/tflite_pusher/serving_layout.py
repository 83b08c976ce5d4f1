"""The serving directory's layout, named in one place: publish.py writes it, everything else reads it.

    <output_dir>/serving/<version>/{model.tflite, labels.txt, model.json, Format-Serving/}
    <output_dir>/serving/latest -> <version>    (a symlink, on local file systems)
    <output_dir>/serving/LATEST                 (on object stores, which have no symlinks: a file holding its name)

No TensorFlow at import, so `mnist-tfx serve` starts at once: URIs reach tf.io.gfile through components/files.py.
"""
import json
import os
import re

from components.common import is_uri
from components import files

SERVING_DIR = "serving"  # under a pipeline's output dir
MODEL_FILE = "model.tflite"
LABELS_FILE = "labels.txt"  # class i on line i; the .tflite packs the same file under this name
METADATA_FILE = "model.json"  # written last: a version without it is incomplete
# The SavedModel under TFX's name for it, so that a version directory is a TFX Model artifact's
# layout: Kubeflow's Evaluator takes the latest version as its baseline (components/baseline_evaluator).
SAVED_MODEL_DIR = "Format-Serving"
LATEST_LINK = "latest"
LATEST_FILE = "LATEST"
VERSION_NAME = re.compile(r"^\d{8}-\d{6}(\+\d{3})?$")


def serving_dir_in(output_dir: str) -> str:
    return os.path.join(output_dir, SERVING_DIR)


def version_dir(serving_dir: str, version: str) -> str:
    return os.path.join(serving_dir, version)


def model_path(version_dir: str) -> str:
    return os.path.join(version_dir, MODEL_FILE)


def labels_path(version_dir: str) -> str:
    return os.path.join(version_dir, LABELS_FILE)


def metadata_path(version_dir: str) -> str:
    return os.path.join(version_dir, METADATA_FILE)


def saved_model_path(version_dir: str) -> str:
    return os.path.join(version_dir, SAVED_MODEL_DIR)


def latest_pointer(serving_dir: str) -> str:
    """The `latest` symlink locally; on a URI the LATEST file, as object stores have no symlinks."""
    return os.path.join(serving_dir, LATEST_FILE if is_uri(serving_dir) else LATEST_LINK)


def version_names(serving_dir: str) -> list[str]:
    """Every version directory, complete or not (a killed publish leaves one without model.json), oldest first."""
    if not files.isdir(serving_dir):
        return []
    return [name for name in files.listdir(serving_dir) if VERSION_NAME.match(name)]


def versions(serving_dir: str) -> list[str]:
    """Complete versions, oldest first (names sort by time)."""
    return [v for v in version_names(serving_dir) if files.exists(metadata_path(version_dir(serving_dir, v)))]


def latest_version(serving_dir: str) -> str | None:
    """The complete version `latest` names; None before the first push."""
    pointer = latest_pointer(serving_dir)
    if is_uri(serving_dir):
        version = files.read_bytes(pointer).decode().strip() if files.exists(pointer) else None
    else:
        version = os.readlink(pointer) if os.path.islink(pointer) else None
    return version if version and files.exists(metadata_path(version_dir(serving_dir, version))) else None


def latest_version_dir(serving_dir: str) -> str | None:
    """Resolved once, so that the files read from it all belong to one version while `latest` moves."""
    version = latest_version(serving_dir)
    return version_dir(serving_dir, version) if version else None


def version_metadata(serving_dir: str, version: str) -> dict:
    return json.loads(files.read_bytes(metadata_path(version_dir(serving_dir, version))))


def latest_metadata(serving_dir: str) -> dict | None:
    version = latest_version(serving_dir)
    return version_metadata(serving_dir, version) if version else None
