"""Scheduled retraining as open-source Kubeflow Pipelines runs it: the compiled spec, executed task
by task by tests/kfp_harness.py (rules ported from KFP's driver, launcher and cache, each citing its
Go function), every container running kubeflow/entrypoint.py, a local directory as the bucket.

Run 1 trains on MNIST and pushes v1; a span of a new source of real handwriting arrives
(scikit-learn's digits); run 2 retrains, is gated on both sources against v1, and pushes v2; run 3,
with nothing new, trains and pushes nothing: KFP's cache does it, keyed on DataFingerprint. The
negative controls run TFX's stock entrypoint through the same harness, which must fail as it fails
on real clusters."""
import os

import pytest
import yaml

from components.mnist_example_gen import spans
from components.tflite_pusher import serving_layout, tflite
from kubeflow import entrypoint, spec
from components.baseline_evaluator.evaluation import read_evaluation
from pipeline.pipeline import BASELINE_IMPORTER
from tests import kfp_harness
from tests.helpers import RETRAINING_ARGS, compile_unchecked, linked_data_dir, snapshot, write_sklearn_digits

REPO = kfp_harness.REPO
IMAGE = "registry.example/mnist-tfx@sha256:" + "0" * 64


def compile_spec(output: str, bucket, data, *extra) -> None:
    """The serving URI is file://, so that the Pusher and the baseline take their object-store path,
    as on gs://."""
    compile_unchecked(output, "--image", IMAGE, "--image-source-dir", REPO, "--pipeline-root", str(bucket / "root"),
                      "--data-uri", str(data), "--serving-uri", f"file://{bucket / 'serving'}", *RETRAINING_ARGS, *extra)


def execution(bucket, run_id: str, task: str) -> dict:
    (found,) = [e for e in kfp_harness.Metadata(kfp_harness.Bucket(bucket)).data["executions"]
                if e["run"] == run_id and e["task"] == task]
    return found["outputs"]["artifacts"]


def metadata(artifact: dict) -> dict:
    """An artifact's metadata as KFP's driver hands it to the next task."""
    return kfp_harness.to_runtime_artifact(artifact)["metadata"]


def with_stock_entrypoint(pipeline_yaml: str, task: str, output: str) -> str:
    """The same spec, with TFX's own entrypoint for one task."""
    compiled = yaml.safe_load(open(pipeline_yaml))
    component = compiled["components"][compiled["root"]["dag"]["tasks"][task]["componentRef"]["name"]]
    container = compiled["deploymentSpec"]["executors"][component["executorLabel"]]["container"]
    ours = container["args"].index(entrypoint.TASK_FLAG), container["args"].index(entrypoint.OUTPUTS_SPEC_FLAG)
    assert sorted(ours) == [0, 2], container["args"][:4]
    container["command"], container["args"] = spec.TFX_ENTRYPOINT, container["args"][4:]
    with open(output, "w") as f:
        yaml.safe_dump(compiled, f)
    return output


@pytest.fixture(scope="module")
def scenario(mnist_dir, tmp_path_factory):
    data = linked_data_dir(mnist_dir, tmp_path_factory.mktemp("data"))
    bucket = tmp_path_factory.mktemp("bucket")
    pipeline_yaml = str(tmp_path_factory.mktemp("spec") / "pipeline.yaml")
    compile_spec(pipeline_yaml, bucket, data)

    def run(run_id, spec_path=pipeline_yaml, **options):
        return kfp_harness.run(spec_path, str(bucket), run_id, env=kfp_harness.pod_environment(), cwd=REPO, **options)

    serving = f"file://{bucket / 'serving'}"
    runs = {"run-1": run("run-1")}
    v1 = serving_layout.latest_version(serving)
    write_sklearn_digits(str(data / "spans" / "0"))
    runs["run-2"] = run("run-2")
    v2 = serving_layout.latest_version(serving)
    serving_after_v2 = snapshot(str(bucket / "serving"))
    runs["run-3"] = run("run-3")
    controls = {}
    for name, task, publish_logs in (("executor-logs", spec.DATA_FINGERPRINT_TASK, True),
                                     ("empty input type", "StatisticsGen", False)):
        stock = with_stock_entrypoint(pipeline_yaml, task, str(tmp_path_factory.mktemp("stock") / "pipeline.yaml"))
        with pytest.raises(kfp_harness.TaskFailed) as failure:
            run(f"control-{task}", stock, publish_logs=publish_logs)
        controls[name] = str(failure.value)
    return {"runs": runs, "versions": (v1, v2), "serving": serving, "bucket": bucket, "data": data,
            "serving_unchanged": snapshot(str(bucket / "serving")) == serving_after_v2, "controls": controls,
            "pipeline_yaml": pipeline_yaml}


def test_run_1_trains_on_mnist_and_pushes_v1_with_no_baseline_yet(scenario):
    assert set(scenario["runs"]["run-1"]["states"].values()) == {"complete"}
    v1 = scenario["versions"][0]
    assert v1 and serving_layout.latest_metadata(scenario["serving"])
    blessing = metadata(execution(scenario["bucket"], "run-1", "Evaluator")["blessing"])
    assert blessing["blessed"] == 1.0 and "baseline_model" not in blessing


