"""`mnist-tfx kubeflow status`: a recurring run, and what its last runs did.

KFP's API gives a run's state and times and its tasks' states, and a task's error where the backend
fills it. It does not say what a task produced: artifact properties (blessed, pushed) live in ML
Metadata, and open-source KFP reports a task served from its cache as succeeded (the Argo node of
the task succeeds; the pod it skipped is a child node named "executor":
backend/src/v2/compiler/argocompiler/container.go). So whether a run trained,
was blessed and pushed is read from the run's own outputs. KFP writes a task's outputs under
<pipeline root>/<pipeline name>/<run id>/<task>/<uuid>/<output> (kubeflow/pipelines
backend/src/v2/metadata/client.go GetPipeline, backend/src/v2/driver/driver.go provisionOutputs),
and a task served from the cache writes nothing there. The pushed version is the version in the
serving location whose model.json holds the sha256 of the .tflite that the run's Pusher wrote.
"""
import datetime
import hashlib
import os

import tensorflow as tf
from tfx.components.evaluator import constants as evaluator_constants
from tfx.types import standard_component_specs

from components.common import DataError
from components.tflite_pusher import serving_layout
from components.tflite_pusher.spec import SERVING_DIR_KEY
from kubeflow import scheduling

# The tasks whose outputs tell what a run did: the component ids in pipeline/pipeline.py.
TRAINER, EVALUATOR, PUSHER = "Trainer", "Evaluator", "TFLitePusher"
UNREADABLE_STORAGE = (tf.errors.OpError, OSError, DataError)  # DataError: serving_layout's reads name the file


def _serving_dir(pipeline_spec: dict | None) -> str | None:
    """Where the schedule's Pusher publishes: a constant of its task in the spec."""
    pusher = (pipeline_spec or {}).get("root", {}).get("dag", {}).get("tasks", {}).get(PUSHER, {})
    serving_dir = pusher.get("inputs", {}).get("parameters", {}).get(SERVING_DIR_KEY, {})
    return serving_dir.get("runtimeValue", {}).get("constant")


def _run_root(run) -> str | None:
    pipeline_root = run.runtime_config.pipeline_root if run.runtime_config else None
    pipeline_name = (run.pipeline_spec or {}).get("pipelineInfo", {}).get("name")
    return os.path.join(pipeline_root, pipeline_name, run.run_id) if pipeline_root and pipeline_name else None


def _written(run_root: str, task: str, output: str, name: str) -> list[str]:
    """The files `name` in the task's output `output` that this run wrote."""
    return tf.io.gfile.glob(os.path.join(run_root, task, "*", output, name))


def _read_outputs(run) -> dict | None:
    """What the run's own outputs show: a model trained, the Evaluator's verdict, a pushed .tflite
    (None when KFP does not say where they are)."""
    run_root = _run_root(run)
    if not run_root:
        return None
    blessed = bool(_written(run_root, EVALUATOR, standard_component_specs.BLESSING_KEY,
                            evaluator_constants.BLESSED_FILE_NAME))
    not_blessed = bool(_written(run_root, EVALUATOR, standard_component_specs.BLESSING_KEY,
                                evaluator_constants.NOT_BLESSED_FILE_NAME))
    pushed = _written(run_root, PUSHER, standard_component_specs.PUSHED_MODEL_KEY, serving_layout.MODEL_FILE)
    return {"trained": bool(_written(run_root, TRAINER, standard_component_specs.MODEL_KEY, "*")),
            "blessed": True if blessed else False if not_blessed else None,
            "pushed_sha256": hashlib.sha256(tf.io.gfile.GFile(pushed[0], "rb").read()).hexdigest() if pushed else None}


def _versions_by_sha256(serving_dir: str, wanted: set[str]) -> dict[str, str]:
    """Newest first, until every wanted .tflite is found: a run pushes a version newer than the last."""
    found = {}
    for version in reversed(serving_layout.versions(serving_dir)):
        if wanted <= found.keys():
            break
        found.setdefault(serving_layout.version_metadata(serving_dir, version)["tflite_sha256"], version)
    return found


def _time(moment) -> str | None:
    """ISO time; KFP gives the epoch for a time that has not come (a run not finished)."""
    return moment.isoformat() if moment and moment.timestamp() > 0 else None


