"""What a nightly Kubeflow run copies to its pods' disks when 30 versions have been pushed.

    make bench-kfp-downloads   (.venv/bin/python benchmarks/kfp_downloads.py [--data-dir DIR] [--versions N])

KFP's launcher downloads every input artifact whole before a task runs
(kubeflow/pipelines backend/src/v2/component/launcher_v2.go, downloadArtifacts). The compiled spec
runs task by task through tests/kfp_harness.py, whose launcher port counts the bytes it copies, on
full MNIST with the default architecture (1 epoch: the sizes, not the accuracy, are measured):
run 1 pushes v1; the serving directory is filled to N versions with copies of v1 (each one as large
as a real push); a span of new handwriting arrives and run 2 trains, is gated and pushes; run 3
has nothing new. For run 2, the baseline's bytes are given two ways: as compiled now (the
Importer brings in the LATEST file) and as compiled before (it brought in the serving directory,
which the same download rule copies whole). Results: benchmarks/results/kfp_downloads.{json,md}.
"""
import argparse
import os
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))

import provenance
from components.tflite_pusher import publish, serving_layout
from tests import kfp_harness
from tests.helpers import compile_unchecked, linked_data_dir, write_sklearn_digits

RESULTS = os.path.join(HERE, "results")
RUN_ARGS = ["--epochs", "1", "--accuracy-threshold", "0.9", "--max-regression", "1"]


def tree_bytes(path: str) -> int:
    return sum(os.path.getsize(os.path.join(d, f)) for d, _, files in os.walk(path) for f in files)


def fill_serving_dir(serving: str, local_serving: str, versions: int) -> None:
    """Copies of the latest version, published as the Pusher publishes, until there are `versions`."""
    latest = serving_layout.latest_version(serving)
    model_dir = serving_layout.version_dir(local_serving, latest)
    metadata = serving_layout.version_metadata(serving, latest)
    tflite_model = open(serving_layout.model_path(model_dir), "rb").read()
    labels = open(serving_layout.labels_path(model_dir)).read().split()
    while len(serving_layout.versions(serving)) < versions:
        publish.publish(serving, tflite_model, labels, metadata,
                        saved_model_dir=serving_layout.saved_model_path(model_dir))


def measure(data_dir: str, versions: int, work: str) -> dict:
    os.makedirs(os.path.join(work, "data"))
    data = str(linked_data_dir(data_dir, os.path.join(work, "data")))
    bucket = os.path.join(work, "bucket")
    os.makedirs(bucket)
    local_serving = os.path.join(bucket, "serving")
    serving = f"file://{local_serving}"
    spec_path = os.path.join(work, "pipeline.yaml")
    compile_unchecked(spec_path, "--image-source-dir", kfp_harness.REPO, "--pipeline-root", os.path.join(bucket, "root"),
                      "--data-uri", data, "--serving-uri", serving, *RUN_ARGS)

    def run(run_id: str) -> dict:
        return kfp_harness.run(spec_path, bucket, run_id, env=kfp_harness.pod_environment(), cwd=kfp_harness.REPO)

    runs = {"run-1": run("run-1")}
    fill_serving_dir(serving, local_serving, versions)
    latest_dir = serving_layout.version_dir(local_serving, serving_layout.latest_version(serving))
    before_run_2 = {"versions": len(serving_layout.versions(serving)), "serving_bytes": tree_bytes(local_serving),
                    "version_bytes": tree_bytes(latest_dir),
                    "latest_file_bytes": os.path.getsize(os.path.join(local_serving, serving_layout.LATEST_FILE))}
    write_sklearn_digits(os.path.join(data, "spans", "0"))
    runs["run-2"] = run("run-2")
    runs["run-3"] = run("run-3")
    night = sum(runs["run-2"]["downloaded"].values())
    # As compiled before: the Importer's URI was the serving directory, which the launcher copies whole.
    night_before = night - before_run_2["latest_file_bytes"] + before_run_2["serving_bytes"]
    return {"versions": versions, "run_args": RUN_ARGS, "before_run_2": before_run_2,
            "downloaded": {run_id: result["downloaded"] for run_id, result in runs.items()},
            "states": {run_id: dict(result["states"]) for run_id, result in runs.items()},
            "night_with_new_data": {"now": night, "importing_the_serving_dir": night_before},
            "provenance": provenance.record()}


def mb(n: int) -> str:
    return f"{n / 1e6:.1f} MB" if n >= 1e5 else f"{n:,} B"


def render(results: dict) -> str:
    before, night = results["before_run_2"], results["night_with_new_data"]
    lines = [
        "# What a nightly Kubeflow run downloads", "",
        "Written by `benchmarks/kfp_downloads.py` (`make bench-kfp-downloads`). "
        + provenance.describe(results["provenance"]), "",
        "KFP's launcher copies every input artifact of a task to the pod's disk before the task runs "
        "(backend/src/v2/component/launcher_v2.go, downloadArtifacts); a task served from KFP's cache "
        "runs no pod. The spec ran task by task through tests/kfp_harness.py on full MNIST, default "
        f"architecture, `{' '.join(results['run_args'])}`.", "",
        f"Before run 2, the serving directory held {before['versions']} versions, {mb(before['serving_bytes'])} "
        f"({mb(before['version_bytes'])} a version); its LATEST file, {mb(before['latest_file_bytes'])}.", "",
        "| a night with new data (run 2) | downloaded |", "|---|---|",
        f"| the baseline imported as the serving directory (before) | {mb(night['importing_the_serving_dir'])} |",
        f"| the baseline imported as the LATEST file (now) | {mb(night['now'])} |", "",
        "Per task, run 2 (now):", "", "| task | downloaded |", "|---|---|",
        *[f"| {task} | {mb(n)} |" for task, n in results["downloaded"]["run-2"].items()], "",
        "A night with nothing new (run 3): "
        + ", ".join(f"{task} {mb(n)}" for task, n in results["downloaded"]["run-3"].items())
        + "; every other task was served from the cache.", ""]
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data-dir", default=os.environ.get("MNIST_DIR", ""), help="MNIST (default: $MNIST_DIR)")
    parser.add_argument("--versions", type=int, default=30, help="versions pushed before the night (default: 30)")
    args = parser.parse_args()
    if not args.data_dir:
        parser.error("give --data-dir or set MNIST_DIR")
    with tempfile.TemporaryDirectory(prefix="kfp-downloads-") as work:
        results = measure(os.path.abspath(args.data_dir), args.versions, work)
    provenance.save(results, os.path.join(RESULTS, "kfp_downloads.json"))
    with open(os.path.join(RESULTS, "kfp_downloads.md"), "w") as f:
        f.write(render(results))
    print(render(results))
    return 0


if __name__ == "__main__":
    sys.exit(main())
