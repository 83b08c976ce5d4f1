"""`mnist-tfx kubeflow schedule|run|status|pause|resume|delete` against a stand-in for the KFP API: a
small local HTTP server that answers the v2beta1 calls kfp's client makes and records every request.
It is not Kubeflow; it shows what our commands send, and it holds them to the API server's rules,
read from kubeflow/pipelines at commit 7b70c7b (paths below are under backend/):

- Multi-user mode (src/apiserver/resource/resource_manager.go IsAuthorized, ReplaceNamespace): a call
  acts in a namespace, and one without a namespace is refused with 400 before anything else
  (server/experiment_server.go canAccessExperiment, run_server.go canAccessRun, job_server.go
  canAccessJob: "... cannot have an empty namespace in multi-user mode"). A caller with no identity
  gets 401 Unauthenticated; one the SubjectAccessReview denies gets 403 PermissionDenied. The identity
  comes from a bearer token, which the server sends to a TokenReview
  (src/apiserver/auth/authenticator_token_review.go), or from the kubeflow-userid header that the
  Kubeflow gateway sets for a valid login (auth/authenticator_http_headers.go); the stand-in
  plays that gateway too, taking a login cookie as the identity.
- Where the namespace comes from: the `namespace` query parameter when experiments, runs or recurring
  runs are listed, unless an experiment_id is given, whose namespace it is then (run_server.go
  listRuns, job_server.go listJobs); the `namespace` field of a new experiment; the experiment of a
  new run or recurring run (resource_manager.go GetValidExperimentNamespacePair); the stored recurring
  run for calls on one by id (job_server.go canAccessJob). Single-user mode ignores namespaces.
- healthz answers everyone, with `multi_user` (src/apiserver/main.go).
- Errors are google.rpc.Status bodies with grpc-gateway's HTTP codes (400, 401, 403, 404).
- Runs filter on `recurring_run_id` and sort on `created_at` (src/apiserver/model/run.go).
"""
import dataclasses
import datetime
import http.server
import json
import os
import secrets
import threading
import urllib.parse
import uuid

import pytest
import yaml

from kubeflow import endpoint, scheduling
from pipeline.exit_codes import ExitCode
from tests.helpers import KUBEFLOW_COMPILE, compile_unchecked, mnist_tfx

API = "/apis/v2beta1"
USER = "alice@example.com"
# google.rpc codes, by HTTP status (grpc-gateway's HTTPStatusFromCode).
RPC_CODES = {400: 3, 401: 16, 403: 7, 404: 5}
# The API server's words for a call without a namespace, by collection.
NO_NAMESPACE = {"experiments": "An experiment", "runs": "A run", "recurringruns": "a recurring run"}


@dataclasses.dataclass
class Request:
    method: str
    path: str
    query: dict
    body: dict | None
    headers: dict  # names in lower case
    namespace: str | None  # the namespace the call acts in, as the API server finds it


class Refused(Exception):
    def __init__(self, status: int, message: str):
        super().__init__(message)
        self.status = status


