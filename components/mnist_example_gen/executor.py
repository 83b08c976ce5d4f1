"""Thin TFX plumbing around mnist_data and spans: a Beam job in which each chunk of a split is
encoded and written as one gzip TFRecord file of the split. The spans read are those the data
fingerprint names (fingerprint.py), resolved before the executor runs; it searches for none."""
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

from components.mnist_example_gen import datasets, fingerprint, mnist_data, spans
from components.mnist_example_gen.examples import to_serialized_examples
from components.mnist_example_gen.spec import (DATA_FINGERPRINT_KEY, DATASET_KEY, EXAMPLES_KEY, INPUT_BASE_KEY,
                                               MAX_EXAMPLES_KEYS, SPANS_PROPERTY)

_CHUNK = 5000
# zlib's fastest level: TFX's default (6) took most of ExampleGen's time, for files only a seventh smaller.
_GZIP_LEVEL = 1


@functools.lru_cache(maxsize=2)
def _load_base(data_dir: str, split_name: str, dataset_name: str):
    return mnist_data.load_split(data_dir, split_name, datasets.DATASETS[dataset_name])


@functools.lru_cache(maxsize=None)  # each span decoded once per process and execution (Do empties it)
def _load_span(data_dir: str, number: int, content_fingerprint: str) -> dict:
    del content_fingerprint  # only part of the cache key
    return spans.load(spans.at(data_dir, number))


def _load_span_split(data_dir: str, number: int, content_fingerprint: str, split_name: str):
    return _load_span(data_dir, number, content_fingerprint)[split_name]


def _split_sources(exec_properties: Dict[str, Any], spans_read: list, split_name: str) -> list:
    """(source name, loader, count) for the base dataset (limited by its max examples) and each span read."""
    data_dir, dataset = exec_properties[INPUT_BASE_KEY], exec_properties[DATASET_KEY]
    base = functools.partial(_load_base, data_dir, split_name, dataset)
    count = len(base()[1])  # read and checked here, in the executor's process, so bad data fails with its own message
    limit = exec_properties[MAX_EXAMPLES_KEYS[split_name]]
    sources = [(dataset, base, min(count, limit) if limit else count)]
    for span in spans_read:
        load = functools.partial(_load_span_split, data_dir, span["span"], span["fingerprint"], split_name)
        sources.append((span["source"], load, len(load()[1])))
    return sources


@beam.ptransform_fn
def _WriteSplit(pipeline: beam.Pipeline, sources: list, split_uri: str):
    """Each chunk of _CHUNK images becomes one file, in TFX's naming (data_tfrecord-NNNNN-of-NNNNN.gz).
    TFX's WriteSplit would pass every record through Beam once more, to reshuffle and re-encode it;
    the Trainer puts the examples in its own order anyway."""
    # Workers read the files again (cheap) rather than receiving the arrays through the pipeline.
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
    """Each split (`train`, `eval`) is read from the base dataset and from every span the data
    fingerprint names; the spans read, with their example counts, are recorded on the artifact."""

    def Do(self, input_dict, output_dict, exec_properties):
        self._log_startup(input_dict, output_dict, exec_properties)
        spans_read = fingerprint.spans_read(exec_properties[DATA_FINGERPRINT_KEY])
        examples = artifact_utils.get_single_instance(output_dict[EXAMPLES_KEY])
        examples.split_names = artifact_utils.encode_split_names(list(datasets.SPLIT_SOURCES))
        try:
            sources = {name: _split_sources(exec_properties, spans_read, name) for name in datasets.SPLIT_SOURCES}
            with self._make_beam_pipeline() as pipeline:
                for name, split_sources in sources.items():
                    split_uri = artifact_utils.get_split_uri([examples], name)
                    tf.io.gfile.makedirs(split_uri)
                    _ = pipeline | f"WriteSplit[{name}]" >> _WriteSplit(split_sources, split_uri)
        finally:
            _load_span.cache_clear()
        examples_utils.set_payload_format(examples, example_gen_pb2.FORMAT_TF_EXAMPLE)
        examples_utils.set_file_format(examples, write_split.to_file_format_str(example_gen_pb2.FORMAT_TFRECORDS_GZIP))
        counts = {split: {name: count for name, _, count in split_sources} for split, split_sources in sources.items()}
        record = [{**span, **{f"{split}_examples": counts[split][span["source"]] for split in counts}}
                  for span in spans_read]
        examples.set_string_custom_property(SPANS_PROPERTY, json.dumps(record))
