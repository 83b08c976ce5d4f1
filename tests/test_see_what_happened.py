"""What a user sees of a run: the console, `runs`, `report` (rendered in headless chromium) and
`predict` on handwriting-like PNGs, all from a CNN trained here on 30,000 real images."""
import base64
import io
import json
import re
import subprocess

import numpy as np
import pytest
from PIL import Image

from pipeline import outcome
from pipeline.config import PipelineConfig
from pipeline.exit_codes import ExitCode
from components.baseline_evaluator.evaluation import evaluated_accuracy, read_evaluation
from components.tflite_pusher.spec import TFLITE_ACCURACY_KEY
from tests.helpers import COMPONENTS, mnist_tfx, require

RUN_ARGS = ["--max-train-examples", "30000", "--max-eval-examples", "2000", "--epochs", "4",
            "--accuracy-threshold", "0.95"]


@pytest.fixture(scope="module")
def output_dir(tmp_path_factory):
    return tmp_path_factory.mktemp("seen") / "out"


@pytest.fixture(scope="module")
def metadata_path(output_dir):
    return PipelineConfig(output_dir=str(output_dir)).metadata_path


@pytest.fixture(scope="module")
def runs(mnist_dir, output_dir):
    """A cold run, then the same command again (all cached)."""
    results = [mnist_tfx("run", "--data-dir", mnist_dir, "--output-dir", str(output_dir), *RUN_ARGS) for _ in range(2)]
    for result in results:
        assert result.returncode == ExitCode.OK, result.stderr[-3000:]
    return results


def test_console_shows_components_as_they_run_epochs_and_a_summary(runs, metadata_path):
    """The component lines are the executions ML Metadata recorded, with the same states and times."""
    cold, cached = runs[0].stdout, runs[1].stdout
    assert "\r" not in cold and "INFO" not in cold + runs[0].stderr
    cold_run, cached_run = (outcome.read_run(metadata_path, run_id) for run_id in outcome.run_ids(metadata_path))
    assert sorted(c.name for c in cold_run.components) == sorted(COMPONENTS)
    for component in cold_run.components:
        started = cold.index(f"\n▸ {component.name}\n")
        assert cold.index(f"\n✓ {component.name} {component.seconds:.1f} s\n") > started
    trainer_start, trainer_end = cold.index("\n▸ Trainer\n"), cold.index("\n✓ Trainer ")
    epochs = re.findall(r"^  epoch +(\d)/4 +loss .* ETA \d+:\d\d$", cold[trainer_start:trainer_end], re.M)
    assert epochs == ["1", "2", "3", "4"]  # inside the Trainer's start and end lines
    for component in cached_run.components:
        end_line = f"↺ {component.name} cached" if component.state == "cached" else f"✓ {component.name} "
        assert f"\n{end_line}" in cached, component.name
        assert re.search(rf"^  {component.name} +{component.state} +{component.seconds:.1f} s$", cached, re.M)
    accuracy = evaluated_accuracy(cached_run.output("Evaluator", "evaluation")["uri"])
    assert f"Evaluator accuracy       {accuracy:.2%}" in cached
    pushed = cold_run.pushed
    assert re.search(rf"^  pushed +version {pushed['pushed_version']}: {re.escape(pushed['pushed_destination'])}"
                     r"/model\.tflite \(\d+ KB\)$", cold, re.M)
    log_path = re.search(r"^  log +(\S+)$", cold, re.M).group(1)
    assert f"Pushed {pushed['pushed_destination']}" in open(log_path).read()  # every log record, kept in a file


def test_runs_lists_both_runs(runs, output_dir, metadata_path):
    result = mnist_tfx("runs", "--output-dir", str(output_dir))
    assert result.returncode == ExitCode.OK, result.stderr
    lines = result.stdout.strip().splitlines()
    run_ids = outcome.run_ids(metadata_path)
    assert len(lines) == 3 and [line.split()[0] for line in lines[1:]] == run_ids
    version = re.search(r" cnn_bn +4 +\d+\.\d\d% +\d+\.\d\d% yes +(\d{8}-\d{6}) +mnist \d+\.\d\d% \(–\) +–$",
                        lines[1]).group(1)
    # The rerun is a full cache hit: the same evaluation, still without a baseline (a model is never its own),
    # and the same version. Only the Resolver, a metadata query, runs.
    cached = re.search(rf" yes +{version} +mnist \d+\.\d\d% \(–\) +8/9: (.*)$", lines[2])
    assert cached, lines[2]
    assert set(cached.group(1).split(", ")) == set(COMPONENTS) - {"Resolver"}