class StandInKfpApi(http.server.ThreadingHTTPServer):
    """multi_user=True plays a Kubeflow platform's endpoint, where `token` and `login_cookie`
    (NAME=VALUE) are USER's credentials and USER may act in `namespaces`."""

    def __init__(self, multi_user=False, token=None, login_cookie=None, namespaces=()):
        super().__init__(("127.0.0.1", 0), StandInHandler)
        self.multi_user, self.token, self.login_cookie, self.namespaces = multi_user, token, login_cookie, namespaces
        self.requests, self.experiments, self.recurring_runs, self.runs = [], {}, {}, {}
        threading.Thread(target=self.serve_forever, daemon=True).start()

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"

    def fire(self, recurring_run_id: str, created_at: datetime.datetime, ran=(), cached=(), failed=None) -> dict:
        """A run of the recurring run, as KFP reports it after the scheduler started it: the recurring
        run's spec and runtime config copied (src/apiserver/resource/resource_manager.go
        ReportWorkflowResource), and task details from Argo's nodes (server/api_converter.go
        toModelTasks): "<task>-driver", "<task>", and the "executor" pod under it, which is skipped
        when the driver found the task in the cache (src/v2/compiler/argocompiler/container.go). The
        task's `error` is filled as the API defines it (api/v2beta1/run.proto, PipelineTaskDetail);
        7b70c7b's Argo reports leave it empty, which `failed` with a message of None plays."""
        recurring_run, failed = self.recurring_runs[recurring_run_id], failed or {}
        outcomes = [*((t, "SUCCEEDED", "SUCCEEDED") for t in ran), *((t, "SUCCEEDED", "SKIPPED") for t in cached),
                    *((t, "FAILED", "FAILED") for t in failed)]
        task_details = []
        for task, state, executor_state in outcomes:
            error = {"code": 2, "message": failed[task]} if failed.get(task) else None
            task_details += [{"display_name": f"{task}-driver", "state": "SUCCEEDED"},
                             {"display_name": task, "state": state, "error": error},
                             {"display_name": "executor", "state": executor_state}]
        run = {"run_id": str(uuid.uuid4()), "display_name": f"{recurring_run['display_name']}-{len(self.runs)}",
               "experiment_id": recurring_run["experiment_id"], "recurring_run_id": recurring_run_id,
               "pipeline_spec": recurring_run["pipeline_spec"], "runtime_config": recurring_run["runtime_config"],
               "created_at": created_at.strftime("%Y-%m-%dT%H:%M:%SZ"),
               "finished_at": (created_at + datetime.timedelta(minutes=5)).strftime("%Y-%m-%dT%H:%M:%SZ"),
               "state": "FAILED" if failed else "SUCCEEDED", "storage_state": "AVAILABLE",
               "run_details": {"task_details": task_details}}
        self.runs[run["run_id"]] = run
        return run


def _matches(resource: dict, filter_json: str | None) -> bool:
    """The EQUALS predicates of a v2beta1 Filter (api/v2beta1/filter.proto), as protojson reads them."""
    for predicate in json.loads(filter_json or "{}").get("predicates", []):
        assert predicate["operation"] in ("EQUALS", 1), predicate
        if resource.get(predicate["key"]) != predicate.get("string_value", predicate.get("stringValue")):
            return False
    return True


