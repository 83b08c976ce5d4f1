"""Size, accuracy and speed of the default CNN per quantization mode, next to the Keras model.

    .venv/bin/python benchmarks/tflite.py [--saved-model DIR] [--data-dir DIR]

Uses the SavedModel that the pipeline pushed beside its .tflite (by default the one from
`benchmarks/accuracy.py`'s CNN run on full MNIST) and writes benchmarks/results/tflite.md.
"""
import argparse
import os
import platform
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))

import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402

from components.mnist_example_gen import mnist_data  # noqa: E402
from components.tflite_pusher import tflite  # noqa: E402
from models.trainer import SERVING_IMAGES_SIGNATURE  # noqa: E402

SINGLE_RUNS = 2000
BATCH = 256


def batch_throughput(run, images) -> float:
    batches = [images[i:i + BATCH] for i in range(0, len(images) - BATCH + 1, BATCH)]
    run(batches[0])
    started = time.perf_counter()
    for batch in batches:
        run(batch)
    return len(batches) * BATCH / (time.perf_counter() - started)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--saved-model", default=os.path.join(HERE, "out", "cnn", "serving", "latest", "saved_model"))
    parser.add_argument("--data-dir", default=os.environ.get("MNIST_DIR"), required=not os.environ.get("MNIST_DIR"))
    args = parser.parse_args()
    tf.config.threading.set_intra_op_parallelism_threads(1)
    tf.config.threading.set_inter_op_parallelism_threads(1)
    images, labels = mnist_data.load_split(args.data_dir, "eval")
    train_images, _ = mnist_data.load_split(args.data_dir, "train")

    serve = tf.saved_model.load(args.saved_model).signatures[SERVING_IMAGES_SIGNATURE]
    keras_run = lambda x: serve(images=tf.constant(x))  # noqa: E731
    keras_probabilities = np.concatenate([keras_run(images[i:i + 1000])["probabilities"].numpy()
                                          for i in range(0, len(images), 1000)])
    rows = [("Keras SavedModel (TF, 1 thread)", None, tflite.accuracy(keras_probabilities, labels),
             tflite.single_image_latency_us(keras_run, images[:1], runs=500), batch_throughput(keras_run, images))]
    for quantize in tflite.QUANTIZATIONS:
        model = tflite.convert(args.saved_model, SERVING_IMAGES_SIGNATURE, quantize, train_images[:300])
        accuracy = tflite.accuracy(tflite.predict(model, images), labels)
        rows.append((f"TFLite `{quantize}` (LiteRT, 1 thread)", len(model), accuracy,
                     tflite.single_image_latency_us(tflite.litert_runner(model, 1), images[:1], runs=SINGLE_RUNS),
                     batch_throughput(tflite.litert_runner(model, BATCH), images)))
        print(rows[-1], flush=True)

    float_size, float_accuracy, float_latency = rows[1][1], rows[1][2], rows[1][3]
    int8 = rows[-1]
    lines = [
        "# TFLite per quantization mode: the default CNN on full MNIST",
        "",
        f"Machine: {os.cpu_count()} CPU cores, {platform.processor() or platform.machine()}, {platform.platform()}; "
        f"TensorFlow {tf.__version__}. Model: `{os.path.relpath(args.saved_model, os.path.dirname(HERE))}` "
        "(pushed by `benchmarks/accuracy.py`'s CNN run, default recipe). Accuracy on the 10,000 test images, "
        f"raw uint8 input. Latency: median of {SINGLE_RUNS} single-image calls (500 for Keras) after warm-up, "
        f"1 thread. Throughput: the test set in batches of {BATCH}, 1 thread. int8 is calibrated on 300 "
        "training images.",
        "",
        "| model | size | accuracy | single-image latency | batch-256 throughput |",
        "|---|---|---|---|---|",
    ]
    for name, size, accuracy, latency, throughput in rows:
        size_text = f"{size / 1024:,.0f} KB" if size else "–"
        lines.append(f"| {name} | {size_text} | {accuracy:.2%} | {latency:,.0f} µs | {throughput:,.0f} images/s |")
    lines += [
        "",
        "Targets (issue: int8 size ≤ 30 % of float, accuracy within 0.2 points, latency ≤ 0.6x float):",
        f"int8 size {int8[1] / float_size:.0%} of float, accuracy {100 * (int8[2] - float_accuracy):+.2f} points, "
        f"latency {int8[3] / float_latency:.2f}x float.",
    ]
    os.makedirs(os.path.join(HERE, "results"), exist_ok=True)
    with open(os.path.join(HERE, "results", "tflite.md"), "w") as f:
        f.write("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
