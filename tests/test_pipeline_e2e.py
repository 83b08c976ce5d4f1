"""The whole DAG under Beam on a real MNIST slice, through the `mnist-tfx` CLI, checked in MLMD."""
import hashlib
import json
import os
import re
import sqlite3
import subprocess

import numpy as np
import pytest
import tensorflow_model_analysis as tfma
from ai_edge_litert.interpreter import Interpreter

from components.mnist_example_gen.examples import read_examples
from components.tflite_pusher import publish, serving_layout, tflite
from pipeline import outcome
from pipeline.config import PipelineConfig
from pipeline.exit_codes import ExitCode
from components.baseline_evaluator.evaluation import evaluated_accuracy
from tests.helpers import BIN_DIR, COMPONENTS, SLICE_ARGS, ServingWatcher, mnist_tfx, snapshot, write_idx


@pytest.fixture(scope="module")
def output_dir(tmp_path_factory):
    return str(tmp_path_factory.mktemp("e2e") / "out")


@pytest.fixture(scope="module")
def paths(output_dir):
    return PipelineConfig(output_dir=output_dir)


@pytest.fixture(scope="module")
def run_tmp_dir(tmp_path_factory):
    return tmp_path_factory.mktemp("run-tmp")


@pytest.fixture(scope="module")
def first_run(mnist_dir, output_dir, run_tmp_dir):
    return mnist_tfx("run", "--data-dir", mnist_dir, "--output-dir", output_dir, *SLICE_ARGS,
                     env={"TMPDIR": str(run_tmp_dir)})


def test_first_run_executes_every_component_and_pushes(first_run, paths, run_tmp_dir):
    assert first_run.returncode == ExitCode.OK, first_run.stderr[-3000:]
    run = outcome.read_run(paths.metadata_path)
    assert sorted(c.name for c in run.components) == sorted(COMPONENTS)
    assert {c.name: c.state for c in run.components} == {name: "complete" for name in COMPONENTS}
    pushed = run.pushed["pushed_destination"]
    assert re.search(rf"^  pushed +version {run.pushed['pushed_version']}: {re.escape(pushed)}/model\.tflite ",
                     first_run.stdout, re.M)
    # The Beam jobs were given our setup.py and run in process, so no sdist (of TFX or of this project) was built.
    assert [str(p) for p in run_tmp_dir.rglob("*.tar.gz")] == []


def test_pushed_tflite_scores_like_the_evaluator_on_raw_uint8_pixels(first_run, paths, mnist_eval):
    latest = serving_layout.latest_pointer(paths.serving_dir)
    model = open(serving_layout.model_path(latest), "rb").read()
    images, labels = mnist_eval[0][:1000], mnist_eval[1][:1000]  # the eval slice, read here independently
    tflite_accuracy = tflite.accuracy(tflite.predict(model, images), labels)

    run = outcome.read_run(paths.metadata_path)
    evaluation_uri = run.component("Evaluator").outputs["evaluation"][0]["uri"]
    assert abs(tflite_accuracy - evaluated_accuracy(evaluation_uri)) <= 0.005
    assert tflite_accuracy >= 0.85

    metadata = json.load(open(serving_layout.metadata_path(latest)))
    assert metadata["architecture"] == "cnn_bn"  # the default
    assert metadata["tflite_sha256"] == hashlib.sha256(model).hexdigest()
    assert metadata["pipeline_run_id"] == run.run_id
    assert metadata["metrics"]["tflite_accuracy"] == pytest.approx(tflite_accuracy)
    assert open(serving_layout.labels_path(latest)).read().split() == [str(d) for d in range(10)]


def test_evaluation_has_per_digit_accuracy_and_confusion_matrix(first_run, paths):
    run = outcome.read_run(paths.metadata_path)
    result = tfma.load_eval_result(run.component("Evaluator").outputs["evaluation"][0]["uri"])  # no baseline yet
    slices = {slice_key: metrics for slice_key, metrics in result.slicing_metrics}
    assert set(slices) == {(), (("source", "mnist"),)} | {(("label", digit),) for digit in range(10)}
    per_digit = [slices[(("label", d),)][""][""]["sparse_categorical_accuracy"]["doubleValue"] for d in range(10)]
    # What the config asks for, not also the model's compiled loss and accuracy (a second model load).
    assert set(slices[()][""][""]) == {"sparse_categorical_accuracy"}
    assert all(0 <= a <= 1 for a in per_digit) and min(per_digit) < max(per_digit)
    matrix = dict(result.plots)[()][""][""]["multiClassConfusionMatrixAtThresholds"]["matrices"][0]["entries"]
    assert sum(e.get("numWeightedExamples", 0) for e in matrix) == 1000