@pytest.fixture(scope="module")
def report_file(runs, output_dir, metadata_path):
    first_run = outcome.run_ids(metadata_path)[0]
    result = mnist_tfx("report", "--output-dir", str(output_dir), "--run", first_run)
    assert result.returncode == ExitCode.OK, result.stderr[-3000:]
    return output_dir / "report.html"


def test_report_embeds_decodable_figures_and_the_evaluators_numbers(report_file, metadata_path):
    page = report_file.read_text()
    figures = re.findall(r'src="data:image/png;base64,([^"]+)"', page)
    assert len(figures) == 4
    for figure in figures:
        with Image.open(io.BytesIO(base64.b64decode(figure))) as image:
            assert image.size[0] > 200 and np.asarray(image.convert("L")).std() > 10
    run = outcome.read_run(metadata_path, outcome.run_ids(metadata_path)[0])
    evaluation = read_evaluation(run.output("Evaluator", "evaluation")["uri"], with_confusion=True)
    assert float(re.search(r'<tr id="accuracy"><th>[^<]*</th><td data-value="([^"]+)"', page).group(1)) \
        == evaluation.accuracy == evaluated_accuracy(run.output("Evaluator", "evaluation")["uri"])
    per_digit = [float(v) for v in re.findall(r'<tr><td>\d</td><td data-value="([^"]+)"', page)]
    assert per_digit == list(evaluation.per_digit.values()) and len(per_digit) == 10
    assert evaluation.confusion.sum() == 2000
    assert np.allclose(np.diag(evaluation.confusion) / evaluation.confusion.sum(axis=1), per_digit, atol=1e-6)
    tflite_accuracy = float(re.search(r'<tr id="tflite-accuracy"><th>[^<]*</th><td data-value="([^"]+)"', page).group(1))
    assert tflite_accuracy == run.pushed[TFLITE_ACCURACY_KEY]
    assert "Evaluation on 2,000 test images" in page and "sha256 8d422c7b0a1c1c79" in page


def test_report_renders_in_headless_chromium(report_file, tmp_path):
    chromium = require("chromium", "`make test` installs it as root (scripts/setup_browser.sh); "
                                   "otherwise `sudo apt-get install chromium`")
    screenshot = tmp_path / "report.png"
    subprocess.run([chromium, "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars",
                    "--window-size=1200,2400", f"--screenshot={screenshot}", report_file.as_uri()],
                   capture_output=True, timeout=120, check=True)
    with Image.open(screenshot) as image:
        pixels = np.asarray(image.convert("L"))
    assert pixels.shape == (2400, 1200)
    assert pixels.std() > 20 and (pixels < 100).mean() > 0.01  # text and figures, not a blank page


def test_predict_reads_dark_on_light_pngs_of_any_size(runs, output_dir, mnist_eval, tmp_path):
    """200 real test digits as 100x100 PNGs, black ink on white, as a scan or a phone photo would be."""
    images, labels = mnist_eval[0][:200], mnist_eval[1][:200]
    paths = []
    for i, image in enumerate(images):
        paths.append(str(tmp_path / f"digit-{i:03d}.png"))
        Image.fromarray(255 - image).resize((100, 100), Image.BILINEAR).save(paths[-1])
    result = mnist_tfx("predict", "--output-dir", str(output_dir), "--json", "--top-k", "3", *paths)
    assert result.returncode == ExitCode.OK, result.stderr[-3000:]
    predictions = json.loads(result.stdout)
    assert [p["image"] for p in predictions] == paths
    assert all(len(p["predictions"]) == 3 for p in predictions)
    predicted = np.array([int(p["predictions"][0]["label"]) for p in predictions])
    assert np.mean(predicted == labels) >= 0.97, np.mean(predicted == labels)
    text = mnist_tfx("predict", "--output-dir", str(output_dir), paths[0]).stdout.strip()
    assert re.fullmatch(rf"{re.escape(paths[0])}: {labels[0]} \(\d+\.\d%\)", text)


def test_predict_names_a_file_that_is_not_an_image(runs, output_dir, tmp_path):
    bad = tmp_path / "notes.png"
    bad.write_text("not a picture")
    result = mnist_tfx("predict", "--output-dir", str(output_dir), str(bad))
    assert result.returncode == ExitCode.BAD_INPUT
    assert result.stderr.strip().startswith(f"mnist-tfx: {bad}: not an image PIL can read")