class StandInHandler(http.server.BaseHTTPRequestHandler):
    def log_message(self, *args):
        pass

    def _reply(self, body: dict, status: int = 200):
        raw = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(raw)))
        self.end_headers()
        self.wfile.write(raw)

    def _identity(self) -> str | None:
        cookies = [c.strip() for c in (self.headers.get("Cookie") or "").split(";")]
        if self.server.token and self.headers.get("Authorization") == f"Bearer {self.server.token}":
            return USER
        return USER if self.server.login_cookie and self.server.login_cookie in cookies else None

    def _authorize(self, collection: str, namespace: str | None) -> None:
        if not self.server.multi_user:
            return
        if not namespace:
            raise Refused(400, f"{NO_NAMESPACE[collection]} cannot have an empty namespace in multi-user mode")
        if not self._identity():
            raise Refused(401, "Failed to check authorization. User identity is empty in the request header")
        if namespace not in self.server.namespaces:
            raise Refused(403, f"User '{USER}' is not authorized with reason:  (request: namespace {namespace})")

    def _stored(self, collection: dict, resource_id: str, what: str) -> dict:
        if resource_id not in collection:
            raise Refused(404, f"{what} {resource_id} not found")
        return collection[resource_id]

    def _namespace(self, collection: str, resource_id: str, query: dict, body: dict | None) -> str | None:
        """The namespace the call acts in (see the module's docstring)."""
        server = self.server
        if resource_id:
            return self._stored(server.recurring_runs, resource_id.split(":")[0], "recurring run").get("namespace")
        experiment_id = (body or {}).get("experiment_id") or query.get("experiment_id")
        if collection != "experiments" and experiment_id:
            return self._stored(server.experiments, experiment_id, "experiment")["namespace"]
        return (body or {}).get("namespace") if self.command == "POST" else query.get("namespace")

    def _handle(self):
        url = urllib.parse.urlparse(self.path)
        query = {k: v[0] for k, v in urllib.parse.parse_qs(url.query).items()}
        length = int(self.headers.get("Content-Length") or 0)
        body = json.loads(self.rfile.read(length)) if length else None
        collection, _, resource_id = url.path.removeprefix(API + "/").partition("/")
        request = Request(self.command, url.path, query, body, {k.lower(): v for k, v in self.headers.items()}, None)
        self.server.requests.append(request)
        if url.path == f"{API}/healthz":
            return self._reply({"multi_user": self.server.multi_user, "commit_sha": "stand-in", "tag_name": "stand-in"})
        try:
            request.namespace = self._namespace(collection, resource_id, query, body)
            self._authorize(collection, request.namespace)
            self._reply(self._act(collection, resource_id, query, body, request.namespace))
        except Refused as e:
            self._reply({"code": RPC_CODES[e.status], "message": str(e), "details": []}, e.status)

    do_GET = do_POST = do_DELETE = _handle

    def _act(self, collection: str, resource_id: str, query: dict, body: dict | None, namespace: str | None) -> dict:
        server, method = self.server, self.command
        namespace = namespace if server.multi_user else ""  # single-user mode: ResourceManager.ReplaceNamespace
        if (method, collection, resource_id) == ("GET", "experiments", ""):
            return {"experiments": [e for e in server.experiments.values()
                                    if e["namespace"] == namespace and _matches(e, query.get("filter"))]}
        if (method, collection, resource_id) == ("POST", "experiments", ""):
            experiment = {**body, "namespace": namespace, "experiment_id": f"experiment-{len(server.experiments) + 1}"}
            server.experiments[experiment["experiment_id"]] = experiment
            return experiment
        if (method, collection, resource_id) == ("GET", "recurringruns", ""):
            return {"recurringRuns": [r for r in server.recurring_runs.values()
                                      if r["experiment_id"] == query.get("experiment_id")]}
        if (method, collection, resource_id) == ("POST", "recurringruns", ""):
            recurring_run = {**body, "namespace": namespace, "recurring_run_id": f"recurring-{len(server.requests)}"}
            server.recurring_runs[recurring_run["recurring_run_id"]] = recurring_run
            return recurring_run
        if collection == "recurringruns":
            recurring_run_id, _, verb = resource_id.partition(":")
            if method == "DELETE":
                server.recurring_runs.pop(recurring_run_id)
                return {}
            if verb in ("enable", "disable"):
                server.recurring_runs[recurring_run_id]["mode"] = verb.upper()
                return {}
            return server.recurring_runs[recurring_run_id]
        if (method, collection) == ("POST", "runs"):
            return {**body, "run_id": "run-1"}
        if (method, collection) == ("GET", "runs"):
            found = [r for r in server.runs.values()
                     if r["experiment_id"] == query.get("experiment_id") and _matches(r, query.get("filter"))]
            field, _, order = query.get("sort_by", "created_at").partition(" ")
            found.sort(key=lambda r: r[field], reverse=order == "desc")
            return {"runs": found[:int(query.get("page_size", 10))], "total_size": len(found)}
        raise Refused(404, f"{method} {self.path} is not a call the stand-in knows")


@pytest.fixture
def kfp_api():
    server = StandInKfpApi()
    yield server
    server.shutdown()


def sent(kfp_api, method, path):
    return [r.body for r in kfp_api.requests if (r.method, r.path) == (method, API + path)]


def test_schedule_creates_then_replaces_a_recurring_run_by_name(kfp_api, kubeflow_spec):
    package = kubeflow_spec[1]
    schedule = [*KUBEFLOW_COMPILE, "--endpoint", kfp_api.endpoint, "--package", str(package), "--experiment", "nightly",
                "--max-concurrency", "1", "--no-catchup"]
    schedule[1] = "schedule"
    first = mnist_tfx(*schedule, "--cron", "0 0 3 * * *")
    assert first.returncode == ExitCode.OK, first.stderr[-3000:]
    second = mnist_tfx(*schedule, "--cron", "0 30 4 * * 1-5")
    assert second.returncode == ExitCode.OK, second.stderr[-3000:]

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
    assert [r.path for r in kfp_api.requests if r.method == "DELETE"] == [f"{API}/recurringruns/{first_id}"]
    assert list(kfp_api.recurring_runs) == [json.loads(second.stdout)["recurring_run_id"]]


