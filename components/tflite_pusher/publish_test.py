import hashlib
import json
import os

import pytest
import tensorflow as tf

from components.tflite_pusher import publish


def test_publish_writes_a_complete_version_and_moves_latest(tmp_path):
    serving = str(tmp_path / "serving")
    first = publish.publish(serving, b"model-1", ["0", "1"], {"architecture": "mlp"})
    second = publish.publish(serving, b"model-2", ["0", "1"], {"architecture": "mlp"})
    assert first != second
    assert os.path.realpath(os.path.join(serving, "latest")) == os.path.realpath(second)
    assert open(os.path.join(serving, "latest", "model.tflite"), "rb").read() == b"model-2"
    assert open(os.path.join(first, "labels.txt")).read() == "0\n1\n"
    metadata = json.load(open(os.path.join(second, "model.json")))
    assert metadata["architecture"] == "mlp" and metadata["tflite_bytes"] == 7
    assert sorted(os.listdir(serving)) == sorted([os.path.basename(first), os.path.basename(second), "latest"])


def test_failed_publish_leaves_no_partial_version(tmp_path):
    serving = str(tmp_path / "serving")
    publish.publish(serving, b"model-1", ["0"], {})
    before = sorted(os.listdir(serving))
    with pytest.raises(TypeError):
        publish.publish(serving, b"model-2", ["0"], {"not json": object()})
    assert sorted(os.listdir(serving)) == before
    assert not os.path.exists(publish.staging_dir(serving))


def test_publish_clears_what_a_killed_publish_left_in_staging(tmp_path):
    serving = str(tmp_path / "serving")
    publish.publish(serving, b"model-1", ["0"], {})
    half_written = os.path.join(publish.staging_dir(serving), "20260101-000000")
    os.makedirs(half_written)
    open(os.path.join(half_written, "model.tflite"), "wb").write(b"half")
    second = publish.publish(serving, b"model-2", ["0"], {})
    assert not os.path.exists(publish.staging_dir(serving))
    assert sorted(os.listdir(serving)) == sorted([*publish.versions(serving), "latest"])
    assert os.path.realpath(os.path.join(serving, "latest")) == os.path.realpath(second)


def test_keep_versions_prunes_the_oldest_but_never_latest(tmp_path):
    serving = str(tmp_path / "serving")
    published = [publish.publish(serving, f"model-{i}".encode(), ["0"], {}, keep_versions=2) for i in range(4)]
    assert publish.versions(serving) == [os.path.basename(p) for p in published[-2:]]
    assert os.path.realpath(os.path.join(serving, "latest")) == os.path.realpath(published[-1])


def test_publish_to_an_object_store_writes_model_json_last_then_the_latest_pointer(tmp_path):
    """A URI takes the object-store path through tf.io.gfile: file:// stands in for gs:// and
    s3://, which the tests do not reach."""
    serving = f"file://{tmp_path}/serving"
    saved_model = tmp_path / "saved_model"
    (saved_model / "variables").mkdir(parents=True)
    (saved_model / "saved_model.pb").write_bytes(b"graph")
    (saved_model / "variables" / "variables.index").write_bytes(b"index")
    publish.publish(serving, b"model-1", ["0", "1"], {})
    killed = os.path.join(serving, "20990101-000000")  # a publish killed before model.json
    tf.io.gfile.makedirs(killed)
    tf.io.gfile.GFile(os.path.join(killed, "model.tflite"), "wb").write(b"half")
    assert len(publish.versions(serving)) == 1
    second = publish.publish(serving, b"model-2", ["0", "1"], {}, saved_model_dir=str(saved_model), keep_versions=1)
    assert publish.versions(serving) == [os.path.basename(second)]
    assert not tf.io.gfile.exists(killed)
    assert tf.io.gfile.GFile(os.path.join(serving, "LATEST")).read() == os.path.basename(second) + "\n"
    assert publish.latest_metadata(serving)["tflite_sha256"] == hashlib.sha256(b"model-2").hexdigest()
    assert tf.io.gfile.GFile(os.path.join(second, publish.SAVED_MODEL_DIR, "variables", "variables.index"), "rb").read() == b"index"
    assert tf.io.gfile.GFile(os.path.join(second, "labels.txt")).read() == "0\n1\n"
    assert sorted(os.listdir(tmp_path / "serving")) == sorted(["LATEST", os.path.basename(second)])  # no symlink
