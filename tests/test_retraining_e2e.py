"""Scheduled retraining as it runs locally: a model trained on MNIST, then a span of a new source of
real handwriting arrives (scikit-learn's bundled digits: 1,797 scans at 8x8, no download), the next
run retrains on it and is gated on both sources, and a run with nothing new trains nothing."""
import pytest

from components.mnist_example_gen import spans
from components.tflite_pusher import serving_layout, tflite
from pipeline import outcome
from pipeline.config import PipelineConfig
from pipeline.exit_codes import ExitCode
from components.baseline_evaluator.evaluation import read_evaluation
from tests.helpers import RETRAINING_ARGS, linked_data_dir, mnist_tfx, snapshot, write_sklearn_digits


@pytest.fixture(scope="module")
def scenario(mnist_dir, tmp_path_factory):
    data = linked_data_dir(mnist_dir, tmp_path_factory.mktemp("data"))
    paths = PipelineConfig(output_dir=str(tmp_path_factory.mktemp("retraining") / "out"))

    def run():
        result = mnist_tfx("run", "--data-dir", str(data), "--output-dir", paths.output_dir, *RETRAINING_ARGS)
        assert result.returncode == ExitCode.OK, result.stderr[-3000:]
        return outcome.read_run(paths.metadata_path)

    first = run()
    v1 = open(serving_layout.model_path(serving_layout.latest_pointer(paths.serving_dir)), "rb").read()
    write_sklearn_digits(str(data / "spans" / "0"))
    second = run()
    v2 = open(serving_layout.model_path(serving_layout.latest_pointer(paths.serving_dir)), "rb").read()
    serving_after_v2 = snapshot(paths.serving_dir)
    third = run()
    return {"runs": (first, second, third), "models": (v1, v2), "span": spans.find(str(data))[0],
            "serving_unchanged": snapshot(paths.serving_dir) == serving_after_v2, "paths": paths}


def test_the_retrained_model_reads_the_new_handwriting_far_better(scenario):
    new_images, new_labels = spans.load(scenario["span"])["eval"]
    v1, v2 = (tflite.accuracy(tflite.predict(model, new_images), new_labels) for model in scenario["models"])
    assert v2 - v1 >= 0.15, (v1, v2)
    second = scenario["runs"][1]
    assert second.pushed and second.component("Trainer").state == "complete"
    assert serving_layout.latest_metadata(scenario["paths"].serving_dir)["spans"][0]["source"] == "span-0"


def test_the_retrain_was_gated_on_both_sources(scenario):
    evaluation = read_evaluation(scenario["runs"][1].output("Evaluator", "evaluation")["uri"])
    assert list(evaluation.per_source) == ["mnist", "span-0"]
    mnist, new_source = evaluation.per_source["mnist"], evaluation.per_source["span-0"]
    assert mnist[0] >= mnist[1] - 0.01  # within --max-regression on MNIST, against v1
    assert new_source[0] > new_source[1]  # v1 was the baseline on the new source's eval share too


def test_a_run_with_nothing_new_trains_nothing_and_pushes_nothing(scenario):
    third = scenario["runs"][2]
    states = {c.name: c.state for c in third.components}
    assert {states[name] for name in ("MnistExampleGen", "Transform", "Trainer")} == {"cached"}
    assert scenario["serving_unchanged"]  # byte for byte: v2 is still the latest version
