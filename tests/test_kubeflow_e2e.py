"""Scheduled retraining as Kubeflow runs it: the compiled spec, executed task by task by
tests/kfp_harness.py (open-source KFP's driver and launcher rules), with local disk as the bucket.

Run 1 trains on MNIST and pushes v1; a span of a new source of real handwriting arrives
(scikit-learn's digits); run 2 retrains, is gated on both sources against v1, and pushes v2; run 3,
with nothing new, trains and pushes nothing: KFP's cache does it, keyed on DataFingerprint."""
import json
import os
import re

import pytest

from components.mnist_example_gen import spans
from components.tflite_pusher import publish, tflite
from kubeflow import spec
from pipeline.evaluation import read_evaluation
from tests import kfp_harness
from tests.helpers import (BIN_DIR, RETRAINING_ARGS, linked_data_dir, mnist_tfx, snapshot,
                           write_sklearn_digits)

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
IMAGE = "mnist-tfx:harness"


def pod_environment() -> dict:
    """What a pod of kubeflow/Dockerfile's image has: its ENV lines, this venv's python as `python`."""
    dockerfile = open(os.path.join(os.path.dirname(spec.__file__), "Dockerfile")).read()
    image_env = dict(re.findall(r"^ENV (\w+)=(\S+)$", dockerfile, re.M))
    return {**os.environ, **image_env, "PATH": BIN_DIR + os.pathsep + os.environ["PATH"]}


def compile_spec(output: str, bucket, data, *extra) -> None:
    result = mnist_tfx("kubeflow", "compile", "--output", output, "--image", IMAGE, "--image-source-dir", REPO,
                       "--pipeline-root", str(bucket / "root"), "--data-uri", str(data),
                       "--serving-uri", str(bucket / "serving"), *RETRAINING_ARGS, *extra)
    assert result.returncode == 0, result.stderr[-2000:]


def outputs(bucket, run_id: str, task: str) -> dict:
    store = json.load(open(bucket / "root" / kfp_harness.STORE))
    (execution,) = [e for e in store["executions"] if e["run"] == run_id and e["task"] == task]
    return execution["outputs"]["artifacts"]


@pytest.fixture(scope="module")
def scenario(mnist_dir, tmp_path_factory):
    data = linked_data_dir(mnist_dir, tmp_path_factory.mktemp("data"))
    bucket = tmp_path_factory.mktemp("bucket")
    pipeline_yaml = str(bucket / "pipeline.yaml")
    compile_spec(pipeline_yaml, bucket, data)

    def run(run_id):
        return kfp_harness.run(pipeline_yaml, str(bucket / "root"), run_id, env=pod_environment(), cwd=REPO)

    serving = str(bucket / "serving")
    states = {"run-1": run("run-1")}
    v1 = publish.latest_version(serving)
    write_sklearn_digits(str(data / "spans" / "0"))
    states["run-2"] = run("run-2")
    v2 = publish.latest_version(serving)
    serving_after_v2 = snapshot(serving)
    states["run-3"] = run("run-3")
    return {"states": states, "versions": (v1, v2), "serving": serving, "bucket": bucket, "data": data,
            "serving_unchanged": snapshot(serving) == serving_after_v2}


def test_run_1_trains_on_mnist_and_pushes_v1_with_no_baseline_yet(scenario):
    assert set(scenario["states"]["run-1"].values()) == {"complete"}
    v1 = scenario["versions"][0]
    assert v1 and publish.latest_metadata(scenario["serving"])  # v1 was latest after run 1
    blessing = outputs(scenario["bucket"], "run-1", "Evaluator")["blessing"][0]["metadata"]
    assert blessing["blessed"] == 1 and "baseline_model" not in blessing


def test_run_2_learns_the_new_handwriting_and_is_gated_against_v1_on_both_sources(scenario):
    states = scenario["states"]["run-2"]
    assert {states[t] for t in ("MnistExampleGen", "Transform", "Trainer", "Evaluator", "TFLitePusher")} == {"complete"}
    v1, v2 = scenario["versions"]
    assert v2 != v1
    blessing = outputs(scenario["bucket"], "run-2", "Evaluator")["blessing"][0]["metadata"]
    assert blessing["baseline_model"] == os.path.join(scenario["serving"], v1)
    evaluation = read_evaluation(outputs(scenario["bucket"], "run-2", "Evaluator")["evaluation"][0]["uri"])
    mnist, new_source = evaluation.per_source["mnist"], evaluation.per_source["span-0"]
    assert mnist[1] is not None and mnist[0] >= mnist[1] - 0.01  # within --max-regression 1 of v1
    assert new_source[0] > new_source[1]  # v1 was the baseline on the new source's eval share too
    images, labels = spans.load(spans.find(str(scenario["data"]))[0])["eval"]
    accuracy = {v: tflite.accuracy(tflite.predict(open(os.path.join(scenario["serving"], v, "model.tflite"), "rb")
                                                  .read(), images), labels) for v in (v1, v2)}
    assert accuracy[v2] - accuracy[v1] >= 0.15, accuracy
    assert publish.latest_metadata(scenario["serving"])["spans"][0]["source"] == "span-0"


def test_run_3_with_nothing_new_trains_nothing_and_pushes_nothing(scenario):
    states = scenario["states"]["run-3"]
    assert {t for t, state in states.items() if state != "cached"} == {"DataFingerprint", "serving_dir_importer"}
    assert scenario["serving_unchanged"]


def test_a_resolver_fails_the_run_before_any_task_runs(scenario, tmp_path):
    """kubeflow compile --keep-resolver is for Vertex AI Pipelines: open-source KFP refuses it."""
    compile_spec(str(tmp_path / "vertex.yaml"), tmp_path, scenario["data"], "--keep-resolver")
    (tmp_path / "root").mkdir()
    with pytest.raises(kfp_harness.NotSupportedByKfp, match="non-container and non-importer executor"):
        kfp_harness.run(str(tmp_path / "vertex.yaml"), str(tmp_path / "root"), "run-1", pod_environment(), REPO)
    assert os.listdir(tmp_path / "root") == []
