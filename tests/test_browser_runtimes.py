"""The pushed model.tflite, byte for byte, in runtimes this project did not write: its TFLite Metadata read by
tflite-support's standard reader, and the model run in Debian's headless chromium by LiteRT.js and
by MediaPipe Tasks' ImageClassifier (the page tests/browser/runtimes.html, driven by web/run_page.mjs;
npm packages pinned by web/package-lock.json)."""
import functools
import http.server
import json
import os
import subprocess
import threading

import numpy as np
import pytest

from components.tflite_pusher import serving_layout, tflite
from components.tflite_pusher.metadata import read_metadata
from pipeline.config import PipelineConfig
from pipeline.exit_codes import ExitCode
from tests.helpers import SLICE_ARGS, mnist_tfx, require

BROWSER_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), "browser")
WEB_DIR = os.path.join(os.path.dirname(BROWSER_DIR), "..", "web")
NODE_MODULES = os.path.join(WEB_DIR, "node_modules")
DIGITS = 1000
MIN_AGREEMENT = 0.999


class StaticFiles(http.server.SimpleHTTPRequestHandler):
    # Module scripts and WebAssembly are refused under a generic type.
    extensions_map = {**http.server.SimpleHTTPRequestHandler.extensions_map,
                      ".mjs": "text/javascript", ".js": "text/javascript", ".wasm": "application/wasm"}

    def log_message(self, *args):
        pass


@pytest.fixture(scope="module")
def pushed(mnist_dir, tmp_path_factory):
    paths = PipelineConfig(output_dir=str(tmp_path_factory.mktemp("browser") / "out"))
    result = mnist_tfx("run", "--data-dir", mnist_dir, "--output-dir", paths.output_dir, *SLICE_ARGS,
                       "--model-author", "Digit Team", "--model-license", "Apache-2.0")
    assert result.returncode == ExitCode.OK, result.stderr[-3000:]
    version = serving_layout.latest_version(paths.serving_dir)
    version_dir = serving_layout.version_dir(paths.serving_dir, version)
    with open(serving_layout.model_path(version_dir), "rb") as f:
        return {"dir": version_dir, "version": version, "model": f.read()}


@pytest.fixture(scope="module")
def browser_results(pushed, mnist_eval, tmp_path_factory):
    """What the page computed for the first DIGITS test digits, served over HTTP from one directory."""
    node = require("node", "`make setup` installs it as root (scripts/setup_browser.sh); otherwise "
                           "`sudo apt-get install nodejs npm`")
    chromium = require("chromium", "`make setup` installs it as root; otherwise `sudo apt-get install chromium`")
    if not os.path.isdir(os.path.join(NODE_MODULES, "@litertjs")):
        pytest.fail(f"{os.path.abspath(NODE_MODULES)} is missing: run `make setup`", pytrace=False)
    site = tmp_path_factory.mktemp("site")
    os.symlink(os.path.join(BROWSER_DIR, "runtimes.html"), site / "runtimes.html")
    os.symlink(os.path.abspath(NODE_MODULES), site / "node_modules")
    os.symlink(serving_layout.model_path(pushed["dir"]), site / "model.tflite")
    (site / "digits.bin").write_bytes(np.ascontiguousarray(mnist_eval[0][:DIGITS]).tobytes())
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(StaticFiles, directory=str(site)))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        url = (f"http://127.0.0.1:{server.server_port}/runtimes.html"
               f"?model=model.tflite&digits=digits.bin&count={DIGITS}")
        result = subprocess.run([node, os.path.join(WEB_DIR, "run_page.mjs"), url, chromium],
                                capture_output=True, text=True, timeout=600)
    finally:
        server.shutdown()
    assert result.returncode == 0, result.stderr[-3000:]
    return json.loads(result.stdout)


def test_the_standard_reader_finds_the_metadata_labels_and_input_spec(pushed):
    read = read_metadata(pushed["model"])
    metadata = read["metadata"]
    assert metadata["version"] == pushed["version"] and metadata["name"].startswith("mnist-tfx")
    assert (metadata["author"], metadata["license"]) == ("Digit Team", "Apache-2.0")
    (image,) = metadata["subgraph_metadata"][0]["input_tensor_metadata"]
    assert image["content"]["content_properties"]["color_space"] == "RGB"
    assert image["stats"] == {"min": [0.0], "max": [255.0]}
    assert image["process_units"][0]["options"] == {"mean": [0.0], "std": [1.0]}  # identity: normalized inside
    (probabilities,) = metadata["subgraph_metadata"][0]["output_tensor_metadata"]
    assert probabilities["associated_files"][0]["type"] == "TENSOR_AXIS_LABELS"
    labels = open(serving_layout.labels_path(pushed["dir"])).read()
    assert read["files"][probabilities["associated_files"][0]["name"]] == labels


def test_litert_js_agrees_with_litert_in_python(browser_results, pushed, mnist_eval):
    assert "error" not in browser_results["litert"], browser_results["litert"]
    in_browser = np.array(browser_results["litert"]["probabilities"])
    in_python = tflite.predict(pushed["model"], mnist_eval[0][:DIGITS])
    agreement = np.mean(np.argmax(in_browser, axis=1) == np.argmax(in_python, axis=1))
    assert agreement >= MIN_AGREEMENT, agreement
    assert np.allclose(in_browser, in_python, atol=1e-4)


def test_mediapipe_classifies_with_the_labels_from_the_metadata(browser_results, pushed, mnist_eval):
    mediapipe = browser_results["mediapipe"]
    assert "categories" in mediapipe, mediapipe
    labels = open(serving_layout.labels_path(pushed["dir"])).read().split("\n")
    tops = [categories[0] for categories in mediapipe["categories"]]
    assert all(top["label"] == labels[top["index"]] for top in tops)
    in_python = np.argmax(tflite.predict(pushed["model"], mnist_eval[0][:DIGITS]), axis=1)
    assert np.mean([top["index"] for top in tops] == in_python) >= MIN_AGREEMENT
