"""`mnist-tfx serve` as a person uses it: real MNIST test digits traced as pen strokes on the page in
Debian's headless chromium (web/drive_serve.mjs), read by the latest pushed model in LiteRT.js; a
correction stored as a PNG in the next span; the next run training and testing on it. And what the
server must refuse or survive: bad requests, a decompression bomb, 50 submissions at once, a
read-only or full disk, and a data dir on an object store."""
import concurrent.futures
import io
import json
import os
import re
import shutil
import struct
import subprocess
import threading
import urllib.error
import urllib.request
import uuid
import zlib

import numpy as np
import pytest
import tensorflow as tf
from PIL import Image

from components import files
from components.mnist_example_gen import datasets, handwriting, spans
from components.mnist_example_gen.examples import read_examples
from components.tflite_pusher import publish, serving_layout, tflite
from pipeline import outcome, serve
from pipeline.config import PipelineConfig
from pipeline.exit_codes import ExitCode
from tests.helpers import BIN_DIR, linked_data_dir, mnist_tfx, require, snapshot

WEB_DIR = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "web")
# Enough training for hand-traced digits: the model reads about 97 % of the test set.
RUN_ARGS = ["--max-train-examples", "20000", "--max-eval-examples", "1000", "--epochs", "3", "--augment", "off",
            "--accuracy-threshold", "0.9"]
CANVAS_SCALE = 10  # the page's 280x280 pad over a 28x28 digit


def traced(image: np.ndarray) -> list:
    """The digit as pen strokes over its ink, row by row, in the pad's pixels."""
    strokes = []
    for row, pixels in enumerate(image > 127):
        edges = np.flatnonzero(np.diff(np.concatenate([[0], pixels.astype(int), [0]])))
        for start, end in zip(edges[::2], edges[1::2]):
            y = (row + 0.5) * CANVAS_SCALE
            strokes.append([[(start + 0.5) * CANVAS_SCALE, y], [(end - 0.5) * CANVAS_SCALE, y]])
    return strokes


def png(image: np.ndarray, size: int = 100) -> bytes:
    out = io.BytesIO()
    Image.fromarray(image).resize((size, size)).save(out, format="PNG")
    return out.getvalue()


def png_claiming(width: int, height: int) -> bytes:
    """A PNG whose header claims width x height grey pixels, with one compressed row of them: about a
    hundred bytes that claim width x height to decode."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
    return (serve.PNG_SIGNATURE + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(bytes(width + 1))) + chunk(b"IEND", b""))


def start_server(command: list[str], env=None) -> tuple[subprocess.Popen, str]:
    """The server's process and URL (it prints the URL first)."""
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    line = process.stdout.readline()
    match = re.match(r"serving (http://\S+/) ", line)
    if not match:
        process.kill()
        pytest.fail(f"serve did not start: {line}{process.stderr.read()[-2000:]}")
    return process, match.group(1)


def post(url: str, body: bytes, content_type: str = "image/png") -> tuple[int, dict]:
    request = urllib.request.Request(url, data=body, method="POST", headers={"Content-Type": content_type})
    try:
        with urllib.request.urlopen(request, timeout=60) as response:
            return response.status, json.load(response)
    except urllib.error.HTTPError as e:
        return e.code, json.load(e)


@pytest.fixture(scope="module")
def site(mnist_dir, tmp_path_factory):
    data = linked_data_dir(mnist_dir, tmp_path_factory.mktemp("data"))
    paths = PipelineConfig(output_dir=str(tmp_path_factory.mktemp("serve") / "out"))
    result = mnist_tfx("run", "--data-dir", str(data), "--output-dir", paths.output_dir, *RUN_ARGS)
    assert result.returncode == ExitCode.OK, result.stderr[-3000:]
    process, url = start_server([os.path.join(BIN_DIR, "mnist-tfx"), "serve", "--output-dir", paths.output_dir,
                                 "--data-dir", str(data), "--port", "0"])
    yield {"data": data, "paths": paths, "url": url, "pid": process.pid}
    process.terminate()
    process.wait(timeout=30)


