import json
import os
import re
import socket
import subprocess
import sys

import numpy as np
import pytest
import tensorflow as tf
from tfx.components.trainer import executor as trainer_executor
from tfx.components.trainer.fn_args_utils import FnArgs
from tfx.proto import trainer_pb2
from tfx.types import artifact_utils, standard_artifacts
from tfx.utils import path_utils, proto_utils

from components.mnist_example_gen.executor import to_serialized_examples
from components.tflite_pusher import tflite
from models import trainer, training_data
from models.recipes import RECIPES, TrainingConfig
from pipeline.config import PipelineConfig



def settings(**flags) -> dict:
    """What the Trainer gets from `mnist-tfx run` with these flags (field names)."""
    return PipelineConfig(**flags).training()


@pytest.fixture(scope="module")
def train_files(mnist_train_slice, tmp_path_factory):
    """The slice as the raw gzip TFRecords ExampleGen writes."""
    path = tmp_path_factory.mktemp("examples") / "Split-train"
    path.mkdir()
    with tf.io.TFRecordWriter(str(path / "data_tfrecord-00000-of-00001.gz"), "GZIP") as writer:
        for record in to_serialized_examples(*mnist_train_slice, "mnist"):
            writer.write(record)
    return str(path / "*")


@pytest.mark.parametrize("arch", list(RECIPES))
def test_each_architecture_trains_inside_the_trainer_exports_and_runs_in_litert(
        arch, mnist_train_slice, transform_output, mnist_eval, tmp_path):
    """TFX's Trainer executor runs run_fn for a few steps on 320 real images."""
    examples = standard_artifacts.Examples()
    examples.uri = str(tmp_path / "examples")
    examples.split_names = artifact_utils.encode_split_names(["train", "eval"])
    os.makedirs(tmp_path / "examples" / "Split-train")
    with tf.io.TFRecordWriter(str(tmp_path / "examples" / "Split-train" / "data.gz"), "GZIP") as writer:
        for record in to_serialized_examples(mnist_train_slice[0][:320], mnist_train_slice[1][:320], "mnist"):
            writer.write(record)
    transform_graph = standard_artifacts.TransformGraph()
    transform_graph.uri = os.path.dirname(transform_output.transform_savedmodel_dir)
    model, model_run = standard_artifacts.Model(), standard_artifacts.ModelRun()
    model.uri, model_run.uri = str(tmp_path / "model"), str(tmp_path / "model_run")
    trainer_executor.GenericExecutor().Do(
        {"examples": [examples], "transform_graph": [transform_graph]},
        {"model": [model], "model_run": [model_run]},
        {"run_fn": "models.trainer.run_fn",
         "train_args": proto_utils.proto_to_json(trainer_pb2.TrainArgs(splits=["train"])),
         "eval_args": proto_utils.proto_to_json(trainer_pb2.EvalArgs(splits=["eval"], num_steps=0)),
         "custom_config": json.dumps(settings(arch=arch, epochs=1, batch_size=32, augment="on"))})
    converted = tflite.convert(path_utils.serving_model_path(model.uri), trainer.SERVING_IMAGES_SIGNATURE)
    probabilities = tflite.predict(converted, mnist_eval[0][:20])
    assert probabilities.shape == (20, 10)
    np.testing.assert_allclose(probabilities.sum(axis=1), 1.0, rtol=1e-4)


def test_loads_the_split_transformed_and_in_order(train_files, transform_output, mnist_train_slice):
    batches = list(trainer.transformed_batches(train_files, transform_output))
    np.testing.assert_allclose(np.concatenate([images for images, _ in batches]),
                               mnist_train_slice[0].reshape(-1, 784) / 255.0, atol=1e-6)
    np.testing.assert_array_equal(np.concatenate([labels for _, labels in batches]), mnist_train_slice[1])


