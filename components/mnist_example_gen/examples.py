"""The tf.Examples ExampleGen writes, and reading them back as arrays (for the Pusher's LiteRT check and the report)."""
import numpy as np
import pyarrow as pa
import tensorflow as tf
from tfx_bsl.coders import example_coder

from models.features import IMAGE_HEIGHT, IMAGE_KEY, IMAGE_PIXELS, IMAGE_WIDTH, LABEL_KEY, SOURCE_KEY


def to_serialized_examples(images: np.ndarray, labels: np.ndarray, source: str) -> list[bytes]:
    """One serialized tf.Example per image, encoded by tfx_bsl in C++ from Arrow columns."""
    count = len(labels)

    def column(values: np.ndarray, width: int) -> pa.ListArray:
        return pa.ListArray.from_arrays(pa.array(np.arange(0, count * width + 1, width, dtype=np.int32)),
                                        pa.array(values))

    batch = pa.RecordBatch.from_arrays(
        [column(images.reshape(-1).astype(np.int64), IMAGE_PIXELS), column(labels.astype(np.int64), 1),
         column(np.full(count, source.encode(), dtype=object), 1)],
        [IMAGE_KEY, LABEL_KEY, SOURCE_KEY])
    return example_coder.RecordBatchToExamplesEncoder().encode(batch)


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
