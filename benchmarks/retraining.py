"""Retraining on new data, on full MNIST with the default recipe: v1 is trained on MNIST alone; then
a span of a new source of real handwriting arrives (scikit-learn's bundled digits, 1,797 scans at
8x8) and v2 is trained on both and gated on both; then a run with nothing new.

    make bench-retraining   (.venv/bin/python benchmarks/retraining.py [--data-dir DIR] [--report-only])

Records v1's and v2's accuracy (the pushed .tflite in LiteRT) on the MNIST test set and on the new
source's eval share, and each run's wall time, in benchmarks/results/retraining.json, and renders
benchmarks/results/retraining.md from it.
"""
import argparse
import os
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))

import provenance
from components.mnist_example_gen import mnist_data, spans
from components.tflite_pusher import serving_layout, tflite
from pipeline import outcome
from pipeline.config import PipelineConfig

RESULTS = os.path.join(HERE, "results")
RUN_ARGS = ["--max-regression", "1"]  # a retrain may cost MNIST at most 1 point


def write_sklearn_digits(span_dir: str) -> None:
    from sklearn.datasets import load_digits
    digits = load_digits()
    for i, (image, label) in enumerate(zip(digits.images, digits.target)):
        spans.add_image(span_dir, int(label), f"sklearn-{i:04d}", image * 255 / 16)


def timed_run(data_dir: str, paths: PipelineConfig) -> dict:
    started = time.monotonic()
    result = subprocess.run([os.path.join(os.path.dirname(sys.executable), "mnist-tfx"), "run", "--data-dir",
                             data_dir, "--output-dir", paths.output_dir, *RUN_ARGS])
    run = outcome.read_run(paths.metadata_path)
    return {"exit_code": result.returncode, "wall_s": round(time.monotonic() - started, 1),
            "trainer": run.component("Trainer").state, "pushed_version": run.pushed.get("pushed_version")}


def latest_model(paths: PipelineConfig) -> bytes:
    with open(serving_layout.model_path(serving_layout.latest_version_dir(paths.serving_dir)), "rb") as f:
        return f.read()


def measure(mnist_dir: str, work_dir: str) -> dict:
    data_dir = os.path.join(work_dir, "data")
    os.makedirs(data_dir)
    for name in os.listdir(mnist_dir):
        os.symlink(os.path.join(mnist_dir, name), os.path.join(data_dir, name))
    paths = PipelineConfig(output_dir=os.path.join(work_dir, "out"))
    runs = {"v1": timed_run(data_dir, paths)}
    models = {"v1": latest_model(paths)}
    write_sklearn_digits(os.path.join(data_dir, spans.SPANS_DIR, "0"))
    runs["v2"] = timed_run(data_dir, paths)
    models["v2"] = latest_model(paths)
    runs["nothing new"] = timed_run(data_dir, paths)
    test_sets = {"MNIST test set": mnist_data.load_split(mnist_dir, "eval"),
                 "new source's eval share": spans.load(spans.find(data_dir)[0])["eval"]}
    accuracy = {version: {name: tflite.accuracy(tflite.predict(model, images), labels)
                          for name, (images, labels) in test_sets.items()}
                for version, model in models.items()}
    return {"runs": runs, "accuracy": accuracy, "images": {name: len(labels) for name, (_, labels) in test_sets.items()},
            "run_args": RUN_ARGS, "provenance": provenance.record()}


def write_results(results: dict) -> None:
    runs, accuracy = results["runs"], results["accuracy"]
    lines = [
        "# Retraining on new data: MNIST, then a new source of handwriting",
        "",
        provenance.describe(results["provenance"]),
        "",
        "Full MNIST, default `mnist-tfx run` recipe with " + " ".join(f"`{a}`" for a in results["run_args"]) + ", in a "
        "fresh output directory. v1 is trained on MNIST; then span 0 arrives: scikit-learn's bundled digits "
        "(1,797 real 8x8 scans) as PNGs in label folders, about 20 % of them held out for eval. v2 is trained "
        "on both and gated on both against v1. Then the same command runs with nothing new. Accuracy: the "
        "pushed `model.tflite` in LiteRT.",
        "",
        "| model | " + " | ".join(f"{name} ({results['images'][name]:,} images)" for name in results["images"]) + " |",
        "|---|" + "---|" * len(results["images"]),
    ]
    for version, scores in accuracy.items():
        lines.append(f"| {version} | " + " | ".join(f"{value:.2%}" for value in scores.values()) + " |")
    lines += ["", "| run | exit | Trainer | pushed version | wall time |", "|---|---|---|---|---|"]
    for name, run in runs.items():
        lines.append(f"| {name} | {run['exit_code']} | {run['trainer']} | {run['pushed_version'] or '–'} "
                     f"| {run['wall_s']:.1f} s |")
    new_source = "new source's eval share"
    lines += ["", f"v2 reads the new source's eval share {100 * (accuracy['v2'][new_source] - accuracy['v1'][new_source]):+.2f} "
              f"points better than v1, and the MNIST test set {100 * (accuracy['v2']['MNIST test set'] - accuracy['v1']['MNIST test set']):+.2f} "
              f"points. The run with nothing new took {runs['nothing new']['wall_s'] / runs['v2']['wall_s']:.2f}x "
              f"the wall time of the run that trained v2."]
    with open(os.path.join(RESULTS, "retraining.md"), "w") as f:
        f.write("\n".join(lines) + "\n")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data-dir", default=os.environ.get("MNIST_DIR", ""), help="the four MNIST IDX files")
    parser.add_argument("--report-only", action="store_true", help="render retraining.md from retraining.json")
    args = parser.parse_args()
    if not args.report_only and not args.data_dir:
        parser.error("--data-dir (or MNIST_DIR) is required")

    def measure_in_a_work_dir() -> dict:
        with tempfile.TemporaryDirectory(prefix="mnist-tfx-retraining-") as work_dir:
            return measure(os.path.abspath(args.data_dir), work_dir)
    results = provenance.measured_or_saved(os.path.join(RESULTS, "retraining.json"), args.report_only,
                                           measure_in_a_work_dir)
    write_results(results)
    print(open(os.path.join(RESULTS, "retraining.md")).read())


if __name__ == "__main__":
    main()