def test_run_compiles_from_the_flags_and_starts_one_run(kfp_api):
    run = [*KUBEFLOW_COMPILE, "--endpoint", kfp_api.endpoint]
    run[1] = "run"
    result = mnist_tfx(*run)
    assert result.returncode == ExitCode.OK, result.stderr[-3000:]
    assert json.loads(result.stdout)["run_id"] == "run-1"
    [submitted] = sent(kfp_api, "POST", "/runs")
    assert submitted["display_name"] == "mnist-tfx mlp"
    assert set(submitted["pipeline_spec"]["root"]["dag"]["tasks"]) >= {"MnistExampleGen", "Trainer", "TFLitePusher"}
    assert submitted["runtime_config"]["pipeline_root"] == "gs://bucket/mnist-tfx"


def test_dry_run_sends_nothing_and_a_crontab_line_is_refused(kfp_api):
    schedule = [*KUBEFLOW_COMPILE, "--endpoint", kfp_api.endpoint, "--cron", "0 0 3 * * *", "--dry-run"]
    schedule[1] = "schedule"
    result = mnist_tfx(*schedule)
    assert result.returncode == ExitCode.OK, result.stderr[-3000:]
    request = json.loads(result.stdout)
    assert request["dry_run"] is True and request["cron"] == "0 0 3 * * *" and len(request["package"]["tasks"]) == 10
    assert kfp_api.requests == []
    with pytest.raises(ValueError, match=r"has 5 fields; KFP takes 6, seconds first.*'0 0 3 \* \* \*'"):
        scheduling.check_cron("0 3 * * *")


def test_a_root_tensorflow_cannot_open_is_refused_before_anything_is_sent(kfp_api, kubeflow_spec):
    """Standalone KFP's default root, minio://: a run there would fail inside its first task."""
    package = kubeflow_spec[1]
    for command in ("schedule", "run"):
        request = [*KUBEFLOW_COMPILE, "--endpoint", kfp_api.endpoint, "--package", str(package), *CRON]
        request[1] = command
        request[request.index("--pipeline-root") + 1] = "minio://mlpipeline/v2/artifacts"
        result = mnist_tfx(*(request if command == "schedule" else request[:-2]))
        assert result.returncode == ExitCode.BAD_INPUT and len(result.stderr.splitlines()) == 1, result.stderr
        assert result.stderr.startswith("mnist-tfx kubeflow: --pipeline-root minio://mlpipeline/v2/artifacts: ")
    assert kfp_api.requests == []


def test_an_unreachable_endpoint_is_one_line_and_exit_1(kubeflow_spec):
    package = kubeflow_spec[1]
    run = [*KUBEFLOW_COMPILE, "--endpoint", "http://127.0.0.1:9", "--package", str(package)]
    run[1] = "run"
    result = mnist_tfx(*run)
    assert result.returncode == ExitCode.FAILED
    assert len(result.stderr.strip().splitlines()) == 1
    assert result.stderr.startswith("mnist-tfx kubeflow: http://127.0.0.1:9: ")


CRON = ("--cron", "0 0 3 * * *")
TASKS = ["DataFingerprint", "MnistExampleGen", "StatisticsGen", "ImportSchemaGen", "StrictExampleValidator",
         "Transform", "Trainer", "BaselineImporter", "Evaluator", "TFLitePusher"]
UP_TO_TRAINER = TASKS[:TASKS.index("Trainer")]


@pytest.fixture(scope="module")
def local_package(tmp_path_factory):
    """A spec whose pipeline root is on local disk, where a test writes what its runs wrote."""
    bucket = tmp_path_factory.mktemp("bucket")
    package, pipeline_root = str(bucket / "pipeline.yaml"), str(bucket / "mnist-tfx")
    compile_unchecked(package, "--pipeline-root", pipeline_root, "--data-uri", str(bucket / "mnist"))
    return package, pipeline_root


def kfp_client(kfp_api):
    """kfp's client, for what a test sets up on the stand-in."""
    return endpoint.connect(kfp_api.endpoint, None, endpoint.Credentials("no credentials"))