def drive_page(url: str, digits: list, work_dir) -> tuple[list, dict]:
    """What web/drive_serve.mjs reports after drawing `digits` (its STROKES.json) on the page at url:
    what the page read of each, and the page (model line, correction buttons)."""
    chromium = require("chromium", "`make setup` installs it as root; otherwise `sudo apt-get install chromium`")
    node = require("node", "`make setup` installs it as root; otherwise `sudo apt-get install nodejs npm`")
    strokes_file = work_dir / "digits.json"
    strokes_file.write_text(json.dumps(digits))
    result = subprocess.run([node, os.path.join(WEB_DIR, "drive_serve.mjs"), url, chromium, str(strokes_file),
                             str(work_dir / "page.png")], capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr[-3000:]
    *read, page = json.loads(result.stdout)
    return read, page


@pytest.fixture(scope="module")
def drawn(site, mnist_eval, tmp_path_factory):
    """Digits 0-9 (the first of each in the test set) drawn stroke by stroke; the 3 is then stored
    through the "it is a 3" button."""
    images, labels = mnist_eval
    picked = [int(np.flatnonzero(labels == digit)[0]) for digit in range(10)]
    digits = [{"strokes": traced(images[i]), "correct_as": 3 if labels[i] == 3 else None} for i in picked]
    before = snapshot(str(site["data"]))
    read, page = drive_page(site["url"], digits, tmp_path_factory.mktemp("strokes"))
    new_files = sorted(set(snapshot(str(site["data"]))) - set(before))
    return {"read": read, "labels": [int(labels[i]) for i in picked], "page": page, "new_files": new_files}


def serving_copy(site, out) -> str:
    """out/serving with a copy of the site's pushed version as `latest`; the copy's directory."""
    pushed = serving_layout.latest_version_dir(site["paths"].serving_dir)
    serving = serving_layout.serving_dir_in(str(out))
    version = serving_layout.version_dir(serving, os.path.basename(pushed))
    shutil.copytree(pushed, version)
    os.symlink(os.path.basename(version), serving_layout.latest_pointer(serving))
    return version


def page_of_a_changed_copy(site, tmp_path, digits: list, labels: list[str] | None = None,
                           tflite_model: bytes | None = None) -> tuple[list, dict]:
    """drive_page on a server of a copy of the site's pushed version whose model.json names `labels`
    or whose .tflite is `tflite_model`; corrections go to tmp_path/data."""
    version = serving_copy(site, tmp_path / "out")
    if labels:
        metadata = json.loads(open(serving_layout.metadata_path(version)).read())
        open(serving_layout.metadata_path(version), "w").write(json.dumps({**metadata, "labels": labels}))
    if tflite_model:
        open(serving_layout.model_path(version), "wb").write(tflite_model)
    (tmp_path / "data").mkdir()
    process, url = start_server([os.path.join(BIN_DIR, "mnist-tfx"), "serve", "--output-dir", str(tmp_path / "out"),
                                 "--data-dir", str(tmp_path / "data"), "--port", "0"])
    try:
        return drive_page(url, digits, tmp_path)
    finally:
        process.terminate()
        process.wait(timeout=30)


def tflite_taking(height: int, width: int) -> bytes:
    """A .tflite from one uint8 [1,height,width,3] image to 10 probabilities: a model of other images."""
    @tf.function(input_signature=[tf.TensorSpec([1, height, width, 3], tf.uint8)])
    def classify(image):
        return tf.nn.softmax(tf.reduce_mean(tf.cast(image, tf.float32), axis=[1, 2]) @ tf.ones([3, 10]))
    return tf.lite.TFLiteConverter.from_concrete_functions([classify.get_concrete_function()], classify).convert()


def test_serve_starts_without_tensorflow(site):
    with open(f"/proc/{site['pid']}/maps") as maps:
        assert "tensorflow" not in maps.read()  # no TensorFlow library is loaded into the server


def test_digits_drawn_as_strokes_are_read_correctly_in_the_browser(drawn, site):
    read = [result["top"][0]["label"] for result in drawn["read"]]
    assert sum(np.array(read) == drawn["labels"]) >= 9, (read, drawn["labels"])
    # What the page read is what LiteRT in Python reads from the prepared image the page shows.
    latest = serving_layout.latest_pointer(site["paths"].serving_dir)
    model = open(serving_layout.model_path(latest), "rb").read()
    prepared = np.array([result["prepared"] for result in drawn["read"]], np.uint8).reshape(-1, 28, 28)
    probabilities = tflite.predict(model, prepared)
    assert read == np.argmax(probabilities, axis=1).tolist()
    assert all([row["label"] for row in result["top"]] == np.argsort(-p)[:3].tolist()
               for result, p in zip(drawn["read"], probabilities))
    model = json.load(open(serving_layout.metadata_path(latest)))
    assert model["version"] in drawn["page"]["model"] and f"{100 * model['metrics']['tflite_accuracy']:.2f} %" in \
        drawn["page"]["model"]


def test_the_page_loads_the_new_model_when_latest_moves_and_reads_without_a_data_dir(site, tmp_path):
    chromium = require("chromium", "`make setup` installs it as root; otherwise `sudo apt-get install chromium`")
    node = require("node", "`make setup` installs it as root; otherwise `sudo apt-get install nodejs npm`")
    serving = serving_layout.serving_dir_in(str(tmp_path / "out"))
    pushed = serving_copy(site, tmp_path / "out")
    process, url = start_server([os.path.join(BIN_DIR, "mnist-tfx"), "serve", "--output-dir", str(tmp_path / "out"),
                                 "--port", "0"], env={**os.environ, "MNIST_DIR": str(tmp_path / "absent"),
                                                      "XDG_CACHE_HOME": str(tmp_path / "cache")})
    watcher = subprocess.Popen([node, os.path.join(WEB_DIR, "wait_for_reload.mjs"), url, chromium],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert watcher.stdout.readline().strip() == os.path.basename(pushed)  # model.json's version
        new_version = serving_layout.version_dir(serving, "20260102-000000")
        shutil.copytree(pushed, new_version)
        metadata = json.load(open(serving_layout.metadata_path(new_version)))
        json.dump({**metadata, "version": "20260102-000000"}, open(serving_layout.metadata_path(new_version), "w"))
        os.symlink("20260102-000000", os.path.join(serving, "latest-new"))
        os.replace(os.path.join(serving, "latest-new"), serving_layout.latest_pointer(serving))  # as publish moves it
        out, err = watcher.communicate(timeout=180)
        status, reply = post(url + "api/corrections?label=1", png(np.zeros((28, 28), np.uint8)))
    finally:
        process.terminate()
        process.wait(timeout=30)
    assert watcher.returncode == 0, err[-2000:]
    assert out.startswith("Model 20260102-000000 (")
    assert (status, reply["error"]) == (409, "serve was started without a data dir: restart it with --data-dir "
                                             "to store drawings")


def test_the_page_names_the_classes_as_model_json_does_and_stores_corrections_by_class_index(site, mnist_eval,
                                                                                            tmp_path):
    images, labels = mnist_eval
    fashion = list(datasets.FASHION_MNIST.labels)
    one = int(np.flatnonzero(labels == 1)[0])
    (read,), page = page_of_a_changed_copy(site, tmp_path, [{"strokes": traced(images[one]), "correct_as": 7}],
                                           labels=fashion)
    assert page["labels"] == [{"label": index, "text": name} for index, name in enumerate(fashion)]
    assert len(read["top"]) == 3
    assert all(re.fullmatch(rf"{re.escape(fashion[row['label']])}\d+\.\d %", row["text"]) for row in read["top"])
    (stored,) = os.listdir(tmp_path / "data" / "spans" / "0" / "7")  # "Sneaker" is class 7
    assert read["message"] == f"Stored as a Sneaker: spans/0/7/{stored}"


@pytest.mark.parametrize("labels, side, problem", [
    (9, 28, "its model.json names 9 labels, but it gives 10 class probabilities"),
    (10, 32, "it takes 32x32 images, but the server prepares drawings as 28x28 (/api/prepare), and the page does not "
             "resize them"),
], ids=["nine labels", "a 32x32 input"])
def test_a_model_the_page_cannot_feed_or_read_gets_one_clear_error_and_no_prediction(labels, side, problem, site,
                                                                                     mnist_eval, tmp_path):
    digit = {"strokes": traced(mnist_eval[0][0]), "correct_as": None}
    (read,), page = page_of_a_changed_copy(site, tmp_path, [digit], labels=[str(d) for d in range(labels)],
                                           tflite_model=tflite_taking(side, side))
    model = serving_layout.latest_metadata(site["paths"].serving_dir)
    assert page == {"model": f"Model {model['version']} ({model['architecture']}) cannot run on this page: {problem}",
                    "labels": []}
    assert read["top"] == []


def test_a_correction_lands_as_a_png_in_the_next_span(drawn, site):
    (stored,) = drawn["new_files"]
    assert re.fullmatch(rf"{site['data']}/spans/0/3/drawn-[\w-]+\.png", stored)
    (three,) = [result for result in drawn["read"] if "message" in result]
    assert os.path.relpath(stored, site["data"]) in three["message"]
    assert three["waiting"] == "1 example waiting for the next run"
    assert Image.open(stored).size == (280, 280)  # the drawing itself; runs prepare it as `predict` does


def test_bad_requests_get_a_4xx_and_write_nothing(site, mnist_eval):
    digit = png(mnist_eval[0][0])
    corrections = site["url"] + "api/corrections"
    jpeg = io.BytesIO()
    Image.fromarray(mnist_eval[0][0]).save(jpeg, format="JPEG")
    before = snapshot(str(site["data"]))
    cases = {
        "text, not a PNG": (corrections + "?label=1", b"seven", "text/plain", 415),
        "a JPEG sent as a PNG": (corrections + "?label=1", jpeg.getvalue(), "image/png", 415),
        "oversized body": (corrections + "?label=1", digit + b"\0" * 600_000, "image/png", 413),
        "oversized image": (corrections + "?label=1", png(mnist_eval[0][0], 3000), "image/png", 413),
        "label 10": (corrections + "?label=10", digit, "image/png", 400),
        "no label": (corrections, digit, "image/png", 400),
        "a path as the label": (corrections + "?label=../../etc", digit, "image/png", 400),
        "a path in another field": (corrections + "?label=1&name=../../x.png", digit, "image/png", 400),
        "a path in the URL": (corrections + "/../../x.png?label=1", digit, "image/png", 404),
        "a truncated PNG": (corrections + "?label=1", digit[:200], "image/png", 400),
    }
    for case, (url, body, content_type, status) in cases.items():
        got, reply = post(url, body, content_type)
        assert (got, bool(reply.get("error"))) == (status, True), case
    assert snapshot(str(site["data"])) == before


@pytest.fixture(scope="module")
def submitted_at_once(site, drawn, mnist_eval):
    images, labels = mnist_eval
    requests = [(site["url"] + f"api/corrections?label={labels[i]}", png(images[i])) for i in range(1000, 1050)]
    with concurrent.futures.ThreadPoolExecutor(max_workers=50) as pool:
        replies = list(pool.map(lambda request: post(*request), requests))
    return replies, [int(label) for label in labels[1000:1050]], images[1000:1050]


def test_50_submissions_at_once_store_50_distinct_complete_files(submitted_at_once, site):
    replies, labels, images = submitted_at_once
    assert [status for status, _ in replies] == [201] * 50
    stored = [os.path.join(site["data"], reply["stored"]) for _, reply in replies]
    assert len(set(stored)) == 50
    for path, label, image in zip(stored, labels, images):
        assert os.path.basename(os.path.dirname(path)) == str(label)
        assert np.array_equal(np.asarray(Image.open(path)), np.asarray(Image.fromarray(image).resize((100, 100))))


def test_the_next_run_trains_on_the_corrections_and_tests_on_their_eval_share(submitted_at_once, site):
    result = mnist_tfx("run", "--data-dir", str(site["data"]), "--output-dir", site["paths"].output_dir, *RUN_ARGS)
    assert result.returncode in (ExitCode.OK, ExitCode.NOT_PUSHED), result.stderr[-3000:]  # retrained; pushed or not, the data was read
    examples = outcome.read_run(site["paths"].metadata_path).output("MnistExampleGen", "examples")["uri"]
    (span,) = spans.find(str(site["data"]))
    expected = {"train": [], "eval": []}
    for label in range(10):
        for name in sorted(os.listdir(os.path.join(span.path, str(label)))):
            expected["eval" if spans.in_eval(f"{label}/{name}") else "train"].append(label)
    for split in ("train", "eval"):
        images, labels, sources = read_examples(os.path.join(examples, f"Split-{split}", "*"), with_sources=True)
        assert sorted(labels[sources == "span-0"].tolist()) == sorted(expected[split]), split
    assert expected["eval"] and len(expected["train"]) + len(expected["eval"]) == 51


def test_a_malformed_span_is_named_and_nothing_is_written(site, mnist_dir, mnist_eval, tmp_path):
    (tmp_path / "data").mkdir()
    data = linked_data_dir(mnist_dir, tmp_path / "data")
    os.makedirs(data / "spans" / "latest")
    process, url = start_server([os.path.join(BIN_DIR, "mnist-tfx"), "serve", "--output-dir",
                                 site["paths"].output_dir, "--data-dir", str(data), "--port", "0"])
    try:
        with pytest.raises(urllib.error.HTTPError) as refused:
            urllib.request.urlopen(url + "api/status", timeout=30)
        posted = post(url + "api/corrections?label=1", png(mnist_eval[0][2]))
    finally:
        process.terminate()
        process.wait(timeout=30)
    message = f"{data}/spans/latest: a span's name must be a non-negative integer"
    assert (refused.value.code, json.load(refused.value)) == (500, {"error": message})
    assert posted == (500, {"error": message})
    assert os.listdir(data / "spans") == ["latest"] and not os.listdir(data / "spans" / "latest")


@pytest.mark.parametrize("disk, mount", [
    ("read-only", "mount --bind {data} {data} && mount -o remount,bind,ro {data}"),
    ("full", "mount -t tmpfs -o size=64k tmpfs {data}/spans && (head -c 1M /dev/zero > {data}/spans/.filler || true)"),
])
def test_a_read_only_or_full_disk_gets_a_clear_message_and_loses_nothing(disk, mount, site, mnist_dir, mnist_eval,
                                                                        tmp_path):
    unshare = require("unshare", "it comes with util-linux: `apt-get install util-linux`")
    (tmp_path / "data").mkdir()
    data = linked_data_dir(mnist_dir, tmp_path / "data")
    os.makedirs(data / "spans" / "0" / "7")
    Image.fromarray(mnist_eval[0][0]).save(data / "spans" / "0" / "7" / "kept.png")
    before = snapshot(str(data))
    command = (f"{mount.format(data=data)} && exec {BIN_DIR}/mnist-tfx serve --output-dir "
               f"{site['paths'].output_dir} --data-dir {data} --port 0")
    process, url = start_server([unshare, "--map-root-user", "--mount", "sh", "-c", command])
    try:
        waiting = json.load(urllib.request.urlopen(url + "api/status", timeout=30))["waiting"]
        status, reply = post(url + "api/corrections?label=1", png(mnist_eval[0][2]))
        waiting_after = json.load(urllib.request.urlopen(url + "api/status", timeout=30))["waiting"]
    finally:
        process.terminate()
        log = process.communicate(timeout=30)[1]
    assert status == 507
    reason = {"read-only": "Read-only file system", "full": "No space left on device"}[disk]
    assert reply["error"] == f"cannot store the drawing under {data}: {reason}; nothing was written"
    assert f"cannot store a correction under {data}" in log
    assert waiting_after == waiting
    assert snapshot(str(data)) == before


def test_a_decompression_bomb_gets_a_413_and_the_server_goes_on(tmp_path, mnist_eval):
    bomb = png_claiming(20_000, 20_000)
    assert len(bomb) < 1000
    process, url = start_server([os.path.join(BIN_DIR, "mnist-tfx"), "serve", "--output-dir", str(tmp_path / "out"),
                                 "--port", "0"], env={**os.environ, "MNIST_DIR": str(tmp_path / "absent"),
                                                      "XDG_CACHE_HOME": str(tmp_path / "cache")})
    try:
        refused = post(url + "api/prepare", bomb)
        prepared = post(url + "api/prepare", png(mnist_eval[0][0]))
    finally:
        process.terminate()
        log = process.communicate(timeout=30)[1]
    status, reply = refused
    assert status == 413 and list(reply) == ["error"] and "\n" not in reply["error"], refused
    assert reply["error"].startswith("the image is too large (Image size (400000000 pixels) exceeds limit")
    assert reply["error"].endswith(f"; at most {serve.MAX_SIDE} pixels a side")
    assert prepared[0] == 200 and len(prepared[1]["pixels"]) == 784 and prepared[1]["shape"] == [28, 28]
    assert "Traceback" not in log and '"POST /api/prepare HTTP/1.1" 413' in log


def test_a_correction_goes_whole_into_the_next_span_on_an_object_store(mnist_eval):
    """ram://, TensorFlow's in-memory file system, stands in for gs://, so the server runs in this
    process. ram:// can rename and shows a file from its first write, so it cannot show that an upload
    is atomic; it shows that the serve path reads the LATEST pointer, model.json and the spans through
    tf.io.gfile, and that the drawing lands whole under its final name with no temporary object."""
    images, labels = mnist_eval
    root = f"ram://serve-test-{uuid.uuid4().hex}"
    serving, data = f"{root}/out/serving", f"{root}/data"
    spans.add_image(f"{data}/spans/0", int(labels[0]), "trained-on", images[0])
    publish.publish(serving, b"a model", [str(d) for d in range(10)],
                    {"metrics": {"tflite_accuracy": 0.99}, "spans": [{"source": "span-0"}]})
    server = serve.make_server(serving, data, "127.0.0.1", 0)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{server.server_address[1]}/"
    try:
        status, reply = post(url + "api/corrections?label=3", png(images[1]))
        model = json.load(urllib.request.urlopen(url + serving_layout.METADATA_FILE, timeout=30))
    finally:
        server.shutdown()
        server.server_close()
    assert status == 201 and re.fullmatch(r"spans/1/3/drawn-[\w-]+\.png", reply["stored"]), reply
    assert (reply["model"]["version"], reply["waiting"], reply["next_span"]) == (model["version"], 1, "span-1")
    assert model["version"] == serving_layout.latest_version(serving)
    _, new = spans.find(data)
    assert new.number == 1 and files.listdir(new.path) == ["3"]
    assert files.listdir(f"{new.path}/3") == [os.path.basename(reply["stored"])]
    (split,) = [split for split in spans.load(new).values() if len(split[1])]
    np.testing.assert_array_equal(split[0], [handwriting.to_mnist(Image.open(io.BytesIO(png(images[1]))))])
    assert split[1].tolist() == [3]


def test_the_cli_takes_uris_for_the_data_and_output_dirs(tmp_path, mnist_eval):
    """file:// goes through tf.io.gfile, as gs:// would (which the tests do not reach)."""
    (tmp_path / "data").mkdir()
    data = f"file://{tmp_path}/data"
    process, url = start_server([os.path.join(BIN_DIR, "mnist-tfx"), "serve", "--output-dir", f"file://{tmp_path}/out",
                                 "--data-dir", data, "--port", "0"])
    try:
        status, reply = post(url + "api/corrections?label=4", png(mnist_eval[0][4]))
    finally:
        process.terminate()
        process.wait(timeout=30)
    assert status == 201 and re.fullmatch(r"spans/0/4/drawn-[\w-]+\.png", reply["stored"]), reply
    (span,) = spans.find(data)
    assert spans.file_names(span) == [reply["stored"][len("spans/0/"):]]
