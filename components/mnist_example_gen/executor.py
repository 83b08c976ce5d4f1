"""Thin TFX plumbing around mnist_data: the base ExampleGen executor writes the splits."""
import functools
from typing import Any, Dict

import apache_beam as beam
from tfx.components.example_gen.base_example_gen_executor import BaseExampleGenExecutor
from tfx.proto import example_gen_pb2
from tfx.types import standard_component_specs
from tfx.utils import proto_utils

from components.mnist_example_gen import mnist_data
from components.mnist_example_gen.examples import to_serialized_examples

_CHUNK = 5000


@functools.lru_cache(maxsize=2)
def _load(data_dir: str, split_name: str, dataset_name: str):
    return mnist_data.load_split(data_dir, split_name, mnist_data.DATASETS[dataset_name])


@beam.ptransform_fn
def _SplitToExamples(pipeline: beam.Pipeline, exec_properties: Dict[str, Any], split_name: str):
    source = (exec_properties[standard_component_specs.INPUT_BASE_KEY], split_name, exec_properties["dataset"])
    # Read and check here, in the executor's process, so bad data fails with its own message.
    # Workers read the files again (cheap) rather than receiving the arrays through the pipeline.
    count = len(_load(*source)[1])
    limit = exec_properties[f"max_{split_name}_examples"]
    if limit:
        count = min(count, limit)

    def chunk_to_examples(start: int):
        images, labels = _load(*source)
        end = min(start + _CHUNK, count)
        return to_serialized_examples(images[start:end], labels[start:end])

    return (pipeline
            | "Chunks" >> beam.Create(range(0, count, _CHUNK))
            | "ToExamples" >> beam.FlatMap(chunk_to_examples))


class Executor(BaseExampleGenExecutor):
    """Each split is read by its name (`train`, `eval`); the input patterns serve the fingerprint."""

    def GetInputSourceToExamplePTransform(self) -> beam.PTransform:
        return _SplitToExamples

    def GenerateExamplesByBeam(self, pipeline: beam.Pipeline, exec_properties: Dict[str, Any]):
        input_config = example_gen_pb2.Input()
        proto_utils.json_to_proto(exec_properties[standard_component_specs.INPUT_CONFIG_KEY], input_config)
        to_examples = self.GetInputSourceToExamplePTransform()
        return {split.name: pipeline | f"InputToRecord[{split.name}]" >> to_examples(exec_properties, split.name)
                for split in input_config.splits}