def write_output(run: dict, task: str, output: str, name: str, content: bytes = b"") -> None:
    """A file a task of the run wrote, where KFP puts it: <pipeline root>/<pipeline>/<run id>/<task>/<uuid>/<output>
    (src/v2/metadata/client.go GetPipeline, src/v2/driver/driver.go provisionOutputs)."""
    path = os.path.join(run["runtime_config"]["pipeline_root"], run["pipeline_spec"]["pipelineInfo"]["name"],
                        run["run_id"], task, str(uuid.uuid4()), output, name)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "wb") as f:
        f.write(content)


def test_status_shows_what_each_run_did_newest_first(kfp_api, local_package):
    from components.tflite_pusher import publish, serving_layout
    package, pipeline_root = local_package
    recurring_run_id, _ = scheduling.schedule(kfp_client(kfp_api), package, scheduling.DEFAULT_EXPERIMENT, None,
                                              scheduling.DEFAULT_SCHEDULE_NAME, CRON[1], 1, True, pipeline_root)
    night = [datetime.datetime(2026, 1, day, 3, tzinfo=datetime.timezone.utc) for day in range(1, 6)]
    tflite = b"a .tflite pushed on the first night"
    version = publish.publish(serving_layout.serving_dir_in(pipeline_root), tflite, [str(i) for i in range(10)], {},
                              version="20260101-030412")

    pushed = kfp_api.fire(recurring_run_id, night[0], ran=TASKS)
    write_output(pushed, "Trainer", "model", "saved_model.pb")
    write_output(pushed, "Evaluator", "blessing", "BLESSED")
    write_output(pushed, "TFLitePusher", "pushed_model", serving_layout.MODEL_FILE, tflite)
    # Unchanged data: the fingerprint and the importer run, the cache serves every other task.
    skipped = kfp_api.fire(recurring_run_id, night[1], ran=["DataFingerprint", "serving_dir_importer"],
                           cached=[t for t in TASKS if t not in ("DataFingerprint", "serving_dir_importer")])
    not_blessed = kfp_api.fire(recurring_run_id, night[2], ran=TASKS)
    write_output(not_blessed, "Trainer", "model", "saved_model.pb")
    write_output(not_blessed, "Evaluator", "blessing", "NOT_BLESSED")
    failed = kfp_api.fire(recurring_run_id, night[3], ran=UP_TO_TRAINER,
                          failed={"Trainer": "ValueError: the eval split has no examples"})
    failed_without_message = kfp_api.fire(recurring_run_id, night[4], ran=["DataFingerprint"],
                                          failed={"MnistExampleGen": None})

    as_json = mnist_tfx("kubeflow", "status", "--endpoint", kfp_api.endpoint, "--last", "10", "--json")
    assert as_json.returncode == ExitCode.OK, as_json.stderr[-3000:]
    [schedule] = json.loads(as_json.stdout)["recurring_runs"]
    assert (schedule["recurring_run_id"], schedule["schedule"], schedule["enabled"]) == (
        recurring_run_id, "cron '0 0 3 * * *'", True)
    assert (schedule["serving_uri"], schedule["serving_latest"]) == (os.path.dirname(version), "20260101-030412")
    runs = schedule["runs"]
    assert [r["run_id"] for r in runs] == [r["run_id"] for r in (failed_without_message, failed, not_blessed,
                                                                  skipped, pushed)]
    assert [(r["state"], r["training"], r["blessed"], r["pushed"], r["pushed_version"]) for r in runs] == [
        ("FAILED", "not run", None, None, None),
        ("FAILED", "failed", None, None, None),
        ("SUCCEEDED", "trained", False, False, None),
        ("SUCCEEDED", "skipped", None, None, None),
        ("SUCCEEDED", "trained", True, True, "20260101-030412")]
    assert [r["failed_tasks"] for r in runs[:2]] == [
        [{"task": "MnistExampleGen", "message": None}],
        [{"task": "Trainer", "message": "ValueError: the eval split has no examples"}]]
    assert (runs[-1]["started"], runs[-1]["finished"]) == ("2026-01-01T03:00:00+00:00", "2026-01-01T03:05:00+00:00")

    table = mnist_tfx("kubeflow", "status", "--endpoint", kfp_api.endpoint, "--last", "3")
    assert table.returncode == ExitCode.OK, table.stderr[-3000:]
    assert table.stdout.splitlines() == [
        f"mnist-tfx-retraining ({recurring_run_id}): cron '0 0 3 * * *', enabled",
        f"serving {os.path.dirname(version)}: latest 20260101-030412",
        "started (UTC)     finished (UTC)    state      training  blessed  pushed",
        "2026-01-05 03:00  2026-01-05 03:05  FAILED     not run   -        -",
        "    MnistExampleGen failed: (KFP gave no message; see the run in the KFP UI)",
        "2026-01-04 03:00  2026-01-04 03:05  FAILED     failed    -        -",
        "    Trainer failed: ValueError: the eval split has no examples",
        "2026-01-03 03:00  2026-01-03 03:05  SUCCEEDED  trained   no       no"]


