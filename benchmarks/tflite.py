"""Size, accuracy and speed of the `cnn` architecture (the original write-up's CNN) per quantization mode,
next to the Keras model.

    .venv/bin/python benchmarks/tflite.py [--saved-model DIR] [--data-dir DIR] [--report-only]

Uses the SavedModel that the pipeline pushed beside its .tflite (by default the latest one from
`benchmarks/accuracy.py`'s CNN run on full MNIST), records the figures with their date, commit and
machine in benchmarks/results/tflite.json and renders benchmarks/results/tflite.md from it.
"""
import argparse
import os
import time

HERE = os.path.dirname(os.path.abspath(__file__))

import numpy as np
import tensorflow as tf

import provenance
from components.mnist_example_gen import mnist_data
from components.tflite_pusher import serving_layout, tflite
from components.tflite_pusher.settings import QUANTIZATIONS
from models.features import IMAGES_INPUT_KEY, OUTPUT_KEY, SERVING_IMAGES_SIGNATURE
from pipeline.config import PipelineConfig
from pipeline.latency import litert_runner, single_image_latency_us

RESULTS = os.path.join(HERE, "results")
CNN_OUTPUT_DIR = os.path.join(HERE, "out", "cnn")  # where benchmarks/accuracy.py's CNN run pushes
SINGLE_RUNS = 2000
KERAS_SINGLE_RUNS = 500  # TensorFlow's calls are several times slower than LiteRT's
BATCH = 256
CALIBRATION_IMAGES = 300


def batch_throughput(run, images) -> float:
    batches = [images[i:i + BATCH] for i in range(0, len(images) - BATCH + 1, BATCH)]
    run(batches[0])
    started = time.perf_counter()
    for batch in batches:
        run(batch)
    return len(batches) * BATCH / (time.perf_counter() - started)


def row(model: str, size_bytes: int | None, accuracy: float, latency_us: float, throughput: float) -> dict:
    return {"model": model, "size_kb": None if size_bytes is None else round(size_bytes / 1024, 1),
            "accuracy": round(accuracy, 4),
            "latency_us": round(latency_us, 1), "images_per_s": round(throughput)}


def measure(saved_model: str, data_dir: str) -> dict:
    tf.config.threading.set_intra_op_parallelism_threads(1)
    tf.config.threading.set_inter_op_parallelism_threads(1)
    images, labels = mnist_data.load_split(data_dir, "eval")
    train_images, _ = mnist_data.load_split(data_dir, "train")

    serve = tf.saved_model.load(saved_model).signatures[SERVING_IMAGES_SIGNATURE]
    keras_run = lambda x: serve(**{IMAGES_INPUT_KEY: tf.constant(x)})  # noqa: E731
    keras_probabilities = np.concatenate([keras_run(images[i:i + 1000])[OUTPUT_KEY].numpy()
                                          for i in range(0, len(images), 1000)])
    rows = [row("keras", None, tflite.accuracy(keras_probabilities, labels),
                single_image_latency_us(keras_run, images[:1], runs=KERAS_SINGLE_RUNS),
                batch_throughput(keras_run, images))]
    model_input = tflite.to_model_input(images)
    for quantize in QUANTIZATIONS:
        model = tflite.convert(saved_model, SERVING_IMAGES_SIGNATURE, quantize, train_images[:CALIBRATION_IMAGES])
        rows.append(row(quantize, len(model), tflite.accuracy(tflite.predict(model, images), labels),
                        single_image_latency_us(litert_runner(model, 1), model_input[:1], runs=SINGLE_RUNS),
                        batch_throughput(litert_runner(model, BATCH), model_input)))
        print(rows[-1], flush=True)
    return {"provenance": provenance.record(), "saved_model": os.path.relpath(saved_model, provenance.REPO),
            "single_runs": SINGLE_RUNS, "keras_single_runs": KERAS_SINGLE_RUNS, "batch": BATCH,
            "calibration_images": CALIBRATION_IMAGES, "rows": rows}


def write_results(results: dict) -> None:
    lines = [
        "# TFLite per quantization mode: the `cnn` architecture (the original write-up's CNN) on full MNIST",
        "",
        provenance.describe(results["provenance"]),
        "",
        "Model: `--arch cnn` with its default recipe at that commit, as `benchmarks/accuracy.py` pushes it under "
        f"`benchmarks/out/cnn/`; the SavedModel read: `{results['saved_model']}`"
        + ("" if results["saved_model"].endswith(serving_layout.SAVED_MODEL_DIR) else
           f" (the serving layout of that commit; a version now holds it as `serving/<version>/{serving_layout.SAVED_MODEL_DIR}/`)")
        + ". "
        "Accuracy on the 10,000 test images, raw uint8 input. Latency: median of "
        f"{results['single_runs']} single-image calls ({results['keras_single_runs']} for Keras) after warm-up, "
        f"1 thread. Throughput: the test set in batches of {results['batch']}, 1 thread. int8 is calibrated on "
        f"{results['calibration_images']} training images.",
        "",
        f"| model | size | accuracy | single-image latency | batch-{results['batch']} throughput |",
        "|---|---|---|---|---|",
    ]
    for entry in results["rows"]:
        name = ("Keras SavedModel (TF, 1 thread)" if entry["model"] == "keras"
                else f"TFLite `{entry['model']}` (LiteRT, 1 thread)")
        size = f"{entry['size_kb']:,.0f} KB" if entry["size_kb"] else "–"
        lines.append(f"| {name} | {size} | {entry['accuracy']:.2%} | {entry['latency_us']:,.0f} µs "
                     f"| {entry['images_per_s']:,} images/s |")
    by_mode = {entry["model"]: entry for entry in results["rows"]}
    full, int8 = by_mode["none"], by_mode["int8"]
    lines += [
        "",
        f"int8 next to the float model (`none`): {int8['size_kb'] / full['size_kb']:.0%} of its size, accuracy "
        f"{100 * (int8['accuracy'] - full['accuracy']):+.2f} points, {int8['latency_us'] / full['latency_us']:.2f}x "
        "its single-image latency.",
    ]
    with open(os.path.join(RESULTS, "tflite.md"), "w") as f:
        f.write("\n".join(lines) + "\n")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--saved-model", help="default: the latest version pushed to benchmarks/out/cnn")
    parser.add_argument("--data-dir", default=os.environ.get("MNIST_DIR"))
    parser.add_argument("--report-only", action="store_true", help="rewrite tflite.md from tflite.json")
    args = parser.parse_args()
    saved_model = args.saved_model
    if not args.report_only:
        if not args.data_dir:
            parser.error("--data-dir (or MNIST_DIR) is required")
        if not saved_model:
            serving_dir = PipelineConfig(output_dir=CNN_OUTPUT_DIR).serving_dir
            version = serving_layout.latest_version(serving_dir)
            if not version:
                parser.error(f"nothing pushed to {serving_dir}: run benchmarks/accuracy.py --archs cnn, "
                             "or pass --saved-model")
            saved_model = serving_layout.saved_model_path(serving_layout.version_dir(serving_dir, version))
    results = provenance.measured_or_saved(os.path.join(RESULTS, "tflite.json"), args.report_only,
                                           lambda: measure(saved_model, args.data_dir))
    write_results(results)
    print(open(os.path.join(RESULTS, "tflite.md")).read())


if __name__ == "__main__":
    main()
