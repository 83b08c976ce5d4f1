"""TFX Trainer `run_fn`: trains the chosen architecture on transformed MNIST and exports it
with the transform graph embedded, under two signatures:

- `serving_default`: serialized tf.Examples in (what TFMA's Evaluator feeds);
- `serving_images`: raw `uint8 [N,28,28]` pixels in (what the TFLite Pusher converts).
Both return `probabilities`: float32 [N,10].

Early stopping and the best-epoch checkpoint watch the loss on a validation slice held out from the
*training* split; the eval split, which gates the model, is never read here.
"""
import itertools
import json
import os
import sys
import tempfile
import time
from typing import Iterator

import numpy as np
import tensorflow as tf
import tensorflow_transform as tft
import tf_keras as keras
from absl import logging
from tfx.components.trainer.fn_args_utils import FnArgs

from models import architectures, training_data
from models.features import (IMAGE_HEIGHT, IMAGE_KEY, IMAGE_PIXELS, IMAGE_WIDTH, IMAGES_INPUT_KEY, LABEL_KEY,
                             OUTPUT_KEY, SERVING_EXAMPLES_SIGNATURE, SERVING_IMAGES_SIGNATURE, SOURCE_KEY)
from models.recipes import TrainingConfig

# one_cycle: a linear warm-up over this share of the steps from 1/25 of the peak rate, then cosine decay.
WARMUP_FRACTION, WARMUP_START = 0.25, 1 / 25
# Training steps per call into TensorFlow, since Keras runs Python between calls; our callbacks act per epoch.
STEPS_PER_EXECUTION = 16
BATCHES_PER_CHUNK = 16
VALIDATION_BATCH = 1024
# Not val_accuracy, which moves by whole images and keeps the earlier, less annealed epoch on a tie (docs/design.md).
BEST_EPOCH_METRIC = "val_loss"
CHUNK_SIGNATURE = (tf.TensorSpec([None, IMAGE_PIXELS], tf.float32), tf.TensorSpec([None], tf.int64))
# tf.data's autotuning thread can stall the deletion of an iterator for seconds, which Keras does every epoch
# (docs/troubleshooting.md); our inputs come from memory or local disk and fit as fast without it.
WITHOUT_AUTOTUNING = tf.data.Options()
WITHOUT_AUTOTUNING.autotune.enabled = False


def transformed_batches(file_pattern, tf_transform_output: tft.TFTransformOutput) -> Iterator[tuple[np.ndarray, np.ndarray]]:
    """(image float32 [n,784], label int64 [n]) batches of a split, read from raw gzip TFRecords and
    transformed by the tf.Transform graph, in file order."""
    tft_layer = tf_transform_output.transform_features_layer()
    feature_spec = tf_transform_output.raw_feature_spec()
    files = tf.data.Dataset.list_files(file_pattern, shuffle=False)
    dataset = (tf.data.TFRecordDataset(files, compression_type="GZIP")
               .batch(4096)
               .map(lambda s: tft_layer(tf.io.parse_example(s, feature_spec)), num_parallel_calls=tf.data.AUTOTUNE)
               .with_options(WITHOUT_AUTOTUNING))
    for batch in dataset:
        yield batch[IMAGE_KEY].numpy(), batch[LABEL_KEY].numpy()


MAX_ROTATION = 0.19  # radians, about 11 degrees
MAX_SHIFT = 0.08  # of the image size
MAX_ZOOM = 0.08


def augment(images: tf.Tensor, generator: tf.random.Generator) -> tf.Tensor:
    """Small random rotations, shifts and zooms, like the variation between writers: one affine
    transform per image, applied in a single resampling pass over the batch."""
    count = tf.shape(images)[0]
    angle = generator.uniform([count], -MAX_ROTATION, MAX_ROTATION)
    scale = 1 + generator.uniform([count], -MAX_ZOOM, MAX_ZOOM)
    shift = generator.uniform([count, 2], -MAX_SHIFT, MAX_SHIFT) * [IMAGE_WIDTH, IMAGE_HEIGHT]
    center_x, center_y = (IMAGE_WIDTH - 1) / 2, (IMAGE_HEIGHT - 1) / 2
    a0, a1 = scale * tf.cos(angle), -scale * tf.sin(angle)
    b0, b1 = scale * tf.sin(angle), scale * tf.cos(angle)
    # Output pixel (x, y) samples the input at (a0 x + a1 y + a2, b0 x + b1 y + b2): about the centre.
    a2 = center_x - a0 * center_x - a1 * center_y - shift[:, 0]
    b2 = center_y - b0 * center_x - b1 * center_y - shift[:, 1]
    transforms = tf.stack([a0, a1, a2, b0, b1, b2, tf.zeros([count]), tf.zeros([count])], axis=1)
    moved = tf.raw_ops.ImageProjectiveTransformV3(
        images=tf.reshape(images, [-1, IMAGE_HEIGHT, IMAGE_WIDTH, 1]), transforms=transforms,
        output_shape=[IMAGE_HEIGHT, IMAGE_WIDTH], fill_value=0.0, interpolation="BILINEAR", fill_mode="CONSTANT")
    return tf.reshape(moved, [-1, IMAGE_PIXELS])


