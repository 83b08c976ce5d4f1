"""Thin TFX plumbing: one call into MnistExampleGen's fingerprint.data_fingerprint, written as the String output."""
from typing import Any, Dict, List

from absl import logging
from tfx import types
from tfx.dsl.components.base import base_executor
from tfx.types import artifact_utils

from components.mnist_example_gen.fingerprint import data_fingerprint
from components.data_fingerprint.spec import DATA_DIR_KEY, DATASET_KEY, FINGERPRINT_KEY, MAX_SPANS_KEY


class Executor(base_executor.BaseExecutor):

    def Do(self, input_dict: Dict[str, List[types.Artifact]], output_dict: Dict[str, List[types.Artifact]],
           exec_properties: Dict[str, Any]) -> None:
        value = data_fingerprint(exec_properties[DATA_DIR_KEY], exec_properties[DATASET_KEY],
                                 exec_properties[MAX_SPANS_KEY])
        logging.info("Data fingerprint:\n%s", value)
        artifact_utils.get_single_instance(output_dict[FINGERPRINT_KEY]).write(value)