def test_every_rerun_is_fully_cached_the_first_after_a_push_included(first_run, mnist_dir, output_dir, paths):
    """The Resolver never returns the candidate as its own baseline, so the pushed model does not
    change the Evaluator's inputs: every component is cached (the Resolver, a metadata query, always
    runs) and nothing is published again."""
    serving_before = snapshot(paths.serving_dir)
    for _ in range(2):
        rerun = mnist_tfx("run", "--data-dir", mnist_dir, "--output-dir", output_dir, *SLICE_ARGS)
        assert rerun.returncode == ExitCode.OK, rerun.stderr[-3000:]
        run = outcome.read_run(paths.metadata_path)
        states = {c.name: c.state for c in run.components}
        assert states.pop("Resolver") == "complete"
        assert set(states.values()) == {"cached"}
        assert not run.component("Resolver").outputs.get("model")  # the first model has no baseline
    assert snapshot(paths.serving_dir) == serving_before


def test_unreachable_threshold_exits_3_and_leaves_serving_untouched(first_run, mnist_dir, output_dir, paths):
    """Also runs the LocalDagRunner, which shares the cache with the Beam runs."""
    serving_before = snapshot(paths.serving_dir)
    args = [{"0.85": "0.9999"}.get(a, a) for a in SLICE_ARGS]
    result = mnist_tfx("run", "--data-dir", mnist_dir, "--output-dir", output_dir, "--runner", "local", *args)
    assert result.returncode == ExitCode.NOT_PUSHED, result.stderr[-3000:]
    assert "not pushed: the Evaluator did not bless the model: sparse_categorical_accuracy value" in result.stderr
    assert "is below the threshold 0.9999" in result.stderr
    run = outcome.read_run(paths.metadata_path)
    states = {c.name: c.state for c in run.components}
    assert states["Trainer"] == "cached" and states["Evaluator"] == "complete"
    assert run.component("TFLitePusher").outputs["pushed_model"][0]["pushed"] == 0
    assert snapshot(paths.serving_dir) == serving_before


def test_model_worse_than_the_last_blessed_one_is_not_pushed(first_run, mnist_dir, output_dir, paths):
    serving_before = snapshot(paths.serving_dir)
    args = [{"0.85": "0.3", "3": "1"}.get(a, a) for a in SLICE_ARGS]  # 1 epoch instead of 3, a low bar
    result = mnist_tfx("run", "--data-dir", mnist_dir, "--output-dir", output_dir, *args)
    assert result.returncode == ExitCode.NOT_PUSHED, result.stderr[-3000:]
    assert "sparse_categorical_accuracy change against the baseline" in result.stderr
    assert snapshot(paths.serving_dir) == serving_before


@pytest.mark.parametrize("quantize, weight_type", [("int8", np.int8), ("float16", np.float16), ("dynamic", np.int8)])
def test_quantized_push_keeps_the_raw_pixel_contract(first_run, mnist_dir, output_dir, mnist_eval, quantize,
                                                     weight_type, paths):
    """Only the Pusher runs again; --keep-versions 2 prunes the oldest versions, never latest."""
    result = mnist_tfx("run", "--data-dir", mnist_dir, "--output-dir", output_dir, *SLICE_ARGS,
                       "--quantize", quantize, "--keep-versions", "2")
    assert result.returncode == ExitCode.OK, result.stderr[-3000:]
    latest = serving_layout.latest_pointer(paths.serving_dir)
    metadata = json.load(open(serving_layout.metadata_path(latest)))
    model = open(serving_layout.model_path(latest), "rb").read()
    assert metadata["quantize"] == quantize
    interpreter = Interpreter(model_content=model)
    assert interpreter.get_input_details()[0]["dtype"] == np.uint8
    assert interpreter.get_output_details()[0]["dtype"] == np.float32
    assert weight_type in {t["dtype"] for t in interpreter.get_tensor_details()}
    accuracy = tflite.accuracy(tflite.predict(model, mnist_eval[0][:1000]), mnist_eval[1][:1000])
    assert metadata["metrics"]["evaluated_accuracy"] - accuracy <= 0.003
    assert os.path.isfile(os.path.join(serving_layout.saved_model_path(latest), "saved_model.pb"))
    assert len(serving_layout.versions(paths.serving_dir)) <= 2


