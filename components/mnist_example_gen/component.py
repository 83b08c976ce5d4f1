"""MnistExampleGen: MNIST-format files (IDX .gz or Keras mnist.npz) plus any spans of new data
(components/mnist_example_gen/spans.py) -> tf.Examples in train/eval splits, each tagged with its source.

It runs under TFX's FileBasedDriver, extended with the spans' fingerprints, so the input files are
part of the cache key: changed or new data means a new run, unchanged data a cache hit.
"""
from tfx import types
from tfx.components.example_gen import driver, utils
from tfx.dsl.components.base import base_beam_component, executor_spec
from tfx.proto import example_gen_pb2
from tfx.types import standard_artifacts

from components.mnist_example_gen import datasets, executor, fingerprint, spans
from components.mnist_example_gen.spec import INPUT_BASE_KEY, MAX_SPANS_KEY, MnistExampleGenSpec


class SpansDriver(driver.FileBasedDriver):
    """TFX's FileBasedDriver, with each span's fingerprint added to the input fingerprint."""

    def resolve_exec_properties(self, exec_properties, pipeline_info, component_info):
        exec_properties = super().resolve_exec_properties(exec_properties, pipeline_info, component_info)
        found = spans.find(exec_properties[INPUT_BASE_KEY], exec_properties[MAX_SPANS_KEY])
        exec_properties[utils.FINGERPRINT_PROPERTY_NAME] += spans.fingerprint_lines(found)
        return exec_properties


class MnistExampleGen(base_beam_component.BaseBeamComponent):
    """Splits `train` (the training files) and `eval` (the test files), each with its share of every
    span (or of the newest max_spans); the example limits apply to the base dataset; 0 means no limit."""

    SPEC_CLASS = MnistExampleGenSpec
    EXECUTOR_SPEC = executor_spec.BeamExecutorSpec(executor.Executor)
    DRIVER_CLASS = SpansDriver

    def __init__(self, data_dir: str, dataset: str = "mnist", max_train_examples: int = 0,
                 max_eval_examples: int = 0, max_spans: int = 0, code_version: str = "", data_fingerprint=None):
        # The patterns only decide which files are fingerprinted; the executor reads each split
        # by its name (see datasets.SPLIT_SOURCES).
        patterns = fingerprint.fingerprint_patterns(data_dir, datasets.DATASETS[dataset])
        input_config = example_gen_pb2.Input(splits=[
            example_gen_pb2.Input.Split(name=name, pattern=pattern) for name, pattern in patterns.items()])
        spec = MnistExampleGenSpec(
            input_base=data_dir,
            input_config=input_config,
            output_config=example_gen_pb2.Output(),
            output_data_format=example_gen_pb2.FORMAT_TF_EXAMPLE,
            output_file_format=example_gen_pb2.FORMAT_TFRECORDS_GZIP,
            dataset=dataset,
            max_train_examples=max_train_examples,
            max_eval_examples=max_eval_examples,
            max_spans=max_spans,
            code_version=code_version,
            data_fingerprint=data_fingerprint,
            examples=types.Channel(type=standard_artifacts.Examples),
        )
        super().__init__(spec=spec)