def test_each_epoch_batches_every_image_once_in_a_new_order(mnist_train_slice):
    images = mnist_train_slice[0][:1600].reshape(-1, 784).astype(np.float32)
    data = training_data.InMemory(images, np.arange(1600))  # the label names the image, to follow it
    dataset = trainer.training_dataset(data, 100, 1600, TrainingConfig(**settings(batch_size=64, augment="off")))
    assert dataset.cardinality() == 24  # known ahead, as steps_per_execution needs
    assert not dataset.options().autotune.enabled  # see trainer.WITHOUT_AUTOTUNING
    epochs = []
    for _ in range(2):
        batches = list(dataset.as_numpy_iterator())
        assert [len(y) for _, y in batches] == [64] * 23 + [1500 - 23 * 64]
        order = np.concatenate([y for _, y in batches])
        assert sorted(order) == list(range(100, 1600))
        np.testing.assert_array_equal(np.concatenate([x for x, _ in batches]), images[order])
        epochs.append(order)
    assert (epochs[0] != epochs[1]).mean() > 0.9


def test_augmentation_moves_pixels_but_keeps_the_digit_size(mnist_train_slice):
    images = (mnist_train_slice[0][:256].reshape(-1, 784) / 255).astype(np.float32)
    dataset = trainer.training_dataset(training_data.InMemory(images, np.arange(256)), 0, 256,
                                       TrainingConfig(**settings(batch_size=64, augment="on")))
    batches = list(dataset.as_numpy_iterator())
    moved, order = np.concatenate([x for x, _ in batches]), np.concatenate([y for _, y in batches])
    assert moved.shape == (256, 784)
    assert np.abs(moved - images[order]).mean() > 0.01
    ink_ratio = moved.sum(axis=1) / images[order].sum(axis=1)  # zoom is at most 8 %: ink within ~20 %
    assert 0.75 < ink_ratio.min() and ink_ratio.max() < 1.3


def test_same_seed_gives_the_same_mlp(train_files, transform_output, tmp_path):
    data = training_data.canonical(trainer.transformed_batches(train_files, transform_output), 1e9, str(tmp_path))
    config = TrainingConfig(**settings(arch="mlp", epochs=2, batch_size=64, augment="on", seed=3))
    first = trainer.train(config, data, str(tmp_path / "a")).get_weights()
    second = trainer.train(config, data, str(tmp_path / "b")).get_weights()
    for a, b in zip(first, second):
        np.testing.assert_array_equal(a, b)
    other = trainer.train(TrainingConfig(**settings(arch="mlp", epochs=2, batch_size=64, seed=4)), data,
                          str(tmp_path / "c")).get_weights()
    assert not np.array_equal(first[0], other[0])


def test_streaming_from_disk_and_training_in_memory_give_the_same_model(
        train_files, transform_output, mnist_eval, tmp_path, monkeypatch):
    """run_fn twice on the same 2,000 real images, once held in memory, once over the limit (0 GB): sorted
    on local disk and read a shard at a time; several shards, so that their order and seams count."""
    monkeypatch.setattr(training_data, "SHARD_EXAMPLES", 500)
    predictions = {}
    for in_memory_gb in (1.0, 0.0):
        serving = tmp_path / f"serving-{in_memory_gb}"
        trainer.run_fn(FnArgs(train_files=[train_files], transform_output=os.path.dirname(
            transform_output.transform_savedmodel_dir), serving_model_dir=str(serving),
            model_run_dir=str(tmp_path / f"run-{in_memory_gb}"),
            custom_config=settings(arch="cnn", epochs=2, batch_size=64, augment="on", in_memory_gb=in_memory_gb)))
        model = tflite.convert(str(serving), trainer.SERVING_IMAGES_SIGNATURE)
        predictions[in_memory_gb] = tflite.predict(model, mnist_eval[0][:500])
    np.testing.assert_array_equal(predictions[1.0], predictions[0.0])
    assert tflite.accuracy(predictions[0.0], mnist_eval[1][:500]) > 0.6  # a model that learned (72% here), not chance


def test_run_fn_never_reads_the_eval_split(train_files, transform_output, tmp_path, mnist_eval, capsys):
    """eval_files points at a file that does not exist: reading it would fail the run."""
    fn_args = FnArgs(train_files=[train_files], eval_files=[str(tmp_path / "no-eval-split" / "*")],
                     transform_output=os.path.dirname(transform_output.transform_savedmodel_dir),
                     serving_model_dir=str(tmp_path / "serving"), model_run_dir=str(tmp_path / "run"),
                     custom_config=settings(arch="cnn", epochs=4, batch_size=64, augment="on", patience=1))
    trainer.run_fn(fn_args)
    progress = capsys.readouterr().out
    assert "epoch   1/4" in progress and "val_acc" in progress and "(validation " in progress and "ETA" in progress
    assert os.listdir(tmp_path / "run")  # TensorBoard logs and the best-epoch checkpoint
    model = tflite.convert(str(tmp_path / "serving"), trainer.SERVING_IMAGES_SIGNATURE)
    assert tflite.accuracy(tflite.predict(model, mnist_eval[0][:500]), mnist_eval[1][:500]) > 0.8