def test_run_2_learns_the_new_handwriting_and_is_gated_against_v1_on_both_sources(scenario):
    states = scenario["runs"]["run-2"]["states"]
    assert {states[t] for t in ("MnistExampleGen", "Transform", "Trainer", "Evaluator", "TFLitePusher")} == {"complete"}
    v1, v2 = scenario["versions"]
    assert v2 != v1
    evaluator = execution(scenario["bucket"], "run-2", "Evaluator")
    assert metadata(evaluator["blessing"])["baseline_model"] == os.path.join(scenario["serving"], v1)
    evaluation = read_evaluation(evaluator["evaluation"]["uri"])
    mnist, new_source = evaluation.per_source["mnist"], evaluation.per_source["span-0"]
    assert mnist[1] is not None and mnist[0] >= mnist[1] - 0.01  # within --max-regression 1 of v1
    assert new_source[0] > new_source[1]  # v1 was the baseline on the new source's eval share too
    images, labels = spans.load(spans.find(str(scenario["data"]))[0])["eval"]
    version_dirs = {v: serving_layout.version_dir(str(scenario["bucket"] / "serving"), v) for v in (v1, v2)}
    accuracy = {v: tflite.accuracy(tflite.predict(open(serving_layout.model_path(d), "rb").read(), images), labels)
                for v, d in version_dirs.items()}
    assert accuracy[v2] - accuracy[v1] >= 0.15, accuracy
    assert serving_layout.latest_metadata(scenario["serving"])["spans"][0]["source"] == "span-0"


def test_run_3_with_nothing_new_trains_nothing_and_pushes_nothing(scenario):
    states = scenario["runs"]["run-3"]["states"]
    assert {t for t, state in states.items() if state != "cached"} == {spec.DATA_FINGERPRINT_TASK, BASELINE_IMPORTER}
    assert scenario["runs"]["run-3"]["downloaded"] == {spec.DATA_FINGERPRINT_TASK: 0}
    assert scenario["serving_unchanged"]


def test_the_evaluator_downloads_the_latest_pointer_not_every_pushed_version(scenario):
    """KFP's launcher copies every input to the pod's disk; the baseline input is the LATEST file."""
    def size(path):
        return os.path.getsize(path) if os.path.isfile(path) else sum(
            os.path.getsize(os.path.join(d, f)) for d, _, files in os.walk(path) for f in files)

    run_2 = scenario["runs"]["run-2"]
    inputs = [execution(scenario["bucket"], "run-2", "MnistExampleGen")["examples"]["uri"],
              execution(scenario["bucket"], "run-2", "Trainer")["model"]["uri"],
              str(scenario["bucket"] / "serving" / serving_layout.LATEST_FILE)]
    assert run_2["downloaded"]["Evaluator"] == sum(size(path) for path in inputs)
    assert size(inputs[-1]) < 100 < size(str(scenario["bucket"] / "serving" / scenario["versions"][0]))


def test_tfx_stock_entrypoint_fails_on_what_kfp_sends_as_on_real_clusters(scenario):
    """The negative control: with the same harness, TFX's own entrypoint crashes on the
    executor-logs output (schemaTitle system.Artifact) and on an input whose instanceSchema is
    empty (tensorflow/tfx#7768); kubeflow/entrypoint.py ran both tasks above."""
    assert "ImportError: Could not import system.Artifact" in scenario["controls"]["executor-logs"]
    assert "AttributeError: 'NoneType' object has no attribute 'get'" in scenario["controls"]["empty input type"]
    assert "kubeflow_v2_entrypoint_utils" in scenario["controls"]["empty input type"]


def test_the_harness_refuses_a_task_name_argo_refuses(scenario, tmp_path):
    compiled = yaml.safe_load(open(scenario["pipeline_yaml"]))
    tasks = compiled["root"]["dag"]["tasks"]
    tasks["serving_dir_importer"] = tasks.pop(BASELINE_IMPORTER)
    with open(tmp_path / "underscore.yaml", "w") as f:
        yaml.safe_dump(compiled, f)
    with pytest.raises(kfp_harness.NotSupportedByKfp, match="'serving_dir_importer' is invalid"):
        kfp_harness.run(str(tmp_path / "underscore.yaml"), str(tmp_path), "run-1", kfp_harness.pod_environment(), REPO)
    assert os.listdir(tmp_path) == ["underscore.yaml"]


def test_a_resolver_fails_the_run_before_any_task_runs(scenario, tmp_path):
    """kubeflow compile --keep-resolver is for Vertex AI Pipelines: open-source KFP refuses it."""
    spec_path = str(tmp_path / "vertex.yaml")
    compile_spec(spec_path, tmp_path, scenario["data"], "--keep-resolver")
    with pytest.raises(kfp_harness.NotSupportedByKfp, match="non-container and non-importer executor"):
        kfp_harness.run(spec_path, str(tmp_path), "run-1", kfp_harness.pod_environment(), REPO)
    assert sorted(os.listdir(tmp_path)) == ["vertex.yaml"]
