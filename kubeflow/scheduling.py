"""Scheduled retraining and one-off runs on a Kubeflow Pipelines endpoint, through kfp's client."""
import hashlib
import json

import yaml

DEFAULT_EXPERIMENT = "mnist-tfx"
DEFAULT_SCHEDULE_NAME = "mnist-tfx-retraining"


def check_cron(cron: str) -> str:
    """KFP's scheduler reads 6 fields, seconds first; a 5-field crontab line would be misread."""
    fields = cron.split()
    if len(fields) != 6:
        hint = f" (for the crontab line {cron!r}: '0 {cron}')" if len(fields) == 5 else ""
        raise ValueError(f"cron {cron!r} has {len(fields)} fields; KFP takes 6, seconds first, "
                         f"e.g. '0 0 3 * * *' for 03:00 daily{hint}")
    return cron


def describe_package(package_path: str) -> dict:
    """What a dry run shows of the spec that would be uploaded."""
    raw = open(package_path, "rb").read()
    spec = yaml.safe_load(raw)
    return {"path": package_path, "sha256": hashlib.sha256(raw).hexdigest(), "pipeline": spec["pipelineInfo"]["name"],
            "tasks": sorted(spec["root"]["dag"]["tasks"])}


class NotFound(Exception):
    """The endpoint has no experiment or recurring run of that name."""


def _recurring_runs_named(client, experiment_id: str, name: str) -> list:
    found, page_token = [], ""
    while True:
        page = client.list_recurring_runs(experiment_id=experiment_id, page_token=page_token, page_size=100)
        found += [r for r in page.recurring_runs or [] if r.display_name == name]
        page_token = page.next_page_token
        if not page_token:
            return found


def find_recurring_runs(client, experiment: str, namespace: str | None, name: str) -> tuple[str, list]:
    """The experiment's id and its recurring runs called `name` (one or more, else NotFound)."""
    try:
        experiment_id = client.get_experiment(experiment_name=experiment, namespace=namespace).experiment_id
    except ValueError as e:
        if str(e).startswith("No experiment is found"):  # how kfp's client says so (create_experiment reads it too)
            raise NotFound(f"no experiment named {experiment!r}") from None
        raise
    found = _recurring_runs_named(client, experiment_id, name)
    if not found:
        raise NotFound(f"no recurring run named {name!r} in experiment {experiment!r}")
    return experiment_id, found


# What pause, resume and delete do to each recurring run of the name.
SCHEDULE_CHANGES = {
    "pause": lambda client, recurring_run_id: client.disable_recurring_run(recurring_run_id),
    "resume": lambda client, recurring_run_id: client.enable_recurring_run(recurring_run_id),
    "delete": lambda client, recurring_run_id: client.delete_recurring_run(recurring_run_id),
}


def recent_runs(client, experiment_id: str, recurring_run_id: str, last: int) -> list:
    """The recurring run's newest `last` runs, newest first. KFP filters runs on `recurring_run_id`
    and sorts them on `created_at` (backend/src/apiserver/model/run.go, runAPIToModelFieldMap)."""
    only_this_schedule = {"predicates": [{"key": "recurring_run_id", "operation": "EQUALS",
                                          "string_value": recurring_run_id}]}
    page = client.list_runs(experiment_id=experiment_id, page_size=last, sort_by="created_at desc",
                            filter=json.dumps(only_this_schedule))
    return page.runs or []


def schedule(client, package_path: str, experiment: str, namespace: str | None, name: str, cron: str,
             max_concurrency: int, no_catchup: bool, pipeline_root: str) -> tuple[str, list[str]]:
    """Creates the recurring run, then deletes older ones of the same name (so a failed create
    leaves the old schedule in place). Returns the new id and the replaced ids."""
    experiment_id = client.create_experiment(experiment, namespace=namespace).experiment_id
    older = _recurring_runs_named(client, experiment_id, name)
    created = client.create_recurring_run(
        experiment_id=experiment_id, job_name=name, cron_expression=check_cron(cron),
        max_concurrency=max_concurrency, no_catchup=no_catchup, pipeline_package_path=package_path,
        pipeline_root=pipeline_root)
    for recurring_run in older:
        client.delete_recurring_run(recurring_run.recurring_run_id)
    return created.recurring_run_id, [r.recurring_run_id for r in older]


def run_now(client, package_path: str, experiment: str, namespace: str | None, run_name: str,
            pipeline_root: str) -> str:
    result = client.create_run_from_pipeline_package(package_path, arguments={}, run_name=run_name,
                                                     experiment_name=experiment, namespace=namespace,
                                                     pipeline_root=pipeline_root)
    return result.run_id
