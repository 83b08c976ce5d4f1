import json
import os

import numpy as np
import tensorflow as tf
from tfx.components.util import examples_utils
from tfx.types import artifact_utils, standard_artifacts

from components.mnist_example_gen import fingerprint, mnist_data, spans
from components.mnist_example_gen.component import MnistExampleGen
from components.mnist_example_gen.examples import read_examples, to_serialized_examples
from components.mnist_example_gen.executor import Executor
from components.mnist_example_gen.spec import DATA_FINGERPRINT_KEY, SPANS_PROPERTY
from pipeline.config import SETUP_FILE, PipelineConfig
from models.features import IMAGE_KEY, IMAGE_PIXELS, LABEL_KEY, SOURCE_KEY
from tests.helpers import linked_data_dir, write_png_span

FEATURES = {IMAGE_KEY: tf.io.FixedLenFeature([IMAGE_PIXELS], tf.int64), LABEL_KEY: tf.io.FixedLenFeature([], tf.int64),
            SOURCE_KEY: tf.io.FixedLenFeature([], tf.string)}


def test_every_record_holds_its_own_image_label_and_source(mnist_eval):
    images, labels = mnist_eval[0][:500], mnist_eval[1][:500]
    records = list(to_serialized_examples(images, labels, "span-3"))
    parsed = tf.io.parse_example(tf.constant(records), FEATURES)
    np.testing.assert_array_equal(parsed[IMAGE_KEY].numpy(), images.reshape(-1, IMAGE_PIXELS))
    np.testing.assert_array_equal(parsed[LABEL_KEY].numpy(), labels)
    assert set(parsed[SOURCE_KEY].numpy().tolist()) == {b"span-3"}
    assert len(set(records)) == len(records)


def test_the_executor_writes_each_split_in_gzip_files_of_tfx_naming_with_every_image_once(tmp_path, mnist_dir,
                                                                                          mnist_eval):
    """The real executor in a real Beam job (FnApiRunner) on a slice of MNIST and a span, reading
    the spans the data fingerprint names: a span that arrives after it was resolved waits for the next run."""
    data = tmp_path / "data"
    data.mkdir()
    linked_data_dir(mnist_dir, data)
    write_png_span(data / "spans" / "0", mnist_eval[0][9000:9040], mnist_eval[1][9000:9040])
    component = MnistExampleGen(data_dir=str(data), max_train_examples=12000, max_eval_examples=1000)
    exec_properties = {**component.exec_properties,
                       DATA_FINGERPRINT_KEY: fingerprint.data_fingerprint(str(data), "mnist", 0)}
    write_png_span(data / "spans" / "1", mnist_eval[0][9040:9050], mnist_eval[1][9040:9050])
    examples = standard_artifacts.Examples()
    examples.uri = str(tmp_path / "examples")
    context = Executor.Context(beam_pipeline_args=PipelineConfig().beam_pipeline_args(SETUP_FILE),
                               tmp_dir=str(tmp_path / "tmp"))
    Executor(context).Do({}, {"examples": [examples]}, exec_properties)

    assert artifact_utils.decode_split_names(examples.split_names) == ["train", "eval"]
    assert examples_utils.get_payload_format_string(examples) == "FORMAT_TF_EXAMPLE"
    assert examples_utils.get_file_format(examples) == "tfrecords_gzip"
    (recorded,) = json.loads(examples.get_string_custom_property(SPANS_PROPERTY))
    assert (recorded["source"], recorded["fingerprint"]) == ("span-0", spans.fingerprints(spans.find(str(data)))[0])
    span_splits = spans.load(spans.at(str(data), 0))
    for split, count, files in (("train", 12000, 4), ("eval", 1000, 2)):
        split_dir = tmp_path / "examples" / f"Split-{split}"
        assert sorted(os.listdir(split_dir)) == [f"data_tfrecord-{i:05d}-of-{files:05d}.gz" for i in range(files)]
        images, labels, sources = read_examples(str(split_dir / "*"), with_sources=True)
        expected_images, expected_labels = mnist_data.load_split(mnist_dir, split)
        span_images, span_labels = span_splits[split]
        assert recorded[f"{split}_examples"] == len(span_labels) > 0
        for source, (source_images, source_labels) in (("mnist", (expected_images[:count], expected_labels[:count])),
                                                       ("span-0", (span_images, span_labels))):
            written = sources == source
            assert sorted(zip(map(bytes, images[written]), labels[written])) == sorted(
                zip(map(bytes, source_images), source_labels))
