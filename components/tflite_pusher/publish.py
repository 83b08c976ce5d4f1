"""The serving directory: versions published whole, `latest` moved atomically, old versions pruned.

    <serving_dir>/<version>/{model.tflite, labels.txt, model.json, Format-Serving/}
    <serving_dir>/latest -> <version>    (a file LATEST holding the name on object stores)
"""
import datetime
import hashlib
import json
import os
import re
import shutil

import tensorflow as tf

from components.common import is_uri

# The SavedModel under TFX's name for it, so that a version directory is a TFX Model artifact's
# layout: Kubeflow's Evaluator takes the latest version as its baseline (components/baseline_evaluator).
SAVED_MODEL_DIR = "Format-Serving"
LATEST = "latest"  # a symlink to the newest version on local file systems
LATEST_POINTER = "LATEST"  # on object stores, which have no symlinks: a file holding its name
VERSION_NAME = re.compile(r"^\d{8}-\d{6}(\+\d{3})?$")


def new_version(serving_dir: str) -> str:
    """A UTC timestamp, made strictly greater than every existing version so that names sort by age."""
    version = datetime.datetime.now(datetime.timezone.utc).strftime("%Y%m%d-%H%M%S")
    existing = versions(serving_dir)
    if existing and version <= existing[-1]:
        stamp, _, count = existing[-1].partition("+")
        version = f"{stamp}+{int(count or 1) + 1:03d}"
    return version


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


def version_metadata(serving_dir: str, version: str) -> dict:
    return json.loads(tf.io.gfile.GFile(os.path.join(serving_dir, version, "model.json")).read())


def latest_metadata(serving_dir: str) -> dict | None:
    version = latest_version(serving_dir)
    return version_metadata(serving_dir, version) if version else None


def _write(path: str, data: bytes | str) -> None:
    """Closed here, so that a failed upload to an object store raises instead of passing unseen."""
    with tf.io.gfile.GFile(path, "wb" if isinstance(data, bytes) else "w") as f:
        f.write(data)


def _write_version(version_dir: str, tflite_model: bytes, labels: list[str], metadata_json: str,
                   saved_model_dir: str | None) -> None:
    """model.json goes last: on an object store, a version without it is incomplete."""
    tf.io.gfile.makedirs(version_dir)
    _write(os.path.join(version_dir, "model.tflite"), tflite_model)
    _write(os.path.join(version_dir, "labels.txt"), "\n".join(labels) + "\n")
    if saved_model_dir:
        for directory, _, files in tf.io.gfile.walk(saved_model_dir):
            relative = os.path.relpath(directory, saved_model_dir)
            target = os.path.join(version_dir, SAVED_MODEL_DIR, "" if relative == "." else relative)
            tf.io.gfile.makedirs(target)
            for name in files:
                tf.io.gfile.copy(os.path.join(directory, name), os.path.join(target, name))
    _write(os.path.join(version_dir, "model.json"), metadata_json)


def publish(serving_dir: str, tflite_model: bytes, labels: list[str], metadata: dict,
            saved_model_dir: str | None = None, keep_versions: int = 0, version: str | None = None) -> str:
    """Writes <serving_dir>/<version>/{model.tflite, labels.txt, model.json[, Format-Serving/]}, then
    moves `latest` and prunes all but the newest `keep_versions` (0: keep all; never `latest`).

    On a local file system the version is assembled in a staging directory beside serving_dir and
    renamed into place, and the `latest` symlink is replaced by an atomic rename, so readers only
    ever see complete versions, even if the process is killed. Callers hold the run lock: a
    publish clears what a killed one left behind. `version` is new_version()'s, taken earlier by
    a caller that writes it into the model (default: taken now). On an object store (gs://, s3://) the version is
    written in place with model.json last, then the LATEST file names it.
    """
    tf.io.gfile.makedirs(serving_dir)
    for name in set(_version_dirs(serving_dir)) - set(versions(serving_dir)):
        tf.io.gfile.rmtree(os.path.join(serving_dir, name))  # left incomplete by a killed publish
    version = version or new_version(serving_dir)
    metadata_json = json.dumps({**metadata, "version": version, "tflite_bytes": len(tflite_model),
                                "tflite_sha256": hashlib.sha256(tflite_model).hexdigest()}, indent=2)
    if is_uri(serving_dir):
        _write_version(os.path.join(serving_dir, version), tflite_model, labels, metadata_json, saved_model_dir)
        _write(os.path.join(serving_dir, LATEST_POINTER), version + "\n")
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
