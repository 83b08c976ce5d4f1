import os

import numpy as np
import tensorflow as tf
from google.protobuf.message import Message
from tfx.components.util import examples_utils
from tfx.types import artifact_utils, standard_artifacts
from tfx.utils import proto_utils

from components.mnist_example_gen import mnist_data
from components.mnist_example_gen.component import MnistExampleGen
from components.mnist_example_gen.examples import read_examples, to_serialized_examples
from components.mnist_example_gen.executor import Executor
from components.mnist_example_gen.spec import SPANS_PROPERTY
from pipeline.config import SETUP_FILE, PipelineConfig
from models.features import IMAGE_KEY, IMAGE_PIXELS, LABEL_KEY, SOURCE_KEY

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


def test_the_executor_writes_each_split_in_gzip_files_of_tfx_naming_with_every_image_once(tmp_path, mnist_dir):
    """The real executor in a real Beam job (FnApiRunner) on a slice of MNIST."""
    component = MnistExampleGen(data_dir=mnist_dir, max_train_examples=12000, max_eval_examples=1000)
    exec_properties = {key: proto_utils.proto_to_json(value) if isinstance(value, Message) else value
                       for key, value in component.exec_properties.items()}
    examples = standard_artifacts.Examples()
    examples.uri = str(tmp_path / "examples")
    context = Executor.Context(beam_pipeline_args=PipelineConfig().beam_pipeline_args(SETUP_FILE),
                               tmp_dir=str(tmp_path / "tmp"))
    Executor(context).Do({}, {"examples": [examples]}, exec_properties)

    assert artifact_utils.decode_split_names(examples.split_names) == ["train", "eval"]
    assert examples_utils.get_payload_format_string(examples) == "FORMAT_TF_EXAMPLE"
    assert examples_utils.get_file_format(examples) == "tfrecords_gzip"
    assert examples.get_string_custom_property(SPANS_PROPERTY) == "[]"
    for split, count, files in (("train", 12000, 3), ("eval", 1000, 1)):
        split_dir = tmp_path / "examples" / f"Split-{split}"
        assert sorted(os.listdir(split_dir)) == [f"data_tfrecord-{i:05d}-of-{files:05d}.gz" for i in range(files)]
        images, labels, sources = read_examples(str(split_dir / "*"), with_sources=True)
        expected_images, expected_labels = mnist_data.load_split(mnist_dir, split)
        np.testing.assert_array_equal(images, expected_images[:count])
        np.testing.assert_array_equal(labels, expected_labels[:count])
        assert set(sources) == {"mnist"}
