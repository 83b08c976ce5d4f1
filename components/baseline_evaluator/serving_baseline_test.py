import os

from tfx.types import standard_artifacts
from tfx.utils import path_utils

from components.baseline_evaluator.serving_baseline import latest_pushed_model
from components.tflite_pusher import publish, serving_layout


def imported(serving_dir) -> standard_artifacts.Model:
    """What the Kubeflow Importer brings in: the serving directory's LATEST file."""
    artifact = standard_artifacts.Model()
    artifact.uri, artifact.id = os.path.join(str(serving_dir), serving_layout.LATEST_FILE), 7
    return artifact


def test_before_the_first_push_there_is_no_baseline(tmp_path):
    assert latest_pushed_model(imported(tmp_path / "serving")) == []


def test_on_an_object_store_the_baseline_is_the_version_the_latest_file_names(tmp_path):
    # A URI, so publish writes as on gs://. (TensorFlow's ram:// appends where GCS replaces an object.)
    serving = f"file://{tmp_path}/serving"
    publish.publish(serving, b"v1", ["0"], {})
    second = publish.publish(serving, b"v2", ["0"], {})
    (model,) = latest_pushed_model(imported(serving))
    assert model.uri == second


def test_the_baseline_is_the_saved_model_of_the_version_latest_names(tmp_path):
    saved_model = tmp_path / "model"
    saved_model.mkdir()
    (saved_model / "saved_model.pb").write_bytes(b"graph")
    serving = tmp_path / "serving"
    publish.publish(str(serving), b"v1", ["0"], {}, saved_model_dir=str(saved_model))
    second = publish.publish(str(serving), b"v2", ["0"], {}, saved_model_dir=str(saved_model))
    serving_dir = imported(serving)
    (model,) = latest_pushed_model(serving_dir)
    assert model.uri == second and model.id == 7 and serving_dir.uri == str(serving / serving_layout.LATEST_FILE)
    model_path = path_utils.serving_model_path(model.uri, path_utils.is_old_model_artifact(model))
    assert os.path.isfile(os.path.join(model_path, "saved_model.pb"))
