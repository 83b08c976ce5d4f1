"""Which epoch the Trainer should keep: the default recipe trained once per seed on full MNIST, with
every epoch's model measured on the 10,000 test images, next to the epoch each rule keeps.

    make bench-best-epoch    (.venv/bin/python benchmarks/best_epoch.py [--seeds 42 1 2 3 4 5] [--data-dir DIR] [--report-only])

Runs models.trainer.train as the Trainer does (the training split transformed as preprocessing_fn
does, in canonical order, the default recipe with --seed SEED) outside the pipeline, so that one
run shows every epoch. A rule keeps the first epoch with the highest validation accuracy or the one
with the lowest validation loss, as Keras's ModelCheckpoint does; the Trainer's rule is
trainer.BEST_EPOCH_METRIC, and the model train() returns is checked to be the epoch it names.
Accuracy is the Keras model's; the pipeline's LiteRT parity check holds the .tflite to it. Records
everything with the date, commit and machine in benchmarks/results/best_epoch.json and renders
benchmarks/results/best_epoch.md from it.
"""
import argparse
import json
import os
import statistics
import sys
import tempfile
import time

import numpy as np
import tf_keras as keras

import provenance
from components.mnist_example_gen import mnist_data
from components.tflite_pusher import tflite
from models import trainer, training_data
from models.recipes import TrainingConfig
from pipeline.config import PipelineConfig

RESULTS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "results")
RULES = {"val_accuracy": "highest validation accuracy", "val_loss": "lowest validation loss"}


def scaled(images: np.ndarray, low: float, high: float) -> np.ndarray:
    """preprocessing_fn's tft.scale_to_0_1 with the training split's own min and max."""
    return (images.reshape(len(images), -1).astype(np.float32) - np.float32(low)) / np.float32(high - low)


class EveryEpoch(keras.callbacks.Callback):
    def __init__(self, test_images, test_labels):
        super().__init__()
        self.test_images, self.test_labels, self.epochs = test_images, test_labels, []

    def on_epoch_end(self, epoch, logs=None):
        self.epochs.append({"test_accuracy": accuracy(self.model, self.test_images, self.test_labels),
                            "val_accuracy": float(logs["val_accuracy"]), "val_loss": float(logs["val_loss"])})


def accuracy(model, images, labels) -> float:
    return tflite.accuracy(model.predict(images, batch_size=2048, verbose=0), labels)


def kept_epoch(epochs: list[dict], rule: str) -> int:
    """The index ModelCheckpoint(save_best_only=True) ends on: a tie keeps the earlier epoch."""
    values = [epoch[rule] for epoch in epochs]
    return values.index(max(values) if rule == "val_accuracy" else min(values))


def measure(data_dir: str, seeds: list[int]) -> dict:
    train_images, train_labels = mnist_data.load_split(data_dir, "train")
    test_images, test_labels = mnist_data.load_split(data_dir, "eval")
    low, high = float(train_images.min()), float(train_images.max())
    runs = []
    for seed in seeds:
        config = TrainingConfig(**PipelineConfig(seed=seed).training())
        with tempfile.TemporaryDirectory(prefix="best-epoch-") as work:
            data = training_data.canonical([(scaled(train_images, low, high), train_labels.astype(np.int64))],
                                           float("inf"), work)
            probe = EveryEpoch(scaled(test_images, low, high), test_labels)
            started = time.monotonic()
            model = trainer.train(config, data, os.path.join(work, "run"), callbacks=(probe,))
            seconds = time.monotonic() - started
        returned = accuracy(model, probe.test_images, test_labels)
        by_rule = {rule: kept_epoch(probe.epochs, rule) for rule in RULES}
        assert returned == probe.epochs[by_rule[trainer.BEST_EPOCH_METRIC]]["test_accuracy"], (seed, returned)
        runs.append({"seed": seed, "epochs": probe.epochs, "kept": by_rule, "train_seconds": round(seconds, 1)})
        print(json.dumps(runs[-1]), flush=True)
    recipe = PipelineConfig().training()
    return {"provenance": provenance.record(), "recipe": {key: recipe[key] for key in (
        "arch", "epochs", "batch_size", "learning_rate", "lr_schedule", "augment", "validation_fraction")},
        "trainer_rule": trainer.BEST_EPOCH_METRIC, "test_images": len(test_labels), "runs": runs}


