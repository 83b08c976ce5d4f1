"""New data as spans beside real MNIST, through the `mnist-tfx` CLI: every example tagged with its
source, each span split into train and eval, the spans recorded in ML Metadata and model.json, the
Evaluator sliced by source, and the cache keyed on the data's contents wherever it lies."""
import json
import os
import shutil

import numpy as np
import pytest

from components.mnist_example_gen import mnist_data
from components.mnist_example_gen.examples import read_examples
from components.tflite_pusher import serving_layout
from pipeline import outcome
from pipeline.config import PipelineConfig
from pipeline.exit_codes import ExitCode
from components.baseline_evaluator.evaluation import read_evaluation
from tests.helpers import SLICE_ARGS, linked_data_dir, mnist_tfx, write_idx, write_png_span


@pytest.fixture(scope="module")
def data_dir(mnist_dir, mnist_eval, tmp_path_factory):
    """Links to the real MNIST files, and span 0: 300 test digits the base slice does not use, as PNGs."""
    data = linked_data_dir(mnist_dir, tmp_path_factory.mktemp("data"))
    write_png_span(data / "spans" / "0", mnist_eval[0][9000:9300], mnist_eval[1][9000:9300])
    return data


@pytest.fixture(scope="module")
def paths(tmp_path_factory):
    return PipelineConfig(output_dir=str(tmp_path_factory.mktemp("spans") / "out"))


def run(data_dir, paths, *extra):
    result = mnist_tfx("run", "--data-dir", str(data_dir), "--output-dir", paths.output_dir, *SLICE_ARGS, *extra)
    assert result.returncode == ExitCode.OK, result.stderr[-3000:]
    return result, outcome.read_run(paths.metadata_path)


def sources_written(run_outcome) -> dict:
    examples = run_outcome.output("MnistExampleGen", "examples")
    return {split: dict(zip(*np.unique(read_examples(os.path.join(examples["uri"], f"Split-{split}", "*"),
                                                     with_sources=True)[2], return_counts=True)))
            for split in ("train", "eval")}


@pytest.fixture(scope="module")
def first(data_dir, paths):
    return run(data_dir, paths)


def test_every_example_is_tagged_and_each_span_is_split(first):
    _, run_outcome = first
    written = sources_written(run_outcome)
    assert written["train"]["mnist"] == 3000 and written["eval"]["mnist"] == 1000  # the limits are the base's only
    assert written["train"]["span-0"] + written["eval"]["span-0"] == 300
    assert 40 <= written["eval"]["span-0"] <= 80  # about 20 %, by a hash of each file's name


def test_the_spans_read_are_recorded_in_ml_metadata_and_model_json(first, paths, data_dir):
    result, run_outcome = first
    recorded = json.loads(run_outcome.output("MnistExampleGen", "examples")["spans"])
    assert [(s["span"], s["source"], s["train_examples"] + s["eval_examples"]) for s in recorded] == [(0, "span-0", 300)]
    assert len(recorded[0]["fingerprint"]) == 64
    model_json = json.load(open(serving_layout.metadata_path(serving_layout.latest_pointer(paths.serving_dir))))
    assert model_json["spans"] == recorded


def test_the_evaluator_slices_by_source_and_the_summary_shows_it(first):
    result, run_outcome = first
    evaluation = read_evaluation(run_outcome.output("Evaluator", "evaluation")["uri"])
    assert list(evaluation.per_source) == ["mnist", "span-0"]
    for source, (accuracy, baseline) in evaluation.per_source.items():
        assert 0.5 < accuracy <= 1 and baseline is None  # the first run has no baseline
        assert f"    on {source:<19} {accuracy:.2%}  (last blessed model: –)" in result.stdout


def test_the_same_data_at_another_path_with_new_times_is_a_full_cache_hit(first, data_dir, paths, tmp_path):
    """Links to the same base files and a copy of the span with new modification times, as another
    checkout or a re-upload would give: nothing runs again but the Resolver."""
    other = tmp_path / "same-data"
    other.mkdir()
    for name in os.listdir(data_dir):
        if name != "spans":
            os.symlink(os.path.realpath(data_dir / name), other / name)
    shutil.copytree(data_dir / "spans", other / "spans")
    for path in (other / "spans").rglob("*"):
        os.utime(path)
    _, again = run(other, paths)
    states = {c.name: c.state for c in again.components}
    assert states.pop("Resolver") == "complete" and set(states.values()) == {"cached"}, states


def test_a_new_span_reruns_example_gen_and_max_spans_keeps_the_newest(first, data_dir, paths, mnist_eval):
    _, unchanged = run(data_dir, paths)
    assert unchanged.component("MnistExampleGen").state == "cached"
    span = data_dir / "spans" / "1"
    span.mkdir()
    write_idx(span / "scans-images-idx3-ubyte.gz", mnist_eval[0][9300:9500], mnist_data.IMAGE_MAGIC)
    write_idx(span / "scans-labels-idx1-ubyte.gz", mnist_eval[1][9300:9500], mnist_data.LABEL_MAGIC)
    result, grown = run(data_dir, paths, "--max-regression", "100")  # here the gate is not the point
    assert grown.component("MnistExampleGen").state == "complete"
    written = sources_written(grown)
    assert set(written["train"]) == set(written["eval"]) == {"mnist", "span-0", "span-1"}
    evaluation = read_evaluation(grown.output("Evaluator", "evaluation")["uri"])
    assert evaluation.per_source["mnist"][1] is not None  # gated against the last blessed model
    _, newest_only = run(data_dir, paths, "--max-spans", "1", "--max-regression", "100")
    assert set(sources_written(newest_only)["train"]) == {"mnist", "span-1"}
    recorded = json.loads(newest_only.output("MnistExampleGen", "examples")["spans"])
    assert [s["span"] for s in recorded] == [1]
