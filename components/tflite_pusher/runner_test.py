"""runner.push on a real exported MLP and real MNIST tf.Examples written as ExampleGen writes them."""
import os

import numpy as np
import pytest
import tensorflow as tf

from components.mnist_example_gen.examples import to_serialized_examples
from components.tflite_pusher import runner, serving_layout, tflite
from components.tflite_pusher.metadata import read_metadata
from components.tflite_pusher.settings import MAX_ACCURACY_GAP
from models.features import SERVING_IMAGES_SIGNATURE
from pipeline.config import PipelineConfig


@pytest.fixture(scope="module")
def examples_dirs(mnist_train_slice, mnist_eval, tmp_path_factory):
    """Split-train and Split-eval directories of gzip TFRecords."""
    root = tmp_path_factory.mktemp("examples")
    for split, (images, labels) in (("train", mnist_train_slice), ("eval", (mnist_eval[0][:500], mnist_eval[1][:500]))):
        os.makedirs(root / f"Split-{split}")
        with tf.io.TFRecordWriter(str(root / f"Split-{split}" / "data.gz"), options="GZIP") as writer:
            for record in to_serialized_examples(images, labels, "mnist"):
                writer.write(record)
    return str(root / "Split-eval"), str(root / "Split-train")


@pytest.fixture(scope="module")
def evaluated_accuracy(exported_mlp, mnist_eval):
    classes = tflite.saved_model_classes(exported_mlp, SERVING_IMAGES_SIGNATURE, mnist_eval[0][:500])
    return float(np.mean(classes == mnist_eval[1][:500]))


def settings(serving_dir, quantize="none", **overrides):
    return runner.PushSettings(**{"serving_dir": serving_dir, "quantize": quantize,
                                  "max_accuracy_gap": MAX_ACCURACY_GAP,
                                  "max_quantization_drop": PipelineConfig().max_quantization_drop, "keep_versions": 0,
                                  "config": {"architecture": "mlp", "labels": [str(d) for d in range(10)],
                                             "author": "Digit Team", "license": "MIT"},
                                  **overrides})


def test_push_publishes_a_verified_model_with_its_model_json(exported_mlp, examples_dirs, evaluated_accuracy,
                                                             mnist_eval, tmp_path):
    serving = str(tmp_path / "serving")
    result = runner.push(exported_mlp, "model-uri-1", *examples_dirs, evaluated_accuracy, settings(serving),
                         str(tmp_path), pipeline_run_id="run-1")
    assert result.problem is None and result.version == serving_layout.latest_version(serving)
    metadata = serving_layout.latest_metadata(serving)
    assert metadata["metrics"]["tflite_accuracy"] == result.tflite_accuracy == pytest.approx(evaluated_accuracy,
                                                                                             abs=0.001)
    assert metadata["metrics"]["eval_examples"] == 500 and metadata["metrics"]["class_agreement_with_saved_model"] >= 0.9995
    assert metadata["input"] == {"name": "image", "dtype": "uint8", "shape": [1, 28, 28, 3],
                                 "description": metadata["input"]["description"]}
    assert metadata["output"]["shape"] == [1, 10] and metadata["pipeline_run_id"] == "run-1"
    assert metadata["model_uri"] == "model-uri-1" and metadata["architecture"] == "mlp"
    version_dir = serving_layout.version_dir(serving, result.version)
    model = open(serving_layout.model_path(version_dir), "rb").read()
    assert open(serving_layout.model_path(str(tmp_path)), "rb").read() == model  # the PushedModel artifact's copy
    # The parity check's accuracy is the published file's: its metadata is inside.
    assert tflite.accuracy(tflite.predict(model, mnist_eval[0][:500]), mnist_eval[1][:500]) == result.tflite_accuracy
    written = read_metadata(model)
    assert written["metadata"]["version"] == result.version
    assert (written["metadata"]["author"], written["metadata"]["license"]) == ("Digit Team", "MIT")
    assert written["files"][serving_layout.LABELS_FILE] == open(serving_layout.labels_path(version_dir)).read()

    again = runner.push(exported_mlp, "model-uri-1", *examples_dirs, evaluated_accuracy, settings(serving),
                        str(tmp_path))
    assert again.already_published and again.version == result.version
    assert serving_layout.versions(serving) == [result.version]


def test_model_json_names_the_labels_also_when_the_config_does_not(exported_mlp, examples_dirs, evaluated_accuracy,
                                                                    tmp_path):
    serving = str(tmp_path / "serving")
    result = runner.push(exported_mlp, "model-uri-1", *examples_dirs, evaluated_accuracy,
                         settings(serving, config={"architecture": "mlp"}), str(tmp_path))
    labels = open(serving_layout.labels_path(serving_layout.version_dir(serving, result.version))).read().splitlines()
    assert serving_layout.latest_metadata(serving)["labels"] == labels == [str(d) for d in range(10)]


def test_push_refuses_a_model_that_does_not_score_like_the_evaluated_one(exported_mlp, examples_dirs,
                                                                         evaluated_accuracy, tmp_path):
    serving = str(tmp_path / "serving")
    result = runner.push(exported_mlp, "model-uri-1", *examples_dirs, evaluated_accuracy + 0.05, settings(serving),
                         str(tmp_path))
    assert result.version is None and result.problem.startswith("TFLite accuracy")
    assert not os.path.exists(serving) and not os.path.exists(serving_layout.model_path(str(tmp_path)))


def test_int8_push_calibrates_on_the_training_split(exported_mlp, examples_dirs, evaluated_accuracy, tmp_path):
    serving = str(tmp_path / "serving")
    result = runner.push(exported_mlp, "model-uri-1", *examples_dirs, evaluated_accuracy,
                         settings(serving, "int8", max_quantization_drop=1), str(tmp_path))
    assert result.problem is None
    metadata = serving_layout.latest_metadata(serving)
    assert metadata["quantize"] == "int8" and metadata["metrics"]["class_agreement_with_saved_model"] is None
    assert metadata["tflite_bytes"] < 0.35 * len(tflite.convert(exported_mlp, SERVING_IMAGES_SIGNATURE))
