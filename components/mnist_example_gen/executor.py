"""Thin TFX plumbing around mnist_data: the base ExampleGen executor writes the splits."""
from typing import Any, Dict

import apache_beam as beam
import numpy as np
import tensorflow as tf
from tfx.components.example_gen.base_example_gen_executor import BaseExampleGenExecutor
from tfx.proto import example_gen_pb2
from tfx.types import standard_component_specs
from tfx.utils import proto_utils

from components.mnist_example_gen import mnist_data
from models.features import IMAGE_KEY, IMAGE_PIXELS, LABEL_KEY

_CHUNK = 2000


def to_serialized_examples(images: np.ndarray, labels: np.ndarray):
    for image, label in zip(images.reshape(-1, IMAGE_PIXELS), labels):
        yield tf.train.Example(features=tf.train.Features(feature={
            IMAGE_KEY: tf.train.Feature(int64_list=tf.train.Int64List(value=image)),
            LABEL_KEY: tf.train.Feature(int64_list=tf.train.Int64List(value=[label])),
        })).SerializeToString()


@beam.ptransform_fn
def _SplitToExamples(pipeline: beam.Pipeline, exec_properties: Dict[str, Any], split_name: str):
    # Read and check here, in the executor's process, so bad data fails with its own message.
    dataset = mnist_data.DATASETS[exec_properties["dataset"]]
    images, labels = mnist_data.load_split(exec_properties[standard_component_specs.INPUT_BASE_KEY],
                                           split_name, dataset)
    limit = exec_properties[f"max_{split_name}_examples"]
    if limit:
        images, labels = images[:limit], labels[:limit]
    chunks = [(images[i:i + _CHUNK], labels[i:i + _CHUNK]) for i in range(0, len(images), _CHUNK)]
    return (pipeline
            | "Chunks" >> beam.Create(chunks, reshuffle=False)
            | "ToExamples" >> beam.FlatMapTuple(to_serialized_examples))


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