def _describe_run(run, outputs: dict | None, versions: dict[str, str]) -> dict:
    task_names = set((run.pipeline_spec or {}).get("root", {}).get("dag", {}).get("tasks", {}))
    # Argo's nodes as KFP reports them: "<task>", "<task>-driver", and "executor" pods under them.
    tasks = [t for t in (run.run_details.task_details if run.run_details else None) or []
             if (t.display_name or "").removesuffix("-driver") in task_names]
    states = {t.display_name: t.state for t in tasks}
    described = {"run_id": run.run_id, "display_name": run.display_name, "state": run.state,
                 "started": _time(run.created_at), "finished": _time(run.finished_at),
                 "training": None, "blessed": None, "pushed": None, "pushed_version": None,
                 "failed_tasks": [{"task": t.display_name, "message": (t.error and t.error.message) or None}
                                  for t in tasks if t.state == "FAILED"]}
    if outputs is None:
        return described
    trainer = states.get(TRAINER)
    if trainer in ("FAILED", "RUNNING"):
        training = trainer.lower()
    elif outputs["trained"]:
        training = "trained"
    else:  # a Trainer that succeeded but wrote nothing in this run was served from the cache
        training = "skipped" if trainer == "SUCCEEDED" else "not run"
    sha256 = outputs["pushed_sha256"]
    # A Pusher that ran after this run's Evaluator and wrote no .tflite pushed nothing.
    pusher_ran = outputs["blessed"] is not None and states.get(PUSHER) == "SUCCEEDED"
    return {**described, "training": training, "blessed": outputs["blessed"],
            "pushed": True if sha256 else False if pusher_ran else None, "pushed_version": versions.get(sha256)}


def _schedule_of(recurring_run) -> str:
    trigger = recurring_run.trigger  # KFP requires one: a cron or an interval
    if trigger.cron_schedule:
        return f"cron {trigger.cron_schedule.cron!r}"
    return f"every {trigger.periodic_schedule.interval_second} s"


def recurring_run_status(client, experiment_id: str, recurring_run, last: int) -> dict:
    runs = scheduling.recent_runs(client, experiment_id, recurring_run.recurring_run_id, last)
    serving_dir = _serving_dir(recurring_run.pipeline_spec)
    status = {"recurring_run_id": recurring_run.recurring_run_id, "name": recurring_run.display_name,
              "schedule": _schedule_of(recurring_run), "enabled": recurring_run.mode == "ENABLE",
              "serving_uri": serving_dir, "serving_latest": None, "unreadable": None}
    try:
        outputs = [_read_outputs(run) for run in runs]
        pushed = {o["pushed_sha256"] for o in outputs if o and o["pushed_sha256"]}
        versions = _versions_by_sha256(serving_dir, pushed) if serving_dir and pushed else {}
        status["serving_latest"] = serving_layout.latest_version(serving_dir) if serving_dir else None
    except UNREADABLE_STORAGE as e:
        outputs, versions = [None] * len(runs), {}
        status["unreadable"] = (str(e).strip().splitlines() or [type(e).__name__])[0]
    return {**status, "runs": [_describe_run(run, o, versions) for run, o in zip(runs, outputs)]}


def _minute(iso_time: str | None) -> str:
    return datetime.datetime.fromisoformat(iso_time).astimezone(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M") \
        if iso_time else "-"


def _cell(value) -> str:
    return "-" if value is None else "yes" if value is True else "no" if value is False else value


def format_status(status: dict) -> str:
    """The human-readable table: one block per recurring run of the name."""
    lines = []
    for schedule in status["recurring_runs"]:
        lines.append(f"{schedule['name']} ({schedule['recurring_run_id']}): {schedule['schedule']}, "
                     f"{'enabled' if schedule['enabled'] else 'paused'}")
        if schedule["unreadable"]:
            lines.append(f"outputs unreadable, so training, blessing and pushes are unknown: {schedule['unreadable']}")
        elif schedule["serving_uri"]:
            lines.append(f"serving {schedule['serving_uri']}: latest {schedule['serving_latest'] or '-'}")
        lines.append(f"{'started (UTC)':<16}  {'finished (UTC)':<16}  {'state':<9}  {'training':<8}  {'blessed':<7}  pushed")
        for run in schedule["runs"]:
            pushed = run["pushed_version"] or ("yes (version not found)" if run["pushed"] else _cell(run["pushed"]))
            lines.append(f"{_minute(run['started']):<16}  {_minute(run['finished']):<16}  {run['state']:<9}  "
                         f"{_cell(run['training']):<8}  {_cell(run['blessed']):<7}  {pushed}")
            lines += [f"    {task['task']} failed: {task['message'] or '(KFP gave no message; see the run in the KFP UI)'}"
                      for task in run["failed_tasks"]]
        if not schedule["runs"]:
            lines.append("(no runs yet)")
    return "\n".join(lines)
