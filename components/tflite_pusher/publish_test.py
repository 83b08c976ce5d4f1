import hashlib
import json
import os

import pytest
import tensorflow as tf

from components.tflite_pusher import publish, serving_layout


def test_publish_writes_a_complete_version_and_moves_latest(tmp_path):
    serving = str(tmp_path / "serving")
    first = publish.publish(serving, b"model-1", ["0", "1"], {"architecture": "mlp"})
    second = publish.publish(serving, b"model-2", ["0", "1"], {"architecture": "mlp"})
    assert first != second
    latest = serving_layout.latest_pointer(serving)
    assert os.path.realpath(latest) == os.path.realpath(second)
    assert open(serving_layout.model_path(latest), "rb").read() == b"model-2"
    assert open(serving_layout.labels_path(first)).read() == "0\n1\n"
    metadata = json.load(open(serving_layout.metadata_path(second)))
    assert metadata["architecture"] == "mlp" and metadata["tflite_bytes"] == 7
    assert sorted(os.listdir(serving)) == sorted([os.path.basename(first), os.path.basename(second),
                                                  serving_layout.LATEST_LINK])


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
    half_written = serving_layout.version_dir(publish.staging_dir(serving), "20260101-000000")
    os.makedirs(half_written)
    open(serving_layout.model_path(half_written), "wb").write(b"half")
    second = publish.publish(serving, b"model-2", ["0"], {})
    assert not os.path.exists(publish.staging_dir(serving))
    assert sorted(os.listdir(serving)) == sorted([*serving_layout.versions(serving), serving_layout.LATEST_LINK])
    assert os.path.realpath(serving_layout.latest_pointer(serving)) == os.path.realpath(second)


def test_keep_versions_prunes_the_oldest_but_never_latest(tmp_path):
    serving = str(tmp_path / "serving")
    published = [publish.publish(serving, f"model-{i}".encode(), ["0"], {}, keep_versions=2) for i in range(4)]
    assert serving_layout.versions(serving) == [os.path.basename(p) for p in published[-2:]]
    assert os.path.realpath(serving_layout.latest_pointer(serving)) == os.path.realpath(published[-1])


def test_publish_to_an_object_store_writes_model_json_last_then_the_latest_pointer(tmp_path):
    """A URI takes the object-store path through tf.io.gfile: file:// stands in for gs:// and
    s3://, which the tests do not reach."""
    serving = f"file://{tmp_path}/serving"
    saved_model = tmp_path / "saved_model"
    (saved_model / "variables").mkdir(parents=True)
    (saved_model / "saved_model.pb").write_bytes(b"graph")
    (saved_model / "variables" / "variables.index").write_bytes(b"index")
    publish.publish(serving, b"model-1", ["0", "1"], {})
    killed = serving_layout.version_dir(serving, "20990101-000000")  # a publish killed before model.json
    tf.io.gfile.makedirs(killed)
    tf.io.gfile.GFile(serving_layout.model_path(killed), "wb").write(b"half")
    assert len(serving_layout.versions(serving)) == 1
    second = publish.publish(serving, b"model-2", ["0", "1"], {}, saved_model_dir=str(saved_model), keep_versions=1)
    assert serving_layout.versions(serving) == [os.path.basename(second)]
    assert not tf.io.gfile.exists(killed)
    latest_file = os.path.join(serving, serving_layout.LATEST_FILE)
    assert tf.io.gfile.GFile(latest_file).read() == os.path.basename(second) + "\n"
    assert serving_layout.latest_metadata(serving)["tflite_sha256"] == hashlib.sha256(b"model-2").hexdigest()
    assert tf.io.gfile.GFile(os.path.join(serving_layout.saved_model_path(second), "variables", "variables.index"),
                             "rb").read() == b"index"
    assert tf.io.gfile.GFile(serving_layout.labels_path(second)).read() == "0\n1\n"
    assert sorted(os.listdir(tmp_path / "serving")) == sorted([serving_layout.LATEST_FILE,
                                                                os.path.basename(second)])  # no symlink
