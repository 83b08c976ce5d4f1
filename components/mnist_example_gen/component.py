"""MnistExampleGen: MNIST-format files (IDX .gz or Keras mnist.npz) plus any spans of new data
(components/mnist_example_gen/spans.py) -> tf.Examples in train/eval splits, each tagged with its source.

Its driver resolves the data once, before TFX consults its cache: the data fingerprint
(fingerprint.py) names the files read by their contents, so changed or new data means a new run,
and the same data, wherever it lies, a cache hit.
"""
import os

from tfx import types
from tfx.components.example_gen import driver, utils
from tfx.dsl.components.base import base_beam_component, executor_spec
from tfx.types import standard_artifacts

from components.mnist_example_gen import executor, fingerprint
from components.mnist_example_gen.spec import (DATA_FINGERPRINT_KEY, DATASET_KEY, EXAMPLES_KEY, INPUT_BASE_KEY,
                                               MAX_SPANS_KEY, MnistExampleGenSpec)


class DataFingerprintDriver(driver.Driver):
    """In place of TFX's FileBasedDriver, whose input fingerprint holds the files' paths, sizes and
    modification times: the data fingerprint becomes the parameter the executor reads the data by
    and the input fingerprint, and the input path one named by the fingerprint alone
    (fingerprint.location_by_content, a link beside ExampleGen's outputs), so the cache key holds
    what the data is, not where it lies."""

    def run(self, execution_info):
        # Outputs are <pipeline_root>/<component id>/examples/<execution id>; the link lives beside them,
        # in the output dir whose ML Metadata holds the cache, not in the home of whoever runs.
        node_dir = os.path.dirname(os.path.dirname(execution_info.output_dict[EXAMPLES_KEY][0].uri))
        self._links_dir = os.path.join(node_dir, fingerprint.BY_CONTENT_DIR)
        return super().run(execution_info)

    def resolve_exec_properties(self, exec_properties, pipeline_info, component_info):
        del pipeline_info, component_info
        data_dir = exec_properties[INPUT_BASE_KEY]
        value = fingerprint.data_fingerprint(data_dir, exec_properties[DATASET_KEY], exec_properties[MAX_SPANS_KEY])
        exec_properties[DATA_FINGERPRINT_KEY] = value
        exec_properties[INPUT_BASE_KEY] = fingerprint.location_by_content(data_dir, value, self._links_dir)
        # What TFX's ExampleGen drivers record on the Examples artifact; no file name holds a span or version.
        exec_properties[utils.FINGERPRINT_PROPERTY_NAME] = value
        exec_properties[utils.SPAN_PROPERTY_NAME] = 0
        exec_properties[utils.VERSION_PROPERTY_NAME] = None
        return exec_properties


class MnistExampleGen(base_beam_component.BaseBeamComponent):
    """Splits `train` (the training files) and `eval` (the test files), each with its share of every
    span (or of the newest max_spans); the example limits apply to the base dataset; 0 means no limit."""

    SPEC_CLASS = MnistExampleGenSpec
    EXECUTOR_SPEC = executor_spec.BeamExecutorSpec(executor.Executor)
    DRIVER_CLASS = DataFingerprintDriver

    def __init__(self, data_dir: str, dataset: str = "mnist", max_train_examples: int = 0,
                 max_eval_examples: int = 0, max_spans: int = 0, code_version: str = "", data_fingerprint=None):
        super().__init__(spec=MnistExampleGenSpec(
            input_base=data_dir,
            dataset=dataset,
            max_train_examples=max_train_examples,
            max_eval_examples=max_eval_examples,
            max_spans=max_spans,
            code_version=code_version,
            data_fingerprint=data_fingerprint,
            examples=types.Channel(type=standard_artifacts.Examples),
        ))
