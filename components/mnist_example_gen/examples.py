"""The tf.Examples ExampleGen writes, and reading them back as arrays (for the Pusher's LiteRT check and the report)."""
import numpy as np
import tensorflow as tf

from models.features import IMAGE_HEIGHT, IMAGE_KEY, IMAGE_PIXELS, IMAGE_WIDTH, LABEL_KEY, SOURCE_KEY


def to_serialized_examples(images: np.ndarray, labels: np.ndarray, source: str):
    # One Example refilled per image: half the time of building a new proto each time.
    example = tf.train.Example()
    pixels = example.features.feature[IMAGE_KEY].int64_list.value
    label_value = example.features.feature[LABEL_KEY].int64_list.value
    label_value.append(0)
    example.features.feature[SOURCE_KEY].bytes_list.value.append(source.encode())
    for image, label in zip(images.reshape(-1, IMAGE_PIXELS).tolist(), labels.tolist()):
        pixels[:] = image
        label_value[0] = label
        yield example.SerializeToString()


def read_examples(file_pattern: str, with_sources: bool = False):
    """(uint8 images [N,28,28], labels [N]) from gzip TFRecords of MNIST tf.Examples, and their
    sources (str [N]) with_sources."""
    spec = {IMAGE_KEY: tf.io.FixedLenFeature([IMAGE_PIXELS], tf.int64),
            LABEL_KEY: tf.io.FixedLenFeature([], tf.int64),
            SOURCE_KEY: tf.io.FixedLenFeature([], tf.string)}
    files = tf.io.gfile.glob(file_pattern)
    dataset = (tf.data.TFRecordDataset(files, compression_type="GZIP")
               .batch(4096).map(lambda s: tf.io.parse_example(s, spec)))
    images, labels, sources = [], [], []
    for batch in dataset:
        images.append(batch[IMAGE_KEY].numpy().astype(np.uint8).reshape(-1, IMAGE_HEIGHT, IMAGE_WIDTH))
        labels.append(batch[LABEL_KEY].numpy())
        sources.append(batch[SOURCE_KEY].numpy().astype(str))
    arrays = np.concatenate(images), np.concatenate(labels)
    return (*arrays, np.concatenate(sources)) if with_sources else arrays