def percent(value: float) -> str:
    return f"{value:.2%}"


def gained(images: int) -> str:
    if not images:
        return "as many test images right"
    return f"{abs(images)} test image{'s' if abs(images) != 1 else ''} {'more' if images > 0 else 'fewer'} right"


def render(results: dict) -> str:
    runs, recipe = results["runs"], results["recipe"]
    kept = {rule: [run["epochs"][run["kept"][rule]]["test_accuracy"] for run in runs] for rule in RULES}
    lines = [
        "# Which epoch to keep: highest validation accuracy or lowest validation loss", "",
        "Written by `benchmarks/best_epoch.py` (`make bench-best-epoch`). " + provenance.describe(results["provenance"]),
        "",
        f"The default recipe ({recipe['arch']}, {recipe['epochs']} epochs, batch {recipe['batch_size']}, "
        f"{recipe['lr_schedule']} peaking at {recipe['learning_rate']}, augmentation "
        f"{'on' if recipe['augment'] else 'off'}) trained by `models.trainer.train` on full MNIST's training split "
        f"with {recipe['validation_fraction']:.0%} held out for validation, once per seed. Test accuracy: the "
        f"Keras model after each epoch on the {results['test_images']:,} test images. A rule keeps the first epoch with the highest "
        "validation accuracy, or the one with the lowest validation loss. The Trainer keeps "
        f"the epoch with the {RULES[results['trainer_rule']]}.", "",
        "| seed | test accuracy after each epoch | validation accuracy | validation loss | kept by accuracy | "
        "kept by loss | training, with each epoch's test pass |",
        "|---|---|---|---|---|---|---|"]
    for run in runs:
        epochs = run["epochs"]
        cells = [str(run["seed"]), ", ".join(percent(e["test_accuracy"]) for e in epochs),
                 ", ".join(percent(e["val_accuracy"]) for e in epochs), ", ".join(f"{e['val_loss']:.4f}" for e in epochs),
                 *(f"epoch {run['kept'][rule] + 1}: **{percent(epochs[run['kept'][rule]]['test_accuracy'])}**"
                   for rule in RULES), f"{run['train_seconds']} s"]
        lines.append("| " + " | ".join(cells) + " |")
    differ = [(run["seed"], round((kept["val_loss"][i] - kept["val_accuracy"][i]) * results["test_images"]))
              for i, run in enumerate(runs) if run["kept"]["val_accuracy"] != run["kept"]["val_loss"]]
    lines += ["", "| rule | median | minimum | mean |", "|---|---|---|---|"]
    lines += [f"| {RULES[rule]} | {percent(statistics.median(values))} | {percent(min(values))} | "
              f"{percent(statistics.mean(values))} |" for rule, values in kept.items()]
    lines += ["", f"The rules keep different epochs for {len(differ)} of the {len(runs)} seeds"
              + "".join(f"{';' if i else ':'} seed {seed}, where the loss's epoch gets {gained(images)}"
                        for i, (seed, images) in enumerate(differ)) + ".", ""]
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[42, 1, 2, 3, 4, 5])
    parser.add_argument("--data-dir", default=os.environ.get("MNIST_DIR", ""), help="MNIST (default: $MNIST_DIR)")
    parser.add_argument("--report-only", action="store_true", help="render best_epoch.md from best_epoch.json")
    args = parser.parse_args()
    if not (args.data_dir or args.report_only):
        parser.error("give --data-dir or set MNIST_DIR")
    results = provenance.measured_or_saved(os.path.join(RESULTS, "best_epoch.json"), args.report_only,
                                           lambda: measure(os.path.abspath(args.data_dir), args.seeds))
    with open(os.path.join(RESULTS, "best_epoch.md"), "w") as f:
        f.write(render(results))
    print(render(results))
    return 0


if __name__ == "__main__":
    sys.exit(main())
