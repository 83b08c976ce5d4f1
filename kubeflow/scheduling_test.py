"""`mnist-tfx kubeflow schedule|run` against a stand-in for the KFP API: a small local HTTP server
that answers the few v2beta1 calls kfp's client makes and records every request. It is not
Kubeflow; it shows what our commands send."""
import http.server
import json
import threading
import urllib.parse

import pytest
import yaml

from kubeflow import scheduling
from tests.helpers import KUBEFLOW_COMPILE, compile_with_cli, mnist_tfx

API = "/apis/v2beta1"


class StandInKfpApi(http.server.ThreadingHTTPServer):
    def __init__(self):
        super().__init__(("127.0.0.1", 0), StandInHandler)
        self.requests, self.experiments, self.recurring_runs = [], {}, {}
        threading.Thread(target=self.serve_forever, daemon=True).start()

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"


class StandInHandler(http.server.BaseHTTPRequestHandler):
    def log_message(self, *args):
        pass

    def _reply(self, body: dict):
        raw = json.dumps(body).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(raw)))
        self.end_headers()
        self.wfile.write(raw)

    def _record(self):
        url = urllib.parse.urlparse(self.path)
        length = int(self.headers.get("Content-Length") or 0)
        body = json.loads(self.rfile.read(length)) if length else None
        self.server.requests.append((self.command, url.path, urllib.parse.parse_qs(url.query), body))
        return url.path, body

    def do_GET(self):
        path, _ = self._record()
        if path == f"{API}/healthz":
            self._reply({"multi_user": False})
        elif path == f"{API}/experiments":
            self._reply({"experiments": list(self.server.experiments.values())})
        elif path == f"{API}/recurringruns":
            self._reply({"recurringRuns": list(self.server.recurring_runs.values())})
        else:
            self.send_error(404)

    def do_POST(self):
        path, body = self._record()
        if path == f"{API}/experiments":
            experiment = {**body, "experiment_id": f"experiment-{len(self.server.experiments) + 1}"}
            self.server.experiments[experiment["experiment_id"]] = experiment
            self._reply(experiment)
        elif path == f"{API}/recurringruns":
            recurring_run = {**body, "recurring_run_id": f"recurring-{len(self.server.requests)}"}
            self.server.recurring_runs[recurring_run["recurring_run_id"]] = recurring_run
            self._reply(recurring_run)
        elif path == f"{API}/runs":
            self._reply({**body, "run_id": "run-1"})
        else:
            self.send_error(404)

    def do_DELETE(self):
        path, _ = self._record()
        self.server.recurring_runs.pop(path.rsplit("/", 1)[-1], None)
        self._reply({})


@pytest.fixture
def kfp_api():
    server = StandInKfpApi()
    yield server
    server.shutdown()


def sent(kfp_api, method, path):
    return [body for m, p, _, body in kfp_api.requests if (m, p) == (method, API + path)]


def test_schedule_creates_then_replaces_a_recurring_run_by_name(kfp_api, tmp_path):
    package = tmp_path / "pipeline.yaml"
    compile_with_cli(package)
    schedule = [*KUBEFLOW_COMPILE, "--endpoint", kfp_api.endpoint, "--package", str(package), "--experiment", "nightly",
                "--max-concurrency", "1", "--no-catchup"]
    schedule[1] = "schedule"
    first = mnist_tfx(*schedule, "--cron", "0 0 3 * * *")
    assert first.returncode == 0, first.stderr[-3000:]
    second = mnist_tfx(*schedule, "--cron", "0 30 4 * * 1-5")
    assert second.returncode == 0, second.stderr[-3000:]

    assert [e["display_name"] for e in sent(kfp_api, "POST", "/experiments")] == ["nightly"]  # once, then found
    created = sent(kfp_api, "POST", "/recurringruns")
    assert [r["trigger"]["cron_schedule"]["cron"] for r in created] == ["0 0 3 * * *", "0 30 4 * * 1-5"]
    for recurring_run in created:
        assert recurring_run["display_name"] == "mnist-tfx-retraining"
        assert recurring_run["experiment_id"] == "experiment-1"
        assert int(recurring_run["max_concurrency"]) == 1 and recurring_run["no_catchup"] is True
        assert recurring_run["mode"] == "ENABLE"
        assert recurring_run["runtime_config"]["pipeline_root"] == "gs://bucket/mnist-tfx"
        assert recurring_run["pipeline_spec"] == yaml.safe_load(package.read_text())
    first_id = json.loads(first.stdout)["recurring_run_id"]
    assert json.loads(second.stdout)["replaced"] == [first_id]
    assert [p for m, p, _, _ in kfp_api.requests if m == "DELETE"] == [f"{API}/recurringruns/{first_id}"]
    assert list(kfp_api.recurring_runs) == [json.loads(second.stdout)["recurring_run_id"]]


def test_run_compiles_from_the_flags_and_starts_one_run(kfp_api):
    run = [*KUBEFLOW_COMPILE, "--endpoint", kfp_api.endpoint]
    run[1] = "run"
    result = mnist_tfx(*run)
    assert result.returncode == 0, result.stderr[-3000:]
    assert json.loads(result.stdout)["run_id"] == "run-1"
    [submitted] = sent(kfp_api, "POST", "/runs")
    assert submitted["display_name"] == "mnist-tfx mlp"
    assert set(submitted["pipeline_spec"]["root"]["dag"]["tasks"]) >= {"MnistExampleGen", "Trainer", "TFLitePusher"}
    assert submitted["runtime_config"]["pipeline_root"] == "gs://bucket/mnist-tfx"


def test_dry_run_sends_nothing_and_a_crontab_line_is_refused(kfp_api):
    schedule = [*KUBEFLOW_COMPILE, "--endpoint", kfp_api.endpoint, "--cron", "0 0 3 * * *", "--dry-run"]
    schedule[1] = "schedule"
    result = mnist_tfx(*schedule)
    assert result.returncode == 0, result.stderr[-3000:]
    request = json.loads(result.stdout)
    assert request["dry_run"] is True and request["cron"] == "0 0 3 * * *" and len(request["package"]["tasks"]) == 10
    assert kfp_api.requests == []
    with pytest.raises(ValueError, match=r"has 5 fields; KFP takes 6, seconds first.*'0 0 3 \* \* \*'"):
        scheduling.check_cron("0 3 * * *")


def test_an_unreachable_endpoint_is_one_line_and_exit_1(tmp_path):
    package = tmp_path / "pipeline.yaml"
    compile_with_cli(package)
    run = [*KUBEFLOW_COMPILE, "--endpoint", "http://127.0.0.1:9", "--package", str(package)]
    run[1] = "run"
    result = mnist_tfx(*run)
    assert result.returncode == 1
    assert len(result.stderr.strip().splitlines()) == 1
    assert result.stderr.startswith("mnist-tfx kubeflow: http://127.0.0.1:9: ")