# One worker of a cluster: run_fn exactly as the Trainer calls it, with TF_CONFIG from the environment.
WORKER = """
import json, sys
from tfx.components.trainer.fn_args_utils import FnArgs
from models import trainer, training_data
trainer.run_fn(FnArgs(**json.loads(sys.argv[1])))
"""


def test_two_workers_train_in_sync_and_only_the_chief_exports(train_files, transform_output, tmp_path):
    """MultiWorkerMirroredStrategy from TF_CONFIG, two local worker processes."""
    ports = []
    for _ in range(2):
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            ports.append(s.getsockname()[1])
    cluster = {"worker": [f"127.0.0.1:{port}" for port in ports]}
    workers = []
    for index in range(2):
        fn_args = dict(train_files=[train_files], transform_output=os.path.dirname(transform_output.transform_savedmodel_dir),
                       serving_model_dir=str(tmp_path / f"serving-{index}"), model_run_dir=str(tmp_path / "run"),
                       custom_config=settings(arch="mlp", epochs=2, batch_size=64, distribution="multi_worker"))
        env = {**os.environ, "TF_CONFIG": json.dumps({"cluster": cluster, "task": {"type": "worker", "index": index}})}
        workers.append(subprocess.Popen([sys.executable, "-c", WORKER, json.dumps(fn_args)], env=env,
                                        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True))
    outputs = [worker.communicate(timeout=600)[0] for worker in workers]
    assert [worker.returncode for worker in workers] == [0, 0], outputs[0][-3000:] + outputs[1][-3000:]
    assert os.path.exists(tmp_path / "serving-0" / "saved_model.pb")
    assert not os.path.exists(tmp_path / "serving-1")  # the other worker's export went to a temp dir
    # Synchronous training: both workers report the same all-reduced loss and accuracy each epoch.
    metrics = [re.findall(r"epoch +\d/2 +loss \S+ +acc \S+ +val_acc \S+", output) for output in outputs]
    assert len(metrics[0]) == 2 and metrics[0] == metrics[1], metrics


def test_one_cycle_warms_up_to_the_peak_rate_then_decays_to_zero():
    schedule = trainer.learning_rate_schedule(TrainingConfig(**settings(lr_schedule="one_cycle", learning_rate=4e-3)),
                                              steps=400)
    rates = [float(schedule(step)) for step in (0, 50, 100, 300, 400)]
    # 100 warm-up steps, then a cosine over 300: two thirds of the way down it is at a quarter of the peak.
    np.testing.assert_allclose(rates[:4], [4e-3 / 25, (4e-3 / 25 + 4e-3) / 2, 4e-3, 1e-3], rtol=1e-5)
    assert rates[4] == pytest.approx(0, abs=1e-9)


def test_keeps_the_epoch_with_the_lowest_validation_loss(mnist_train_slice, tmp_path, capsys):
    """A constant rate, so that the loss need not fall every epoch. Here seed 2 ties the validation accuracy
    of its last two epochs (the tie would keep the earlier, of higher loss) and seed 4's lowest loss is
    not its last epoch."""
    images = (mnist_train_slice[0].reshape(-1, 784) / 255).astype(np.float32)
    data = training_data.canonical([(images, mnist_train_slice[1].astype(np.int64))], 1e9, str(tmp_path))
    for seed in (2, 4):
        config = TrainingConfig(**settings(arch="mlp", epochs=5, batch_size=64, lr_schedule="constant",
                                           learning_rate=3e-3, augment="off", seed=seed, validation_fraction=0.25))
        model = trainer.train(config, data, str(tmp_path / f"run-{seed}"))
        losses = [float(loss) for loss in re.findall(r"val_loss (\S+)", capsys.readouterr().out)]
        validation = trainer.validation_dataset(data, round(data.count * config.validation_fraction))
        kept_loss, _ = model.evaluate(validation, verbose=0)
        assert len(losses) == 5 and kept_loss == pytest.approx(min(losses), abs=1e-4), (seed, kept_loss, losses)
