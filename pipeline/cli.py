"""The local commands of `mnist-tfx`: run the whole DAG, list and report its runs, classify images with
a pushed model, and serve the draw-a-digit page. mnist_tfx.py puts them under one parser with the
Kubeflow ones."""
import argparse
import dataclasses
import logging
import os
import sys
import tempfile
import time

from pipeline.config import PipelineConfig, add_flags
from pipeline.exit_codes import ExitCode, help_epilog


def serve_command(args: argparse.Namespace) -> int:
    from components.common import DataError
    from components.mnist_example_gen import datasets, download
    from components.tflite_pusher import serving_layout
    from pipeline import serve
    try:  # the data dir `run` would use, but never a download: without one, the page only reads
        data_dir = download.resolve_data_dir(datasets.MNIST, args.data_dir or None, download_missing=False)
    except DataError as e:
        if args.data_dir:
            print(f"mnist-tfx serve: {e}", file=sys.stderr)
            return ExitCode.BAD_INPUT
        data_dir = None  # an MNIST_DIR that does not exist
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")
    serving_dir = PipelineConfig(output_dir=args.output_dir).serving_dir
    try:
        server = serve.make_server(serving_dir, data_dir, args.host, args.port)
    except OSError as e:
        print(f"mnist-tfx serve: cannot listen on {args.host}:{args.port} ({e.strerror})", file=sys.stderr)
        return ExitCode.FAILED
    host, port = server.server_address[:2]
    corrections = (f"corrections into {data_dir}/spans/" if data_dir
                   else "no data dir, so corrections are off (--data-dir)")
    print(f"serving http://{host}:{port}/ : the model from {serving_layout.latest_pointer(serving_dir)}, "
          f"{corrections}", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    return ExitCode.OK


def _architectures_help() -> str:
    from models.recipes import RECIPES
    lines = ["architectures (--arch) and their default recipes:"]
    for name, recipe in RECIPES.items():
        default = " (the default)" if name == PipelineConfig().arch else ""
        lines.append(f"  {name:<15} {recipe.epochs} epochs, batch {recipe.batch_size}, lr {recipe.learning_rate:g}"
                     f"{', augmented' if recipe.augment else ''}{default}\n  {'':<15} {recipe.summary}")
    return "\n".join(lines)


def add_commands(commands) -> None:
    """run, predict, report, serve and runs, each with its handler, into the subparsers `commands`."""
    run = commands.add_parser("run", help="run the pipeline locally (Beam or local orchestrator)",
                              description="`mnist-tfx run`: the whole DAG locally, with exit codes a scheduler "
                                          "can act on.", epilog=f"{_architectures_help()}\n\n{help_epilog()}",
                              formatter_class=argparse.RawDescriptionHelpFormatter)
    add_flags(run)
    run.add_argument("-v", "--verbose", action="store_true", help="show TFX, Beam and TensorFlow logs")
    run.set_defaults(handler=run_command)
    predict = commands.add_parser("predict", help="classify digit images (PNG, JPEG, IDX) with a pushed .tflite")
    predict.add_argument("images", nargs="+", metavar="IMAGE",
                         help="PNG/JPEG of any size (dark on light or light on dark), or an IDX images file")
    predict.add_argument("--model", default="", help="a .tflite file (default: the latest push under --output-dir)")
    predict.add_argument("--output-dir", default="out", help="default: %(default)s")
    predict.add_argument("--top-k", type=int, default=1, choices=range(1, 11), metavar="K",
                         help="labels to show per image (default: 1)")
    predict.add_argument("--json", action="store_true", help="machine-readable output")
    predict.set_defaults(handler=predict_command)
    report = commands.add_parser("report", help="write an HTML report of a run (figures embedded)")
    report.add_argument("--output-dir", default="out", help="default: %(default)s")
    report.add_argument("--run", default="latest", help="a run id from `mnist-tfx runs` (default: latest)")
    report.add_argument("--out", default="", help="HTML file to write (default: OUTPUT_DIR/report.html)")
    report.set_defaults(handler=report_command)
    serve_help = "a page to draw digits for the latest pushed model, and to store its mistakes as new data"
    serve = commands.add_parser("serve", help=serve_help, description=serve_help)
    serve.add_argument("--output-dir", default="out", help="whose serving/latest the page shows (default: %(default)s)")
    serve.add_argument("--data-dir", default="",
                       help="the data dir of your runs: corrections go there as a span under DATA_DIR/spans/ "
                            "(default: $MNIST_DIR, then ~/.cache/mnist-tfx/mnist, as for `run`; without one, "
                            "the page only reads)")
    serve.add_argument("--host", default="127.0.0.1", help="address to listen on (default: %(default)s, local connections only)")
    serve.add_argument("--port", type=int, default=8000, help="default: %(default)s; 0 picks a free port")
    serve.set_defaults(handler=serve_command, imports_tensorflow=False)  # starts at once
    runs = commands.add_parser("runs", help="list past runs recorded in an output dir's ML Metadata")
    runs.add_argument("--output-dir", default="out", help="default: %(default)s")
    runs.set_defaults(handler=runs_command)


def _check_output_dir(output_dir: str) -> None:
    """Fails before any work if the output dir cannot be written: tries it, since a read-only mount or
    a file system like /proc defeats permission bits (and root ignores them)."""
    from components.common import DataError
    parent = os.path.dirname(os.path.abspath(output_dir))
    if not os.path.isdir(parent):
        raise DataError(f"{output_dir}: parent directory {parent} does not exist")
    target = output_dir if os.path.exists(output_dir) else parent
    try:
        with tempfile.TemporaryFile(dir=target):
            pass
    except OSError as e:
        raise DataError(f"{output_dir}: cannot write to {target} ({e.strerror})") from None


def _data_error_in(exc: BaseException):
    from components.common import DataError
    while exc is not None:
        if isinstance(exc, DataError):
            return exc
        exc = exc.__cause__ or exc.__context__
    return None


def _evaluation(run):
    """The Evaluator's results (components.baseline_evaluator.evaluation.Evaluation), or None if it did not finish."""
    from components.baseline_evaluator.evaluation import read_evaluation
    evaluator = run.component("Evaluator")
    return read_evaluation(run.output("Evaluator", "evaluation")["uri"]) if evaluator and evaluator.state in (
        "complete", "cached") else None


def _per_source(evaluation) -> str:
    """`mnist 99.45% (99.40%), span-0 97.00% (–)`: each source's accuracy, the last blessed model's in brackets."""
    return ", ".join(f"{source} {_percent(candidate)} ({_percent(baseline)})"
                     for source, (candidate, baseline) in evaluation.per_source.items()) if evaluation else "–"


def _percent(value: float | None) -> str:
    return "–" if value is None else f"{value:.2%}"


def _yes_no(value: bool | None) -> str:
    return "–" if value is None else "yes" if value else "no"


def _print_summary(run, log_path: str) -> int:
    from tfx.types.standard_component_specs import PUSHED_MODEL_KEY
    from components.tflite_pusher.spec import TFLITE_ACCURACY_KEY
    print(f"\nrun {run.run_id}")
    for component in run.components:
        print(f"  {component.name:<24} {component.state:<9} {component.seconds:7.1f} s")
    pushed = run.pushed
    evaluation = _evaluation(run)
    print(f"  {'Evaluator accuracy':<24} {_percent(evaluation and evaluation.accuracy)}"
          f"  (the trained model on the eval split)")
    for source, (candidate, baseline) in (evaluation.per_source.items() if evaluation else ()):
        print(f"    {'on ' + source:<22} {_percent(candidate)}  (last blessed model: {_percent(baseline)})")
    print(f"  {'TFLite accuracy':<24} {_percent(run.output('TFLitePusher', PUSHED_MODEL_KEY).get(TFLITE_ACCURACY_KEY))}"
          f"  (the .tflite in LiteRT, same images)")
    print(f"  {'blessed':<24} {_yes_no(run.blessed)}" + (f": {run.not_pushed_reason}" if run.blessed is False else ""))
    if pushed:
        import tensorflow as tf
        from components.tflite_pusher import serving_layout
        tflite_path = serving_layout.model_path(pushed["pushed_destination"])
        print(f"  {'pushed':<24} version {pushed['pushed_version']}: {tflite_path} "
              f"({tf.io.gfile.stat(tflite_path).length / 1024:,.0f} KB)")
    print(f"  {'log':<24} {log_path}")
    if pushed:
        return ExitCode.OK
    print(f"\nnot pushed: {run.not_pushed_reason}", file=sys.stderr)
    return ExitCode.NOT_PUSHED


def predict_command(args: argparse.Namespace) -> int:
    from components.common import DataError
    from pipeline import predict
    try:
        results = predict.classify(predict.model_path(args.model, args.output_dir), args.images, args.top_k)
    except DataError as e:
        print(f"mnist-tfx: {e}", file=sys.stderr)
        return ExitCode.BAD_INPUT
    print(predict.format_results(results, args.json))
    return ExitCode.OK


def report_command(args: argparse.Namespace) -> int:
    from pipeline import outcome, report
    metadata_path = PipelineConfig(output_dir=args.output_dir).metadata_path
    if not os.path.exists(metadata_path):
        print(f"mnist-tfx: {metadata_path}: no runs recorded", file=sys.stderr)
        return ExitCode.BAD_INPUT
    if args.run != "latest" and args.run not in outcome.run_ids(metadata_path):
        print(f"mnist-tfx: {metadata_path}: no run {args.run!r} (see `mnist-tfx runs`)", file=sys.stderr)
        return ExitCode.BAD_INPUT
    out = args.out or os.path.join(args.output_dir, "report.html")
    try:
        page = report.build(args.output_dir, None if args.run == "latest" else args.run)
    except ValueError as e:
        print(f"mnist-tfx: {e}", file=sys.stderr)
        return ExitCode.BAD_INPUT
    with open(out, "w") as f:
        f.write(page)
    print(f"wrote {out}")
    return ExitCode.OK


def runs_command(args: argparse.Namespace) -> int:
    from components.tflite_pusher.spec import TFLITE_ACCURACY_KEY
    from pipeline import outcome
    metadata_path = PipelineConfig(output_dir=args.output_dir).metadata_path
    if not os.path.exists(metadata_path):
        print(f"mnist-tfx: {metadata_path}: no runs recorded (run `mnist-tfx run --output-dir {args.output_dir}`)",
              file=sys.stderr)
        return ExitCode.BAD_INPUT
    print(f"{'run id':<24} {'started (UTC)':<19} {'arch':<14} {'epochs':>6} {'eval acc':>8} {'TFLite':>7} "
          f"{'blessed':<7} {'pushed version':<19} {'per source (last blessed model)':<36} cached")
    for run_id in outcome.run_ids(metadata_path):
        run = outcome.read_run(metadata_path, run_id)
        training = run.training
        cached = [c.name for c in run.components if c.state == "cached"]
        evaluation = _evaluation(run)
        print(f"{run.run_id:<24} {run.started:%Y-%m-%d %H:%M:%S} {training.get('arch', '–'):<14} "
              f"{training.get('epochs', '–'):>6} {_percent(evaluation and evaluation.accuracy):>8} "
              f"{_percent(run.pushed.get(TFLITE_ACCURACY_KEY)):>7} "
              f"{_yes_no(run.blessed):<7} "
              f"{run.pushed.get('pushed_version', '–'):<19} {_per_source(evaluation):<36} "
              f"{f'{len(cached)}/{len(run.components)}: ' + ', '.join(cached) if cached else '–'}")
    return ExitCode.OK


def run_command(args: argparse.Namespace) -> int:
    from components.common import DataError
    from components.mnist_example_gen import datasets, mnist_data, spans
    from pipeline import outcome, progress, runner

    try:
        config = PipelineConfig(**{f.name: getattr(args, f.name) for f in dataclasses.fields(PipelineConfig)})
    except ValueError as e:
        print(f"mnist-tfx: {e}", file=sys.stderr)
        return ExitCode.BAD_INPUT
    try:
        _check_output_dir(config.output_dir)
        config = runner.resolve_data(config)
        for split in datasets.SPLIT_SOURCES:  # fail fast, before any component runs
            mnist_data.check_split(config.data_dir, split, datasets.DATASETS[config.dataset])
        spans.check(spans.find(config.data_dir, config.max_spans))  # decodes only spans never read well
    except DataError as e:
        print(f"mnist-tfx: {e}", file=sys.stderr)
        return ExitCode.BAD_INPUT

    training = config.training()
    print(f"mnist-tfx: {config.arch}, {training['epochs']} epochs, batch {training['batch_size']}, "
          f"data {config.data_dir}, output {config.output_dir}")
    started = time.monotonic()
    log_path = progress.attach(config.output_dir, args.verbose)
    try:
        with progress.component_lines(config.metadata_path):
            runner.run(config)
    except runner.OutputDirBusy as e:
        print(f"mnist-tfx: {e}", file=sys.stderr)
        return ExitCode.BUSY
    except Exception as e:  # noqa: BLE001 - every failure becomes an exit code and one line
        data_error = _data_error_in(e)
        message = str(data_error or e).strip().splitlines()[0]
        print(f"mnist-tfx: {message}", file=sys.stderr)
        return ExitCode.BAD_INPUT if data_error else ExitCode.FAILED
    code = _print_summary(outcome.read_run(config.metadata_path), log_path)
    print(f"wall time {time.monotonic() - started:.1f} s")
    return code

