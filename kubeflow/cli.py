"""`mnist-tfx kubeflow compile|schedule|run|status|pause|resume|delete`: the same DAG and settings as
`mnist-tfx run`, for Kubeflow Pipelines v2, and the recurring run that retrains it."""
import argparse
import contextlib
import dataclasses
import json
import os
import sys
import tempfile

from kubeflow import endpoint, scheduling, storage
from pipeline.config import PipelineConfig, add_flags
from pipeline.exit_codes import ExitCode, help_epilog

# Settings of the local run that mean nothing in a cluster: the spec names its own locations.
LOCAL_ONLY = ("output_dir", "data_dir", "runner")
DEFAULT_IMAGE = "mnist-tfx:latest"


def add_commands(commands) -> None:
    """`kubeflow` and its actions, handled by main, into the subparsers `commands`."""
    kubeflow = commands.add_parser("kubeflow", help="compile for Kubeflow Pipelines v2, schedule retraining, run once, "
                                                    "see what the schedule did", description=__doc__,
                                   epilog=help_epilog(), formatter_class=argparse.RawDescriptionHelpFormatter)
    kubeflow.set_defaults(handler=main)
    actions = kubeflow.add_subparsers(dest="kubeflow_command", required=True)
    compile_ = actions.add_parser("compile", help="write the KFP v2 pipeline spec (YAML)")
    compile_.add_argument("--output", default="pipeline.yaml", help="spec file to write (.yaml; default: %(default)s)")
    schedule = actions.add_parser("schedule", help="create or replace (by name) a recurring run")
    schedule.add_argument("--cron", required=True,
                          help="6 fields, seconds first, e.g. '0 0 3 * * *' for 03:00 daily")
    schedule.add_argument("--max-concurrency", type=int, default=1, help="runs of this schedule at once (default: 1)")
    schedule.add_argument("--no-catchup", action="store_true", help="after a pause, run once instead of backfilling")
    run = actions.add_parser("run", help="start one run now")
    run.add_argument("--run-name", default="", help="default: mnist-tfx <arch>")
    status = actions.add_parser("status", help="the recurring run's schedule, and what its last runs did")
    status.add_argument("--last", type=int, default=5, help="how many runs, newest first (default: %(default)s)")
    status.add_argument("--json", action="store_true", help="print JSON instead of a table")
    changes = [actions.add_parser(command, help=help_) for command, help_ in (
        ("pause", "disable the recurring run; a run under way goes on"),
        ("resume", "enable the recurring run again"),
        ("delete", "delete the recurring run; its runs stay in KFP"))]
    for action in (schedule, status, *changes):
        action.add_argument("--name", default=scheduling.DEFAULT_SCHEDULE_NAME,
                            help="recurring run name (default: %(default)s)")
    for action in (schedule, run, status, *changes):
        action.add_argument("--endpoint", required=action not in (schedule, run),  # those two have --dry-run
                            help="KFP API endpoint, e.g. http://localhost:8080 (port-forwarded ml-pipeline-ui)")
        action.add_argument("--namespace", help="the profile namespace of a multi-user Kubeflow (default: none, "
                                                "for a standalone KFP)")
        credentials = action.add_mutually_exclusive_group()
        credentials.add_argument("--token-file", help="a file holding a bearer token (default: kfp's service-account "
                                                      "token when it is mounted, in a pod)")
        credentials.add_argument("--cookie-file", help="a file holding the cookie of a Kubeflow login, "
                                                       "NAME=VALUE (e.g. oauth2_proxy_kubeflow=...)")
        action.add_argument("--experiment", default=scheduling.DEFAULT_EXPERIMENT, help="default: %(default)s")
    for action in (schedule, run):
        action.add_argument("--package", help="a spec compiled earlier (default: compiled now from the flags)")
        action.add_argument("--dry-run", action="store_true", help="print the request instead of sending it")
    for action in (compile_, schedule, run):
        action.add_argument("--image", default=DEFAULT_IMAGE,
                            help="container image built from kubeflow/Dockerfile (default: %(default)s)")
        action.add_argument("--pipeline-root", required=True, help="where the pods write artifacts, e.g. gs://BUCKET/mnist-tfx")
        action.add_argument("--data-uri", required=True, help="the MNIST files as the pods see them, e.g. gs://BUCKET/mnist")
        action.add_argument("--serving-uri", default="", help="push destination (default: PIPELINE_ROOT/serving)")
        action.add_argument("--image-source-dir",
                            help="where the image holds this project (default: kubeflow/Dockerfile's WORKDIR)")
        action.add_argument("--keep-resolver", action="store_true",
                            help="find the baseline with TFX's Resolver (Vertex AI Pipelines; open-source KFP cannot run it)")
        add_flags(action, exclude=LOCAL_ONLY)