def test_pause_resume_and_delete_act_on_every_recurring_run_of_the_name(kfp_api, local_package):
    package, pipeline_root = local_package
    client = kfp_client(kfp_api)
    experiment_id = client.create_experiment(scheduling.DEFAULT_EXPERIMENT).experiment_id
    twins, other = ([client.create_recurring_run(experiment_id, name, cron_expression=CRON[1],
                                                  pipeline_package_path=package).recurring_run_id for _ in range(count)]
                    for name, count in (("nightly", 2), ("weekly", 1)))

    def change(command):
        return mnist_tfx("kubeflow", command, "--endpoint", kfp_api.endpoint, "--name", "nightly")

    for command, mode in (("pause", "DISABLE"), ("resume", "ENABLE")):
        result = change(command)
        assert result.returncode == ExitCode.OK, result.stderr[-3000:]
        assert json.loads(result.stdout)["recurring_run_ids"] == twins
        assert f"2 recurring runs are named 'nightly'; {command} applied to each" in result.stderr
        assert [kfp_api.recurring_runs[i]["mode"] for i in (*twins, *other)] == [mode, mode, "ENABLE"]
    deleted = change("delete")
    assert deleted.returncode == ExitCode.OK, deleted.stderr[-3000:]
    assert list(kfp_api.recurring_runs) == other
    again = change("delete")
    assert again.returncode == ExitCode.FAILED
    assert again.stderr == (f"mnist-tfx kubeflow: {kfp_api.endpoint}: no recurring run named 'nightly' in "
                            "experiment 'mnist-tfx'\n")


