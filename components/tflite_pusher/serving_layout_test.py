import json
import os
import subprocess
import sys
import uuid

import tensorflow as tf

from components.tflite_pusher import serving_layout


def write_version(serving_dir: str, version: str, complete: bool = True) -> None:
    """A version as publish leaves it; without model.json, as a killed publish leaves it on an object store."""
    directory = serving_layout.version_dir(serving_dir, version)
    tf.io.gfile.makedirs(directory)
    with tf.io.gfile.GFile(serving_layout.model_path(directory), "wb") as f:
        f.write(b"model")
    if complete:
        with tf.io.gfile.GFile(serving_layout.metadata_path(directory), "w") as f:
            f.write(json.dumps({"version": version}))


def test_before_the_first_push_there_is_nothing(tmp_path):
    for serving_dir in (str(tmp_path / "serving"), f"ram://layout-{uuid.uuid4().hex}/serving"):
        assert serving_layout.versions(serving_dir) == []
        assert serving_layout.latest_version(serving_dir) is None
        assert serving_layout.latest_version_dir(serving_dir) is None
        assert serving_layout.latest_metadata(serving_dir) is None


def test_locally_latest_is_the_symlink_and_only_complete_versions_count(tmp_path):
    serving_dir = str(tmp_path / "serving")
    write_version(serving_dir, "20260101-000000")
    write_version(serving_dir, "20260102-000000")
    write_version(serving_dir, "20260103-000000", complete=False)
    os.makedirs(os.path.join(serving_dir, "not-a-version"))
    os.symlink("20260102-000000", serving_layout.latest_pointer(serving_dir))
    assert serving_layout.latest_pointer(serving_dir) == os.path.join(serving_dir, serving_layout.LATEST_LINK)
    assert serving_layout.version_names(serving_dir) == ["20260101-000000", "20260102-000000", "20260103-000000"]
    assert serving_layout.versions(serving_dir) == ["20260101-000000", "20260102-000000"]
    assert serving_layout.latest_version(serving_dir) == "20260102-000000"
    assert serving_layout.latest_version_dir(serving_dir) == os.path.join(serving_dir, "20260102-000000")
    assert serving_layout.latest_metadata(serving_dir) == {"version": "20260102-000000"}
    assert os.path.isfile(serving_layout.model_path(serving_layout.latest_version_dir(serving_dir)))


def test_latest_naming_an_incomplete_version_names_none(tmp_path):
    serving_dir = str(tmp_path / "serving")
    write_version(serving_dir, "20260101-000000", complete=False)
    os.symlink("20260101-000000", serving_layout.latest_pointer(serving_dir))
    assert serving_layout.latest_version(serving_dir) is None


def test_on_an_object_store_latest_is_the_file_naming_the_version():
    serving_dir = f"ram://layout-{uuid.uuid4().hex}/serving"
    write_version(serving_dir, "20260101-000000")
    write_version(serving_dir, "20260102-000000+002")
    with tf.io.gfile.GFile(serving_layout.latest_pointer(serving_dir), "w") as f:
        f.write("20260101-000000\n")
    assert serving_layout.latest_pointer(serving_dir) == f"{serving_dir}/{serving_layout.LATEST_FILE}"
    assert serving_layout.versions(serving_dir) == ["20260101-000000", "20260102-000000+002"]
    assert serving_layout.latest_version(serving_dir) == "20260101-000000"
    assert serving_layout.version_metadata(serving_dir, "20260102-000000+002") == {"version": "20260102-000000+002"}


def test_on_an_object_store_latest_moves_when_the_file_is_replaced(tmp_path):
    """file://, as ram:// appends to a file opened for writing where gs:// replaces the object."""
    serving_dir = f"file://{tmp_path}/serving"
    for version in ("20260101-000000", "20260102-000000"):
        write_version(serving_dir, version)
        with tf.io.gfile.GFile(serving_layout.latest_pointer(serving_dir), "w") as f:
            f.write(version + "\n")
        assert serving_layout.latest_metadata(serving_dir) == {"version": version}
    assert not os.path.islink(tmp_path / "serving" / serving_layout.LATEST_LINK)


def test_reading_the_layout_locally_imports_no_tensorflow(tmp_path):
    serving_dir = str(tmp_path / "serving")
    write_version(serving_dir, "20260101-000000")
    os.symlink("20260101-000000", serving_layout.latest_pointer(serving_dir))
    code = ("import sys; from components.tflite_pusher import serving_layout as s; "
            f"assert s.latest_metadata({serving_dir!r}) == {{'version': '20260101-000000'}}; "
            "assert 'tensorflow' not in sys.modules")
    subprocess.run([sys.executable, "-c", code], check=True, cwd=os.path.dirname(os.path.dirname(
        os.path.dirname(os.path.abspath(__file__)))))