def _config(args):
    settings = {f.name: getattr(args, f.name) for f in dataclasses.fields(PipelineConfig) if f.name not in LOCAL_ONLY}
    return PipelineConfig(data_dir=args.data_uri, **settings)


def compile_spec(args, output_path: str) -> dict:
    """Writes the spec the flags describe; their locations are not checked (see main)."""
    from kubeflow.spec import IMAGE_SOURCE_DIR, build_spec, write_spec
    spec = build_spec(_config(args), image=args.image, pipeline_root=args.pipeline_root,
                      serving_uri=args.serving_uri, keep_resolver=args.keep_resolver,
                      source_dir=args.image_source_dir or IMAGE_SOURCE_DIR)
    write_spec(spec, output_path)
    return spec


def _warn_if_tag(image: str) -> None:
    """KFP's cache key holds the image as spelled (backend/src/v2/cacheutils/cache.go,
    GenerateCacheKey), so a tag pushed again with new code keeps serving the old code's outputs."""
    if "@sha256:" not in image:
        print(f"mnist-tfx kubeflow: warning: --image {image} is a tag, which can move; KFP caches by the image "
              f"as written, so give REPOSITORY@sha256:DIGEST to rerun tasks when the code changes", file=sys.stderr)


def _target(args, credentials: endpoint.Credentials) -> dict:
    """What every endpoint command's output starts with; the credentials by their source only."""
    return {"endpoint": args.endpoint, "namespace": args.namespace, "credentials": credentials.source,
            "experiment": args.experiment}


def _send(args, credentials: endpoint.Credentials) -> dict:
    """Schedules or starts the run (or, with --dry-run, only describes it); returns what to print."""
    with tempfile.TemporaryDirectory(prefix="mnist-tfx-kfp-") as tmp:
        package_path = args.package or os.path.join(tmp, "pipeline.yaml")
        if not args.package:
            compile_spec(args, package_path)
        request = {**_target(args, credentials), "pipeline_root": args.pipeline_root,
                   "package": scheduling.describe_package(package_path)}
        if args.kubeflow_command == "schedule":
            request.update(recurring_run=args.name, cron=args.cron, max_concurrency=args.max_concurrency,
                           no_catchup=args.no_catchup)
        else:
            request.update(run_name=args.run_name)
        if args.dry_run:
            return {"dry_run": True, **request}
        if not args.endpoint:
            raise ValueError("--endpoint is required (or --dry-run)")
        client = endpoint.connect(args.endpoint, args.namespace, credentials)
        if args.kubeflow_command == "schedule":
            created, replaced = scheduling.schedule(client, package_path, args.experiment, args.namespace, args.name,
                                                    args.cron, args.max_concurrency, args.no_catchup,
                                                    args.pipeline_root)
            return {**request, "recurring_run_id": created, "replaced": replaced}
        return {**request, "run_id": scheduling.run_now(client, package_path, args.experiment, args.namespace,
                                                        args.run_name, args.pipeline_root)}


def _status(args, credentials: endpoint.Credentials) -> dict:
    from kubeflow.status import recurring_run_status
    client = endpoint.connect(args.endpoint, args.namespace, credentials)
    experiment_id, found = scheduling.find_recurring_runs(client, args.experiment, args.namespace, args.name)
    return {**_target(args, credentials),
            "recurring_runs": [recurring_run_status(client, experiment_id, r, args.last) for r in found]}


