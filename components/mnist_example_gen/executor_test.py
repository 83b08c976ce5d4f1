import numpy as np
import tensorflow as tf

from components.mnist_example_gen.examples import to_serialized_examples
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
