"""Real TFX StatisticsGen and ExampleValidator executors on tf.Examples that break the schema."""
import os
import shutil

import numpy as np
import pytest
import tensorflow as tf
from tensorflow_metadata.proto.v0 import anomalies_pb2
from tfx.components.example_validator import executor as example_validator_executor
from tfx.components.statistics_gen import executor as statistics_executor
from tfx.types import artifact_utils, standard_artifacts
from tfx.types.standard_component_specs import ANOMALIES_KEY, EXAMPLES_KEY, SCHEMA_KEY, STATISTICS_KEY
from tfx.utils import io_utils

from components.mnist_example_gen.examples import to_serialized_examples
from components.strict_example_validator.executor import AnomaliesFound, Executor

SCHEMA = os.path.join(os.path.dirname(__file__), "..", "..", "pipeline", "schema", "schema.pbtxt")


def _artifact(cls, uri, splits=None):
    artifact = cls()
    artifact.uri = str(uri)
    if splits:
        artifact.split_names = artifact_utils.encode_split_names(splits)
    return artifact


def validate(tmp_path, images, labels):
    examples = _artifact(standard_artifacts.Examples, tmp_path / "examples", ["train"])
    os.makedirs(tmp_path / "examples" / "Split-train")
    with tf.io.TFRecordWriter(str(tmp_path / "examples" / "Split-train" / "data.gz"), "GZIP") as writer:
        for record in to_serialized_examples(images, labels, "mnist"):
            writer.write(record)
    schema = _artifact(standard_artifacts.Schema, tmp_path / "schema")
    os.makedirs(schema.uri)
    shutil.copy(SCHEMA, os.path.join(schema.uri, "schema.pbtxt"))
    statistics = _artifact(standard_artifacts.ExampleStatistics, tmp_path / "statistics")
    statistics_executor.Executor().Do({EXAMPLES_KEY: [examples], SCHEMA_KEY: [schema]}, {STATISTICS_KEY: [statistics]},
                                      {})
    anomalies = _artifact(standard_artifacts.ExampleAnomalies, tmp_path / "anomalies")
    Executor().Do({STATISTICS_KEY: [statistics], SCHEMA_KEY: [schema]}, {ANOMALIES_KEY: [anomalies]}, {})
    return anomalies


def test_clean_mnist_passes_with_an_empty_anomalies_report(tmp_path, mnist_train_slice):
    anomalies = validate(tmp_path, mnist_train_slice[0][:300], mnist_train_slice[1][:300])
    assert artifact_utils.decode_split_names(anomalies.split_names) == ["train"]
    report = anomalies_pb2.Anomalies.FromString(io_utils.read_bytes_file(
        os.path.join(anomalies.uri, "Split-train", example_validator_executor.DEFAULT_FILE_NAME)))
    assert {feature.name for feature in report.baseline.feature} == {"image", "label", "source"}  # checked against our schema
    assert not report.anomaly_info and not report.HasField("dataset_anomaly_info")


def test_out_of_range_label_stops_the_run_and_is_named(tmp_path, mnist_train_slice):
    labels = mnist_train_slice[1][:300].astype(np.int64)
    labels[5] = 12
    with pytest.raises(AnomaliesFound, match=r"split 'train' feature 'label': .*Unexpectedly large value: 12\."):
        validate(tmp_path, mnist_train_slice[0][:300], labels)


def test_a_split_missing_digits_is_stopped(tmp_path, mnist_train_slice):
    labels = np.full(300, 3, dtype=np.int64)
    with pytest.raises(AnomaliesFound, match=r"split 'train' feature 'label': Low number of unique values "
                                             r"\(Expected at least 10 unique values but found only 1\.\)"):
        validate(tmp_path, mnist_train_slice[0][:300], labels)
