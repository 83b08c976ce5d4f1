"""The plain Keras script the pipeline is compared with: the original write-up's CNN on the same
MNIST files, nothing else. Prints one JSON line with its fit time, throughput and time-to-accuracy
curve: the test accuracy after each epoch against the seconds since start, not counting the
per-epoch evaluations that measure it (`eval_s`, their total).

    .venv/bin/python benchmarks/keras_baseline.py DATA_DIR [--epochs 10] [--batch-size 64]
        [--steps-per-execution 1]
"""
import argparse
import gzip
import json
import time

import numpy as np
import tf_keras as keras


def read_idx(path: str) -> np.ndarray:
    raw = gzip.open(path).read()
    dims = raw[3]
    shape = [int.from_bytes(raw[4 + 4 * i:8 + 4 * i], "big") for i in range(dims)]
    return np.frombuffer(raw, np.uint8, offset=4 + 4 * dims).reshape(shape)


class EpochTimes(keras.callbacks.Callback):
    def __init__(self, started: float, x_test, y_test):
        super().__init__()
        self.script_started, self.x_test, self.y_test = started, x_test, y_test
        self.seconds, self.curve, self.eval_s = [], [], 0.0

    def on_epoch_begin(self, epoch, logs=None):
        self.started = time.perf_counter()

    def on_epoch_end(self, epoch, logs=None):
        ended = time.perf_counter()
        self.seconds.append(ended - self.started)
        _, accuracy = self.model.evaluate(self.x_test, self.y_test, verbose=0)
        self.curve.append([round(ended - self.script_started - self.eval_s, 1), round(float(accuracy), 4)])
        self.eval_s += time.perf_counter() - ended


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("data_dir")
    parser.add_argument("--epochs", type=int, default=10)
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--steps-per-execution", type=int, default=1,
                        help="Keras steps per call into TensorFlow (1: plain Keras; the Trainer uses more)")
    args = parser.parse_args()
    started = time.perf_counter()
    x_train = read_idx(f"{args.data_dir}/train-images-idx3-ubyte.gz")[..., None] / 255.0
    y_train = read_idx(f"{args.data_dir}/train-labels-idx1-ubyte.gz")
    x_test = read_idx(f"{args.data_dir}/t10k-images-idx3-ubyte.gz")[..., None] / 255.0
    y_test = read_idx(f"{args.data_dir}/t10k-labels-idx1-ubyte.gz")

    model = keras.Sequential([
        keras.layers.Conv2D(32, 3, activation="relu", input_shape=(28, 28, 1)),
        keras.layers.MaxPooling2D(),
        keras.layers.Conv2D(64, 3, activation="relu"),
        keras.layers.MaxPooling2D(),
        keras.layers.Conv2D(64, 3, activation="relu"),
        keras.layers.Flatten(),
        keras.layers.Dense(64, activation="relu"),
        keras.layers.Dense(10, activation="softmax"),
    ])
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"],
                  steps_per_execution=args.steps_per_execution)
    epochs = EpochTimes(started, x_test, y_test)
    fit_started = time.perf_counter()
    model.fit(x_train, y_train, epochs=args.epochs, batch_size=args.batch_size, verbose=0, callbacks=[epochs])
    fit_seconds = time.perf_counter() - fit_started - epochs.eval_s
    _, accuracy = model.evaluate(x_test, y_test, verbose=0)
    print(json.dumps({"fit_s": round(fit_seconds, 1), "script_s": round(time.perf_counter() - started - epochs.eval_s, 1),
                      "eval_s": round(epochs.eval_s, 1), "curve": epochs.curve,
                      "examples_per_s": round(len(y_train) / float(np.median(epochs.seconds[1:] or epochs.seconds))),
                      "test_accuracy": round(float(accuracy), 4)}))


if __name__ == "__main__":
    main()
