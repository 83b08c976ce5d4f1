"""Thin TFX plumbing around mnist_data and spans: a Beam job in which each chunk of a split is
encoded and written as one gzip TFRecord file of the split."""
import functools
import json
import os
from typing import Any, Dict

import apache_beam as beam
import tensorflow as tf
from tfx.components.example_gen import write_split
from tfx.components.util import examples_utils
from tfx.dsl.components.base.base_beam_executor import BaseBeamExecutor
from tfx.proto import example_gen_pb2
from tfx.types import artifact_utils
from tfx.utils import proto_utils

from components.mnist_example_gen import datasets, mnist_data, spans
from components.mnist_example_gen.examples import to_serialized_examples
from components.mnist_example_gen.spec import (DATASET_KEY, EXAMPLES_KEY, INPUT_BASE_KEY, INPUT_CONFIG_KEY,
                                               MAX_EXAMPLES_KEYS, MAX_SPANS_KEY, SPANS_PROPERTY)

_CHUNK = 5000
# zlib's fastest level: TFX's default (6) took most of ExampleGen's time, for files only a seventh smaller.
_GZIP_LEVEL = 1


@functools.lru_cache(maxsize=2)
def _load_base(data_dir: str, split_name: str, dataset_name: str):
    return mnist_data.load_split(data_dir, split_name, datasets.DATASETS[dataset_name])


def _load_span_split(span: spans.Span, split_name: str):
    return spans.load(span)[split_name]


def _split_sources(exec_properties: Dict[str, Any], split_name: str) -> list:
    """(source name, loader, count) for the base dataset (limited by max_<split>_examples) and each span."""
    data_dir, dataset = exec_properties[INPUT_BASE_KEY], exec_properties[DATASET_KEY]
    base = functools.partial(_load_base, data_dir, split_name, dataset)
    count = len(base()[1])  # read and checked here, in the executor's process, so bad data fails with its own message
    limit = exec_properties[MAX_EXAMPLES_KEYS[split_name]]
    sources = [(dataset, base, min(count, limit) if limit else count)]
    for span in spans.find(data_dir, exec_properties[MAX_SPANS_KEY]):
        load = functools.partial(_load_span_split, span, split_name)
        sources.append((span.source, load, len(load()[1])))
    return sources


@beam.ptransform_fn
def _WriteSplit(pipeline: beam.Pipeline, exec_properties: Dict[str, Any], split_name: str, split_uri: str):
    """Each chunk of _CHUNK images becomes one file, in TFX's naming (data_tfrecord-NNNNN-of-NNNNN.gz).
    TFX's WriteSplit would pass every record through Beam once more, to reshuffle and re-encode it;
    the Trainer puts the examples in its own order anyway."""
    # Workers read the files again (cheap) rather than receiving the arrays through the pipeline.
    sources = _split_sources(exec_properties, split_name)
    chunks = [(index, start) for index, (_, _, count) in enumerate(sources) for start in range(0, count, _CHUNK)]

    def write_chunk(shard):
        number, (source, start) = shard
        name, load, count = sources[source]
        images, labels = load()
        end = min(start + _CHUNK, count)
        path = os.path.join(split_uri, f"{write_split.DEFAULT_FILE_NAME}-{number:05d}-of-{len(chunks):05d}.gz")
        with tf.io.TFRecordWriter(path, tf.io.TFRecordOptions(compression_type="GZIP",
                                                              compression_level=_GZIP_LEVEL)) as writer:
            for record in to_serialized_examples(images[start:end], labels[start:end], name):
                writer.write(record)

    return pipeline | "Chunks" >> beam.Create(list(enumerate(chunks))) | "Write" >> beam.Map(write_chunk)


class Executor(BaseBeamExecutor):
    """Each split is read by its name (`train`, `eval`) from the base dataset and every span; the
    input patterns serve the fingerprint."""

    def Do(self, input_dict, output_dict, exec_properties):
        self._log_startup(input_dict, output_dict, exec_properties)
        input_config = example_gen_pb2.Input()
        proto_utils.json_to_proto(exec_properties[INPUT_CONFIG_KEY], input_config)
        split_names = [split.name for split in input_config.splits]
        examples = artifact_utils.get_single_instance(output_dict[EXAMPLES_KEY])
        examples.split_names = artifact_utils.encode_split_names(split_names)
        with self._make_beam_pipeline() as pipeline:
            for name in split_names:
                split_uri = artifact_utils.get_split_uri([examples], name)
                tf.io.gfile.makedirs(split_uri)
                _ = pipeline | f"WriteSplit[{name}]" >> _WriteSplit(exec_properties, name, split_uri)
        examples_utils.set_payload_format(examples, example_gen_pb2.FORMAT_TF_EXAMPLE)
        examples_utils.set_file_format(examples, write_split.to_file_format_str(example_gen_pb2.FORMAT_TFRECORDS_GZIP))
        record = [spans.describe(span, spans.load(span))
                  for span in spans.find(exec_properties[INPUT_BASE_KEY], exec_properties[MAX_SPANS_KEY])]
        examples.set_string_custom_property(SPANS_PROPERTY, json.dumps(record))