def training_dataset(data: training_data.InMemory | training_data.OnDisk, start: int, stop: int,
                     config: TrainingConfig) -> tf.data.Dataset:
    """data[start:stop] in shuffled batches, a new order each epoch (training_data.epoch_chunks), augmented
    if configured. Gathers and augments several batches per tf.data call before splitting them, which
    fits faster."""
    epochs = itertools.count()  # Keras iterates the dataset afresh each epoch

    def chunks():
        yield from training_data.epoch_chunks(data, start, stop, config.batch_size * BATCHES_PER_CHUNK,
                                              config.seed, next(epochs))
    dataset = tf.data.Dataset.from_generator(chunks, output_signature=CHUNK_SIGNATURE)
    if config.augment:
        generator = tf.random.Generator.from_seed(config.seed)
        dataset = dataset.map(lambda x, y: (augment(x, generator), y))
    return (dataset.rebatch(config.batch_size)
            .apply(tf.data.experimental.assert_cardinality(-(-(stop - start) // config.batch_size)))
            .prefetch(tf.data.AUTOTUNE)
            .with_options(WITHOUT_AUTOTUNING))


def validation_dataset(data: training_data.InMemory | training_data.OnDisk, stop: int) -> tf.data.Dataset:
    """data[:stop] in canonical order, in batches of VALIDATION_BATCH."""
    return (tf.data.Dataset.from_generator(lambda: training_data.in_order(data, 0, stop, VALIDATION_BATCH),
                                           output_signature=CHUNK_SIGNATURE)
            .apply(tf.data.experimental.assert_cardinality(-(-stop // VALIDATION_BATCH)))
            .prefetch(1)
            .with_options(WITHOUT_AUTOTUNING))


def is_chief() -> bool:
    """Without TF_CONFIG, or as the cluster's chief (worker 0 when no chief is named)."""
    tf_config = json.loads(os.environ.get("TF_CONFIG") or "{}")
    task, cluster = tf_config.get("task", {}), tf_config.get("cluster", {})
    return (not task or task.get("type") == "chief"
            or (task.get("type") == "worker" and task.get("index") == 0 and "chief" not in cluster))


def distribution_strategy(name: str) -> tf.distribute.Strategy:
    """`auto`: all local GPUs when there are several, else the default (one device)."""
    if name == "multi_worker":  # workers and their roles come from TF_CONFIG
        return tf.distribute.MultiWorkerMirroredStrategy()
    if name == "mirrored" or (name == "auto" and len(tf.config.list_logical_devices("GPU")) > 1):
        return tf.distribute.MirroredStrategy()
    return tf.distribute.get_strategy()


class EpochProgress(keras.callbacks.Callback):
    """One line per epoch with time and ETA, readable in logs and pipes."""

    def __init__(self, epochs: int, stream=None):
        super().__init__()
        self.epochs, self.stream = epochs, stream
        self.started = self.epoch_started = self.validation_started = self.validation_seconds = 0.0

    def on_train_begin(self, logs=None):
        self.started = time.monotonic()

    def on_epoch_begin(self, epoch, logs=None):
        self.epoch_started = time.monotonic()

    def on_test_begin(self, logs=None):  # the validation pass inside each epoch
        self.validation_started = time.monotonic()

    def on_test_end(self, logs=None):
        self.validation_seconds = time.monotonic() - self.validation_started

    def on_epoch_end(self, epoch, logs=None):
        now = time.monotonic()
        eta = (now - self.started) / (epoch + 1) * (self.epochs - epoch - 1)
        logs = logs or {}
        print(f"  epoch {epoch + 1:>3}/{self.epochs}  loss {logs.get('loss', float('nan')):.4f}  "
              f"acc {logs.get('accuracy', float('nan')):.2%}  val_acc {logs.get('val_accuracy', float('nan')):.2%}  "
              f"val_loss {logs.get('val_loss', float('nan')):.4f}  "
              f"{now - self.epoch_started:5.1f} s (validation {self.validation_seconds:.1f} s)  "
              f"ETA {int(eta) // 60}:{int(eta) % 60:02d}",
              file=self.stream or sys.stdout, flush=True)


def export(model: keras.Model, tf_transform_output: tft.TFTransformOutput, export_dir: str) -> None:
    model.tft_layer = tf_transform_output.transform_features_layer()
    example_spec = tf_transform_output.raw_feature_spec()
    example_spec.pop(LABEL_KEY)
    example_spec.pop(SOURCE_KEY)  # clients send images only

    @tf.function(input_signature=[tf.TensorSpec([None], tf.string, name="examples")])
    def serve_examples(serialized):
        features = model.tft_layer(tf.io.parse_example(serialized, example_spec))
        return {OUTPUT_KEY: model(features[IMAGE_KEY])}

    @tf.function(input_signature=[tf.TensorSpec([None, IMAGE_HEIGHT, IMAGE_WIDTH], tf.uint8, name=IMAGES_INPUT_KEY)])
    def serve_images(images):
        pixels = tf.cast(tf.reshape(images, [-1, IMAGE_PIXELS]), tf.int64)
        features = model.tft_layer({IMAGE_KEY: pixels})
        return {OUTPUT_KEY: model(features[IMAGE_KEY])}

    model.save(export_dir, save_format="tf", signatures={
        SERVING_EXAMPLES_SIGNATURE: serve_examples,
        SERVING_IMAGES_SIGNATURE: serve_images,
    })


def learning_rate_schedule(config: TrainingConfig, steps: int):
    """The learning rate over `steps` training steps; `learning_rate` is its peak."""
    if config.lr_schedule == "one_cycle":
        warmup = round(steps * WARMUP_FRACTION)
        return keras.optimizers.schedules.CosineDecay(config.learning_rate * WARMUP_START, steps - warmup,
                                                      warmup_target=config.learning_rate, warmup_steps=warmup)
    if config.lr_schedule == "cosine":
        return keras.optimizers.schedules.CosineDecay(config.learning_rate, steps)
    return config.learning_rate


def train(config: TrainingConfig, data: training_data.InMemory | training_data.OnDisk, run_dir: str,
          strategy: tf.distribute.Strategy | None = None, callbacks: tuple = ()) -> keras.Model:
    """Fits on all but the first `validation_fraction` of the examples; returns the best epoch's model.
    `callbacks` are Keras callbacks to add (benchmarks/best_epoch.py watches each epoch with one)."""
    keras.utils.set_random_seed(config.seed)
    tf.config.experimental.enable_op_determinism()
    n_val = round(data.count * config.validation_fraction)
    if not 0 < n_val < data.count:
        raise ValueError(f"validation_fraction={config.validation_fraction} leaves no validation or no training "
                         f"images of the {data.count} in the training split")
    train_data = training_dataset(data, n_val, data.count, config)
    steps = config.epochs * -(-(data.count - n_val) // config.batch_size)
    learning_rate = learning_rate_schedule(config, steps)

    with (strategy or distribution_strategy(config.distribution)).scope():
        model = architectures.build(config.arch)
        model.compile(optimizer=keras.optimizers.Adam(learning_rate),
                      loss="sparse_categorical_crossentropy", metrics=["accuracy"],
                      steps_per_execution=STEPS_PER_EXECUTION)
    best = os.path.join(run_dir, "best_epoch", "weights")
    callbacks = [
        *callbacks,
        EpochProgress(config.epochs),
        keras.callbacks.TensorBoard(run_dir, update_freq="epoch"),
        keras.callbacks.ModelCheckpoint(best, monitor=BEST_EPOCH_METRIC, save_best_only=True, save_weights_only=True),
    ]
    if config.patience:
        callbacks.append(keras.callbacks.EarlyStopping(monitor=BEST_EPOCH_METRIC, patience=config.patience))
    model.fit(train_data, validation_data=validation_dataset(data, n_val), epochs=config.epochs, verbose=0,
              callbacks=callbacks)
    if is_chief():  # other workers write no checkpoint; their model is not exported
        model.load_weights(best)
    return model


def run_fn(fn_args: FnArgs) -> None:
    config = TrainingConfig.from_custom_config(fn_args.custom_config)
    logging.info("Training %s", config)
    strategy = distribution_strategy(config.distribution)  # multi-worker: before any other TF op
    tf_transform_output = tft.TFTransformOutput(fn_args.transform_output)
    with tempfile.TemporaryDirectory(prefix="mnist-tfx-train-") as spill_dir:  # local disk, gone after training
        data = training_data.canonical(transformed_batches(fn_args.train_files, tf_transform_output),
                                       config.in_memory_gb * 1e9, spill_dir)
        if isinstance(data, training_data.OnDisk):
            logging.info("%d training examples over %s GB: sorted on local disk, streamed", data.count,
                         config.in_memory_gb)
        model = train(config, data, fn_args.model_run_dir, strategy)
    if is_chief():
        export(model, tf_transform_output, fn_args.serving_model_dir)
    else:  # every worker saves (a collective step); only the chief's copy is kept
        with tempfile.TemporaryDirectory() as discarded:
            export(model, tf_transform_output, discarded)
