"""Thin TFX plumbing around mnist_data and spans: the base ExampleGen executor writes the splits."""
import functools
import json
from typing import Any, Dict

import apache_beam as beam
from tfx.components.example_gen.base_example_gen_executor import BaseExampleGenExecutor
from tfx.proto import example_gen_pb2
from tfx.types import standard_component_specs
from tfx.utils import proto_utils

from components.mnist_example_gen import mnist_data, spans
from components.mnist_example_gen.examples import to_serialized_examples

_CHUNK = 5000
SPANS_PROPERTY = "spans"  # on the Examples artifact: the spans read, as JSON


@functools.lru_cache(maxsize=2)
def _load_base(data_dir: str, split_name: str, dataset_name: str):
    return mnist_data.load_split(data_dir, split_name, mnist_data.DATASETS[dataset_name])


def _load_span_split(span: spans.Span, split_name: str):
    return spans.load(span)[split_name]


def _split_sources(exec_properties: Dict[str, Any], split_name: str) -> list:
    """(source name, loader, count) for the base dataset (limited by max_<split>_examples) and each span."""
    data_dir, dataset = exec_properties[standard_component_specs.INPUT_BASE_KEY], exec_properties["dataset"]
    base = functools.partial(_load_base, data_dir, split_name, dataset)
    count = len(base()[1])  # read and checked here, in the executor's process, so bad data fails with its own message
    limit = exec_properties[f"max_{split_name}_examples"]
    sources = [(dataset, base, min(count, limit) if limit else count)]
    for span in spans.find(data_dir, exec_properties["max_spans"]):
        load = functools.partial(_load_span_split, span, split_name)
        sources.append((span.source, load, len(load()[1])))
    return sources


@beam.ptransform_fn
def _SplitToExamples(pipeline: beam.Pipeline, exec_properties: Dict[str, Any], split_name: str):
    # Workers read the files again (cheap) rather than receiving the arrays through the pipeline.
    sources = _split_sources(exec_properties, split_name)

    def chunk_to_examples(chunk):
        source, start = chunk
        name, load, count = sources[source]
        images, labels = load()
        end = min(start + _CHUNK, count)
        return to_serialized_examples(images[start:end], labels[start:end], name)

    chunks = [(index, start) for index, (_, _, count) in enumerate(sources) for start in range(0, count, _CHUNK)]
    return (pipeline
            | "Chunks" >> beam.Create(chunks)
            | "ToExamples" >> beam.FlatMap(chunk_to_examples))


class Executor(BaseExampleGenExecutor):
    """Each split is read by its name (`train`, `eval`) from the base dataset and every span; the
    input patterns serve the fingerprint."""

    def GetInputSourceToExamplePTransform(self) -> beam.PTransform:
        return _SplitToExamples

    def GenerateExamplesByBeam(self, pipeline: beam.Pipeline, exec_properties: Dict[str, Any]):
        input_config = example_gen_pb2.Input()
        proto_utils.json_to_proto(exec_properties[standard_component_specs.INPUT_CONFIG_KEY], input_config)
        to_examples = self.GetInputSourceToExamplePTransform()
        return {split.name: pipeline | f"InputToRecord[{split.name}]" >> to_examples(exec_properties, split.name)
                for split in input_config.splits}

    def Do(self, input_dict, output_dict, exec_properties):
        super().Do(input_dict, output_dict, exec_properties)
        record = [spans.describe(span, spans.load(span))
                  for span in spans.find(exec_properties[standard_component_specs.INPUT_BASE_KEY],
                                         exec_properties["max_spans"])]
        for examples in output_dict[standard_component_specs.EXAMPLES_KEY]:
            examples.set_string_custom_property(SPANS_PROPERTY, json.dumps(record))