def _change_schedule(args, credentials: endpoint.Credentials) -> dict:
    """Pauses, resumes or deletes every recurring run of the name, and says so when there are several."""
    client = endpoint.connect(args.endpoint, args.namespace, credentials)
    _, found = scheduling.find_recurring_runs(client, args.experiment, args.namespace, args.name)
    for recurring_run in found:
        scheduling.SCHEDULE_CHANGES[args.kubeflow_command](client, recurring_run.recurring_run_id)
    if len(found) > 1:
        print(f"mnist-tfx kubeflow: {len(found)} recurring runs are named {args.name!r}; "
              f"{args.kubeflow_command} applied to each", file=sys.stderr)
    return {**_target(args, credentials), "name": args.name, "action": args.kubeflow_command,
            "recurring_run_ids": [r.recurring_run_id for r in found]}


def _talk_to_endpoint(args, credentials: endpoint.Credentials) -> str:
    """What to print. kfp's client prints links to stdout, which carries our output: they go to stderr."""
    with contextlib.redirect_stdout(sys.stderr):
        if args.kubeflow_command in scheduling.SCHEDULE_CHANGES:
            return json.dumps(_change_schedule(args, credentials), indent=2)
        if args.kubeflow_command != "status":
            return json.dumps(_send(args, credentials), indent=2)
        found = _status(args, credentials)
    from kubeflow.status import format_status
    return json.dumps(found, indent=2) if args.json else format_status(found)


def _refused(error: Exception, args, credentials: endpoint.Credentials | None) -> str:
    """One line for what the endpoint refused, or why it could not be reached."""
    from kfp_server_api.exceptions import ApiException
    if isinstance(error, ApiException):
        return endpoint.refusal(error, args.endpoint, args.namespace, credentials)
    if isinstance(error, scheduling.NotFound):
        return f"{endpoint.where(args.endpoint, args.namespace)}: {error}"
    first_line = (str(error).strip().splitlines() or [type(error).__name__])[0]
    target = f"{endpoint.where(args.endpoint, args.namespace)}: " if getattr(args, "endpoint", None) else ""
    return f"{target}{type(error).__name__}: {first_line}"


def main(args: argparse.Namespace) -> int:
    """BAD_INPUT for bad arguments; FAILED when the endpoint refused, could not be reached, or has no
    recurring run (or experiment) of that name."""
    credentials = None
    try:
        if args.kubeflow_command == "schedule":
            scheduling.check_cron(args.cron)
        if args.kubeflow_command == "status" and args.last < 1:
            raise ValueError(f"--last {args.last}: give 1 or more runs")
        if args.kubeflow_command == "run" and not args.run_name:
            args.run_name = f"mnist-tfx {args.arch}"
        if args.kubeflow_command in ("compile", "schedule", "run"):
            storage.check(args.pipeline_root, args.data_uri, args.serving_uri)
            if not getattr(args, "package", None):
                _warn_if_tag(args.image)
        if args.kubeflow_command == "compile":
            spec = compile_spec(args, args.output)
            tasks = sorted(spec["root"]["dag"]["tasks"])
            print(f"wrote {args.output}: {len(tasks)} tasks ({', '.join(tasks)}), image {args.image}")
            if not args.keep_resolver:
                print("baseline: the latest version in the serving directory, imported (open-source KFP cannot "
                      "run a Resolver); --keep-resolver keeps the Resolver for Vertex AI Pipelines")
            return ExitCode.OK
        credentials = endpoint.read_credentials(args.token_file, args.cookie_file)
        print(_talk_to_endpoint(args, credentials))
        return ExitCode.OK
    except ValueError as e:
        print(f"mnist-tfx kubeflow: {e}", file=sys.stderr)
        return ExitCode.BAD_INPUT
    except Exception as e:  # noqa: BLE001 - the client's errors (connection, HTTP status) as one line
        print(f"mnist-tfx kubeflow: {_refused(e, args, credentials)}", file=sys.stderr)
        return ExitCode.FAILED
