"""Runs TFX's ExampleValidator executor, then raises AnomaliesFound naming each anomaly."""
import os

from tfx.components.example_validator import executor as example_validator_executor
from tfx.types import artifact_utils, standard_component_specs
from tfx.utils import io_utils
from tensorflow_metadata.proto.v0 import anomalies_pb2

from components.common import DataError


class AnomaliesFound(DataError):
    """The data parsed, but its statistics break the schema."""


def describe(anomalies: anomalies_pb2.Anomalies) -> list[str]:
    found = [f"feature '{name}': {info.short_description} ({info.description})"
             for name, info in sorted(anomalies.anomaly_info.items())]
    if anomalies.HasField("dataset_anomaly_info"):
        info = anomalies.dataset_anomaly_info
        found.append(f"dataset: {info.short_description} ({info.description})")
    return found


class Executor(example_validator_executor.Executor):

    def Do(self, input_dict, output_dict, exec_properties):
        result = super().Do(input_dict, output_dict, exec_properties)
        anomalies_artifact = artifact_utils.get_single_instance(output_dict[standard_component_specs.ANOMALIES_KEY])
        problems = []
        for split in artifact_utils.decode_split_names(anomalies_artifact.split_names):
            path = os.path.join(artifact_utils.get_split_uri([anomalies_artifact], split),
                                example_validator_executor.DEFAULT_FILE_NAME)
            anomalies = anomalies_pb2.Anomalies.FromString(io_utils.read_bytes_file(path))
            problems += [f"split '{split}' {p}" for p in describe(anomalies)]
        if problems:
            raise AnomaliesFound("ExampleValidator found anomalies: " + "; ".join(problems))
        return result
