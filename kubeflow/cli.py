"""`mnist-tfx kubeflow compile|schedule|run`: the same DAG and settings as `mnist-tfx run`, for
Kubeflow Pipelines v2."""
import argparse
import contextlib
import dataclasses
import json
import logging
import os
import sys
import tempfile
import warnings

from kubeflow import scheduling

# Settings of the local run that mean nothing in a cluster: the spec names its own locations.
LOCAL_ONLY = ("output_dir", "data_dir", "runner")
DEFAULT_IMAGE = "mnist-tfx:latest"


def add_commands(commands, add_config_flags) -> None:
    kubeflow = commands.add_parser("kubeflow", help="compile for Kubeflow Pipelines v2, schedule retraining, run once",
                                   description=__doc__)
    actions = kubeflow.add_subparsers(dest="kubeflow_command", required=True)
    compile_ = actions.add_parser("compile", help="write the KFP v2 pipeline spec (YAML)")
    compile_.add_argument("--output", default="pipeline.yaml", help="spec file to write (.yaml; default: %(default)s)")
    schedule = actions.add_parser("schedule", help="create or replace (by name) a recurring run")
    schedule.add_argument("--cron", required=True,
                          help="6 fields, seconds first, e.g. '0 0 3 * * *' for 03:00 daily")
    schedule.add_argument("--name", default=scheduling.DEFAULT_SCHEDULE_NAME, help="recurring run name (default: %(default)s)")
    schedule.add_argument("--max-concurrency", type=int, default=1, help="runs of this schedule at once (default: 1)")
    schedule.add_argument("--no-catchup", action="store_true", help="after a pause, run once instead of backfilling")
    run = actions.add_parser("run", help="start one run now")
    run.add_argument("--run-name", default="", help="default: mnist-tfx <arch> <time>")
    for action in (schedule, run):
        action.add_argument("--endpoint", help="KFP API endpoint, e.g. http://localhost:8080 (port-forwarded ml-pipeline-ui)")
        action.add_argument("--experiment", default=scheduling.DEFAULT_EXPERIMENT, help="default: %(default)s")
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
        add_config_flags(action, exclude=LOCAL_ONLY)


def _config(args):
    from pipeline.config import PipelineConfig
    settings = {f.name: getattr(args, f.name) for f in dataclasses.fields(PipelineConfig) if f.name not in LOCAL_ONLY}
    return PipelineConfig(data_dir=args.data_uri, **settings)


def _compile(args, output_path: str) -> dict:
    from kubeflow.spec import IMAGE_SOURCE_DIR, build_spec, write_spec
    spec = build_spec(_config(args), image=args.image, pipeline_root=args.pipeline_root,
                      serving_uri=args.serving_uri, keep_resolver=args.keep_resolver,
                      source_dir=args.image_source_dir or IMAGE_SOURCE_DIR)
    write_spec(spec, output_path)
    return spec


def _send(args, package_path: str) -> dict:
    """Schedules or starts the run (or, with --dry-run, only describes it); returns what to print."""
    request = {"endpoint": args.endpoint, "experiment": args.experiment, "pipeline_root": args.pipeline_root,
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
    import kfp
    warnings.filterwarnings("ignore", category=FutureWarning, module="kfp")  # "only works with KFP >= 2.0.0-beta.2"
    # One line per retry (kfp resets the "urllib3" logger itself); the final error is reported.
    logging.getLogger("urllib3.connectionpool").setLevel(logging.ERROR)
    # kfp's client prints links ("Experiment details: ...") to stdout, which carries our JSON.
    with contextlib.redirect_stdout(sys.stderr):
        client = kfp.Client(host=args.endpoint)
        if args.kubeflow_command == "schedule":
            created, replaced = scheduling.schedule(client, package_path, args.experiment, args.name, args.cron,
                                                    args.max_concurrency, args.no_catchup, args.pipeline_root)
            return {**request, "recurring_run_id": created, "replaced": replaced}
        return {**request, "run_id": scheduling.run_now(client, package_path, args.experiment, args.run_name,
                                                        args.pipeline_root)}


def main(args: argparse.Namespace) -> int:
    """Exit codes: 0 done, 2 bad arguments, 1 the endpoint refused or could not be reached."""
    try:
        if args.kubeflow_command == "schedule":
            scheduling.check_cron(args.cron)
        if args.kubeflow_command == "run" and not args.run_name:
            args.run_name = f"mnist-tfx {args.arch}"
        if args.kubeflow_command == "compile":
            spec = _compile(args, args.output)
            tasks = sorted(spec["root"]["dag"]["tasks"])
            print(f"wrote {args.output}: {len(tasks)} tasks ({', '.join(tasks)}), image {args.image}")
            if not args.keep_resolver:
                print("baseline: the latest version in the serving directory, imported (open-source KFP cannot "
                      "run a Resolver); --keep-resolver keeps the Resolver for Vertex AI Pipelines")
            return 0
        with tempfile.TemporaryDirectory(prefix="mnist-tfx-kfp-") as tmp:
            package_path = args.package or os.path.join(tmp, "pipeline.yaml")
            if not args.package:
                _compile(args, package_path)
            print(json.dumps(_send(args, package_path), indent=2))
        return 0
    except ValueError as e:
        print(f"mnist-tfx kubeflow: {e}", file=sys.stderr)
        return 2
    except Exception as e:  # noqa: BLE001 - the client's errors (connection, HTTP status) as one line
        first_line = (str(e).strip().splitlines() or [type(e).__name__])[0]
        print(f"mnist-tfx kubeflow: {args.endpoint}: {type(e).__name__}: {first_line}", file=sys.stderr)
        return 1