def test_a_multi_user_endpoint_gets_namespace_and_credentials_and_no_output_or_file_shows_them(local_package, tmp_path):
    package, _ = local_package
    token, login = f"tok-{secrets.token_hex(16)}", f"ck-{secrets.token_hex(16)}"
    kfp_api = StandInKfpApi(multi_user=True, token=token, login_cookie=f"oauth2_proxy_kubeflow={login}",
                            namespaces={"team-a"})
    home, cwd, held = tmp_path / "home", tmp_path / "cwd", tmp_path / "secrets"
    for directory in (home, cwd, held):
        directory.mkdir()
    files = {"token": token, "cookie": f"oauth2_proxy_kubeflow={login}", "service-account": token,
             "stale-token": f"tok-{secrets.token_hex(16)}"}
    for name, secret in files.items():
        (held / name).write_text(secret + "\n")
    outputs = []

    def kubeflow(command, *flags, **env):
        """The command as a user runs it, at home in an empty directory, no service-account token mounted."""
        result = mnist_tfx("kubeflow", command, "--endpoint", kfp_api.endpoint, *flags, cwd=cwd,
                           env={"HOME": str(home), "KF_PIPELINES_SA_TOKEN_PATH": "", **env})
        outputs.append(result.stdout + result.stderr)
        return result

    def calls_since(start):
        return [r for r in kfp_api.requests[start:] if r.path != f"{API}/healthz"]

    try:
        schedule = kubeflow("schedule", "--namespace", "team-a", "--token-file", str(held / "token"), "--package",
                            package, "--pipeline-root", "gs://bucket/mnist-tfx", "--data-uri", "unused", *CRON)
        assert schedule.returncode == ExitCode.OK, schedule.stderr[-3000:]
        assert json.loads(schedule.stdout)["credentials"] == f"the bearer token in {held / 'token'}"
        assert {(r.headers.get("authorization"), r.namespace) for r in calls_since(0)} == {(f"Bearer {token}", "team-a")}
        assert [r.query["namespace"] for r in calls_since(0) if (r.method, r.path) == ("GET", f"{API}/experiments")] \
            == ["team-a"]
        assert [e["namespace"] for e in sent(kfp_api, "POST", "/experiments")] == ["team-a"]

        [recurring_run] = kfp_api.recurring_runs.values()
        # Made elsewhere (the KFP UI) to write to s3://, for which no TensorFlow 2.21 file system plugin loads.
        recurring_run["runtime_config"]["pipeline_root"] = "s3://bucket/mnist-tfx"
        kfp_api.fire(recurring_run["recurring_run_id"], datetime.datetime(2026, 1, 1, 3, tzinfo=datetime.timezone.utc),
                     ran=TASKS)
        start = len(kfp_api.requests)
        status = kubeflow("status", "--namespace", "team-a", "--cookie-file", str(held / "cookie"), "--json")
        assert status.returncode == ExitCode.OK, status.stderr[-3000:]
        [unreadable] = json.loads(status.stdout)["recurring_runs"]
        assert unreadable["enabled"] is True
        assert unreadable["unreadable"].startswith("File system scheme 's3' not implemented")
        assert [(r["state"], r["training"], r["blessed"]) for r in unreadable["runs"]] == [("SUCCEEDED", None, None)]
        assert {(r.headers.get("cookie"), r.headers.get("authorization"), r.namespace) for r in calls_since(start)} \
            == {(f"oauth2_proxy_kubeflow={login}", None, "team-a")}

        start = len(kfp_api.requests)
        in_a_pod = kubeflow("pause", "--namespace", "team-a", KF_PIPELINES_SA_TOKEN_PATH=str(held / "service-account"))
        assert in_a_pod.returncode == ExitCode.OK, in_a_pod.stderr[-3000:]
        assert json.loads(in_a_pod.stdout)["credentials"] == f"the service-account token in {held / 'service-account'}"
        assert {(r.headers.get("authorization"), r.namespace) for r in calls_since(start)} == {(f"Bearer {token}", "team-a")}
        assert recurring_run["mode"] == "DISABLE"

        where = f"mnist-tfx kubeflow: {kfp_api.endpoint}"
        refused = {
            (f"{where} (namespace team-a): 401 Unauthorized: no credentials were sent: give --token-file or "
             "--cookie-file (or run where kfp's service-account token is mounted)"):
                kubeflow("resume", "--namespace", "team-a"),
            f"{where} (namespace team-a): 401 Unauthorized: the bearer token in {held / 'stale-token'} was not accepted":
                kubeflow("delete", "--namespace", "team-a", "--token-file", str(held / "stale-token")),
            (f"{where} (namespace team-b): 403 Forbidden: the login cookie in {held / 'cookie'} gives no access to "
             "namespace team-b"):
                kubeflow("status", "--namespace", "team-b", "--cookie-file", str(held / "cookie")),
            f"{where}: 400 Bad Request: An experiment cannot have an empty namespace in multi-user mode":
                kubeflow("status", "--token-file", str(held / "token")),
        }
        for line, result in refused.items():
            assert (result.returncode, result.stdout, result.stderr) == (ExitCode.FAILED, "", line + "\n")
        assert recurring_run["mode"] == "DISABLE" and list(kfp_api.recurring_runs) == [recurring_run["recurring_run_id"]]
    finally:
        kfp_api.shutdown()

    held_secrets = (token, login, files["stale-token"])
    for output in outputs:
        assert not any(secret in output for secret in held_secrets)
    written = [path for directory in (home, cwd) for path in directory.rglob("*") if path.is_file()]
    for path in written:
        assert not any(secret.encode() in path.read_bytes() for secret in held_secrets), path
    assert not (home / ".config" / "kfp").exists()  # kfp's context file, where the client could keep a namespace