def test_bad_data_dir_exits_2_with_one_line_before_any_work(tmp_path):
    empty = tmp_path / "empty"
    empty.mkdir()
    result = mnist_tfx("run", "--data-dir", str(empty), "--output-dir", str(tmp_path / "out"), *SLICE_ARGS)
    assert result.returncode == ExitCode.BAD_INPUT
    assert result.stderr.strip().splitlines() == [
        f"mnist-tfx: {empty}: no mnist data (expected train-images-idx3-ubyte.gz, train-labels-idx1-ubyte.gz, "
        "t10k-images-idx3-ubyte.gz, t10k-labels-idx1-ubyte.gz, or mnist.npz)"]
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("engine", ["beam", "local"])
def test_tfx_cli_runs_the_same_pipeline(first_run, mnist_dir, output_dir, tmp_path, engine, paths):
    """`tfx pipeline create|update|list` + `tfx run create` with settings from MNIST_TFX_* variables
    and the CLI's home in a temp dir: every component is a cache hit of the CLI's run, so it is the
    same pipeline, not a look-alike."""
    env = {"HOME": str(tmp_path), "MNIST_DIR": mnist_dir, "MNIST_TFX_OUTPUT_DIR": output_dir}
    flags = dict(zip(SLICE_ARGS[::2], SLICE_ARGS[1::2]))
    env.update({"MNIST_TFX_" + flag[2:].upper().replace("-", "_"): value for flag, value in flags.items()})
    runner_file = os.path.join(os.path.dirname(__file__), "..", f"{engine}_runner.py")
    runs_before = len(outcome.run_ids(paths.metadata_path))

    def tfx(*args):
        result = subprocess.run([os.path.join(BIN_DIR, "tfx"), *args, "--engine", engine], capture_output=True,
                                text=True, timeout=900, env={**os.environ, **env})
        assert result.returncode == 0, result.stderr[-3000:]
        return result.stdout

    tfx("pipeline", "create", "--pipeline_path", runner_file)
    tfx("pipeline", "update", "--pipeline_path", runner_file)
    assert "mnist-tfx" in tfx("pipeline", "list")
    tfx("run", "create", "--pipeline_name", "mnist-tfx")
    assert len(outcome.run_ids(paths.metadata_path)) == runs_before + 1
    run = outcome.read_run(paths.metadata_path)
    assert {c.name: c.state for c in run.components} == {name: "complete" if name == "Resolver" else "cached"
                                                         for name in COMPONENTS}


def test_a_run_killed_in_the_trainer_resumes_and_a_concurrent_run_is_refused(first_run, mnist_dir, output_dir, paths):
    """kill -9 during the Trainer while a second run tries the same output dir, then the same command
    again: it reuses the cached upstream and publishes; a reader polling serving/ all along only ever
    saw complete versions, and the ML Metadata store passes SQLite's integrity check."""
    serving, metadata_path = paths.serving_dir, paths.metadata_path
    # A new seed retrains; 30 epochs keep the Trainer busy while the second run starts.
    args = ["run", "--data-dir", mnist_dir, "--output-dir", output_dir, *SLICE_ARGS,
            "--epochs", "30", "--seed", "7", "--max-regression", "100"]
    watcher = ServingWatcher(serving)
    watcher.start()
    killed = subprocess.Popen([os.path.join(BIN_DIR, "mnist-tfx"), *args], stdout=subprocess.PIPE,
                              stderr=subprocess.STDOUT, text=True)
    assert any(line.lstrip().startswith("epoch   1/30") for line in killed.stdout), "the Trainer never started"

    concurrent = mnist_tfx(*args)
    assert concurrent.returncode == ExitCode.BUSY, concurrent.stderr[-3000:]
    assert f"another run holds the lock (pid {killed.pid} since" in concurrent.stderr
    assert killed.poll() is None, "the first run ended before the second one was refused"
    killed.kill()
    killed.wait()
    interrupted = outcome.read_run(metadata_path)
    assert interrupted.component("Trainer").state == "running" and not interrupted.component("Evaluator")

    resumed = mnist_tfx(*args)
    watcher.stop()
    assert resumed.returncode == ExitCode.OK, resumed.stderr[-3000:]
    states = {c.name: c.state for c in outcome.read_run(metadata_path).components}
    assert states == {name: "complete" if name in ("Trainer", "Resolver", "Evaluator", "TFLitePusher") else "cached"
                      for name in COMPONENTS}
    assert watcher.problems == []
    assert len(watcher.latest_seen) == 2  # the version before and the one just pushed
    assert sorted(os.listdir(serving)) == sorted([*serving_layout.versions(serving), serving_layout.LATEST_LINK])
    assert not os.path.exists(publish.staging_dir(serving))
    with sqlite3.connect(f"file:{metadata_path}?mode=ro", uri=True) as db:
        assert db.execute("PRAGMA integrity_check").fetchall() == [("ok",)]


