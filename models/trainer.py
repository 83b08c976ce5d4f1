"""TFX Trainer `run_fn`: trains the chosen architecture on transformed MNIST and exports it
with the transform graph embedded, under two signatures:

- `serving_default`: serialized tf.Examples in (what TFMA's Evaluator feeds);
- `serving_images`: raw `uint8 [N,28,28]` pixels in (what the TFLite Pusher converts).
Both return `probabilities`: float32 [N,10].
"""
import dataclasses

import tensorflow as tf
import tensorflow_transform as tft
import tf_keras as keras
from absl import logging
from tfx.components.trainer.fn_args_utils import FnArgs

from models import architectures
from models.features import IMAGE_HEIGHT, IMAGE_KEY, IMAGE_PIXELS, IMAGE_WIDTH, LABEL_KEY

SERVING_EXAMPLES_SIGNATURE = "serving_default"
SERVING_IMAGES_SIGNATURE = "serving_images"
OUTPUT_KEY = "probabilities"


@dataclasses.dataclass(frozen=True)
class TrainingConfig:
    arch: str = "cnn"
    epochs: int = 10
    batch_size: int = 64
    learning_rate: float = 1e-3
    seed: int = 42

    @classmethod
    def from_custom_config(cls, custom_config: dict | None) -> "TrainingConfig":
        known = {f.name for f in dataclasses.fields(cls)}
        return cls(**{k: v for k, v in (custom_config or {}).items() if k in known})


def transformed_dataset(file_pattern, tf_transform_output: tft.TFTransformOutput, batch_size: int,
                        shuffle_seed: int | None = None) -> tf.data.Dataset:
    """(image float[N,784], label int64[N]) batches from raw gzip TFRecords, transformed once and cached."""
    files = tf.data.Dataset.list_files(file_pattern, shuffle=False)
    tft_layer = tf_transform_output.transform_features_layer()
    feature_spec = tf_transform_output.raw_feature_spec()

    def transform(serialized):
        features = tft_layer(tf.io.parse_example(serialized, feature_spec))
        return features[IMAGE_KEY], features[LABEL_KEY]

    dataset = (tf.data.TFRecordDataset(files, compression_type="GZIP", num_parallel_reads=tf.data.AUTOTUNE)
               .batch(1024)
               .map(transform, num_parallel_calls=tf.data.AUTOTUNE)
               .unbatch()
               .cache())
    if shuffle_seed is not None:
        dataset = dataset.shuffle(100_000, seed=shuffle_seed, reshuffle_each_iteration=True)
    return dataset.batch(batch_size).prefetch(tf.data.AUTOTUNE)


def export(model: keras.Model, tf_transform_output: tft.TFTransformOutput, export_dir: str) -> None:
    model.tft_layer = tf_transform_output.transform_features_layer()
    example_spec = tf_transform_output.raw_feature_spec()
    example_spec.pop(LABEL_KEY)

    @tf.function(input_signature=[tf.TensorSpec([None], tf.string, name="examples")])
    def serve_examples(serialized):
        features = model.tft_layer(tf.io.parse_example(serialized, example_spec))
        return {OUTPUT_KEY: model(features[IMAGE_KEY])}

    @tf.function(input_signature=[tf.TensorSpec([None, IMAGE_HEIGHT, IMAGE_WIDTH], tf.uint8, name="images")])
    def serve_images(images):
        pixels = tf.cast(tf.reshape(images, [-1, IMAGE_PIXELS]), tf.int64)
        features = model.tft_layer({IMAGE_KEY: pixels})
        return {OUTPUT_KEY: model(features[IMAGE_KEY])}

    model.save(export_dir, save_format="tf", signatures={
        SERVING_EXAMPLES_SIGNATURE: serve_examples,
        SERVING_IMAGES_SIGNATURE: serve_images,
    })


def run_fn(fn_args: FnArgs) -> None:
    config = TrainingConfig.from_custom_config(fn_args.custom_config)
    logging.info("Training %s", config)
    keras.utils.set_random_seed(config.seed)
    tf_transform_output = tft.TFTransformOutput(fn_args.transform_output)
    train = transformed_dataset(fn_args.train_files, tf_transform_output, config.batch_size,
                                shuffle_seed=config.seed)

    model = architectures.build(config.arch)
    model.compile(optimizer=keras.optimizers.Adam(config.learning_rate),
                  loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    model.fit(train, epochs=config.epochs, verbose=2,
              callbacks=[keras.callbacks.TensorBoard(fn_args.model_run_dir, update_freq="epoch")])
    export(model, tf_transform_output, fn_args.serving_model_dir)
