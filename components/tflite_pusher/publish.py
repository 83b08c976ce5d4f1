"""The serving directory (serving_layout.py): versions published whole, `latest` moved atomically,
old versions pruned."""
import datetime
import hashlib
import json
import os
import shutil

import tensorflow as tf

from components.common import is_uri
from components.tflite_pusher import serving_layout


def new_version(serving_dir: str) -> str:
    """A UTC timestamp, made strictly greater than every existing version so that names sort by age."""
    version = datetime.datetime.now(datetime.timezone.utc).strftime("%Y%m%d-%H%M%S")
    existing = serving_layout.versions(serving_dir)
    if existing and version <= existing[-1]:
        stamp, _, count = existing[-1].partition("+")
        version = f"{stamp}+{int(count or 1) + 1:03d}"
    return version


def staging_dir(serving_dir: str) -> str:
    """Beside serving_dir, on the same file system so that renames from it are atomic."""
    serving_dir = os.path.abspath(serving_dir)
    return os.path.join(os.path.dirname(serving_dir), f".{os.path.basename(serving_dir)}-staging")


def _write(path: str, data: bytes | str) -> None:
    """Closed here, so that a failed upload to an object store raises instead of passing unseen."""
    with tf.io.gfile.GFile(path, "wb" if isinstance(data, bytes) else "w") as f:
        f.write(data)


def _write_version(version_dir: str, tflite_model: bytes, labels: list[str], metadata_json: str,
                   saved_model_dir: str | None) -> None:
    """model.json goes last: on an object store, a version without it is incomplete."""
    tf.io.gfile.makedirs(version_dir)
    _write(serving_layout.model_path(version_dir), tflite_model)
    _write(serving_layout.labels_path(version_dir), "\n".join(labels) + "\n")
    if saved_model_dir:
        for directory, _, files in tf.io.gfile.walk(saved_model_dir):
            relative = os.path.relpath(directory, saved_model_dir)
            target = os.path.join(serving_layout.saved_model_path(version_dir), "" if relative == "." else relative)
            tf.io.gfile.makedirs(target)
            for name in files:
                tf.io.gfile.copy(os.path.join(directory, name), os.path.join(target, name))
    _write(serving_layout.metadata_path(version_dir), metadata_json)


def publish(serving_dir: str, tflite_model: bytes, labels: list[str], metadata: dict,
            saved_model_dir: str | None = None, keep_versions: int = 0, version: str | None = None) -> str:
    """Writes a version (serving_layout.py; its SavedModel only with saved_model_dir), then moves
    `latest` and prunes all but the newest `keep_versions` (0: keep all; never `latest`).

    On a local file system the version is assembled in a staging directory beside serving_dir and
    renamed into place, and the `latest` symlink is replaced by an atomic rename, so readers only
    ever see complete versions, even if the process is killed. Callers hold the run lock: a
    publish clears what a killed one left behind. `version` is new_version()'s, taken earlier by
    a caller that writes it into the model (default: taken now). On an object store (gs://, s3://) the version is
    written in place with model.json last, then the LATEST file names it.
    """
    tf.io.gfile.makedirs(serving_dir)
    for name in set(serving_layout.version_names(serving_dir)) - set(serving_layout.versions(serving_dir)):
        tf.io.gfile.rmtree(serving_layout.version_dir(serving_dir, name))  # left incomplete by a killed publish
    version = version or new_version(serving_dir)
    metadata_json = json.dumps({**metadata, "version": version, "tflite_bytes": len(tflite_model),
                                "tflite_sha256": hashlib.sha256(tflite_model).hexdigest()}, indent=2)
    if is_uri(serving_dir):
        _write_version(serving_layout.version_dir(serving_dir, version), tflite_model, labels, metadata_json,
                       saved_model_dir)
        _write(serving_layout.latest_pointer(serving_dir), version + "\n")
    else:
        staging_root = staging_dir(serving_dir)
        shutil.rmtree(staging_root, ignore_errors=True)
        try:
            staging = serving_layout.version_dir(staging_root, version)
            _write_version(staging, tflite_model, labels, metadata_json, saved_model_dir)
            os.rename(staging, serving_layout.version_dir(serving_dir, version))
            link = serving_layout.latest_pointer(staging_root)
            os.symlink(version, link)
            os.replace(link, serving_layout.latest_pointer(serving_dir))
        finally:
            shutil.rmtree(staging_root, ignore_errors=True)
    if keep_versions:
        for old in serving_layout.versions(serving_dir)[:-keep_versions]:
            if old != version:
                tf.io.gfile.rmtree(serving_layout.version_dir(serving_dir, old))
    return serving_layout.version_dir(serving_dir, version)