def test_data_that_parses_but_breaks_the_schema_is_stopped_before_training(mnist_train_slice, mnist_eval, tmp_path):
    """Keras' mnist.npz layout, every training label the same digit: ExampleValidator names it, exit 2."""
    np.savez(tmp_path / "mnist.npz", x_train=mnist_train_slice[0][:500], y_train=np.full(500, 3, np.uint8),
             x_test=mnist_eval[0][:200], y_test=mnist_eval[1][:200])
    output_dir = tmp_path / "out"
    result = mnist_tfx("run", "--data-dir", str(tmp_path), "--output-dir", str(output_dir), "--epochs", "1")
    assert result.returncode == ExitCode.BAD_INPUT, result.stderr[-3000:]
    assert result.stderr.strip().splitlines()[-1].startswith(
        "mnist-tfx: ExampleValidator found anomalies: split 'train' feature 'label': Low number of unique values")
    paths = PipelineConfig(output_dir=str(output_dir))
    states = {c.name: c.state for c in outcome.read_run(paths.metadata_path).components}
    assert states["StrictExampleValidator"] == "failed" and "Trainer" not in states
    assert not os.path.exists(paths.serving_dir)


def test_the_same_examples_in_another_order_give_a_byte_identical_model(mnist_train_slice, mnist_eval, tmp_path):
    """The second data dir holds the same images in another order, so ExampleGen writes them in another
    order. The Trainer orders examples by content,
    so the same data and seed push the same .tflite, byte for byte but for the version name in its
    metadata."""
    images, labels = mnist_train_slice
    order = np.random.default_rng(1).permutation(len(labels))
    models, written = [], []
    for name, train in (("first", slice(None)), ("second", order)):
        data_dir = tmp_path / f"data-{name}"
        data_dir.mkdir()
        for prefix, (split_images, split_labels) in (("train", (images[train], labels[train])),
                                                     ("t10k", (mnist_eval[0][:500], mnist_eval[1][:500]))):
            write_idx(data_dir / f"{prefix}-images.idx3-ubyte.gz", split_images, 0x803)
            write_idx(data_dir / f"{prefix}-labels.idx1-ubyte.gz", split_labels, 0x801)
        paths = PipelineConfig(output_dir=str(tmp_path / name))
        result = mnist_tfx("run", "--data-dir", str(data_dir), "--output-dir", paths.output_dir, "--arch", "mlp",
                           "--epochs", "2", "--accuracy-threshold", "0.5")
        assert result.returncode == ExitCode.OK, result.stderr[-3000:]
        model = open(serving_layout.model_path(serving_layout.latest_pointer(paths.serving_dir)), "rb").read()
        version = serving_layout.latest_version(paths.serving_dir).encode()
        assert model.count(version) == 1
        models.append(model.replace(version, b"<version name>"))
        examples = outcome.read_run(paths.metadata_path).output("MnistExampleGen", "examples")["uri"]
        written.append(read_examples(os.path.join(examples, "Split-train", "*"))[1])
    assert sorted(written[0].tolist()) == sorted(written[1].tolist()) and not np.array_equal(*written)
    assert hashlib.sha256(models[0]).hexdigest() == hashlib.sha256(models[1]).hexdigest()
