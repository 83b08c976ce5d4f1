"""Start-up with 10 spans of 2,000 PNGs: this checkout next to another, side by side.

    make bench-startup ARGS="--before DIR"
    (.venv/bin/python benchmarks/startup.py --before DIR [--rounds 2] [--data-dir DIR] [--report-only])

DIR is a checkout of the code to compare with (`git worktree add DIR <commit>`, with a link to this
.venv); this checkout is "after". Both run the same `mnist-tfx run` (through PYTHONPATH) on one data
dir: links to MNIST and 10 spans of 2,000 real MNIST training digits each as PNGs
(spans.add_image). Each round runs both checkouts, alternating which goes first, each in a fresh
output dir and a fresh user cache dir (XDG_CACHE_HOME): a first run with a tiny recipe, then the
same command again with nothing new, then, in fresh processes, the check before the DAG and
ExampleGen's driver resolving the data, each timed alone. A run's start-up is the time from
starting the command until the check before the DAG has passed (the line naming the data dir) and
until the first component starts (its first `▸` line, read from ML Metadata every 0.2 s). Records
everything with the date, both commits and the machine in benchmarks/results/startup.json and
renders benchmarks/results/startup.md from it.
"""
import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))

import provenance
from accuracy import SHARED_CPU_SHARE, busy_cpu_seconds, children_cpu_seconds
from components.mnist_example_gen import mnist_data, spans
from pipeline import outcome
from pipeline.config import PipelineConfig

BIN = os.path.dirname(sys.executable)
RESULTS = os.path.join(HERE, "results")
SPANS, IMAGES_PER_SPAN = 10, 2000
RUN_ARGS = ["--arch", "mlp", "--epochs", "1", "--max-train-examples", "2000", "--max-eval-examples", "1000",
            "--accuracy-threshold", "0.5"]
PROBES = 3  # fresh processes per checkout and round for the check and the driver alone; the median counts
# In a fresh process: run_command up to the DAG, which is stubbed out (the check before it and what
# else precedes it), then ExampleGen's driver on the run's settings, whatever the checkout's driver
# class and properties are.
PROBE = """
import json, os, sys, time
from google.protobuf.message import Message
from tfx.orchestration.portable import data_types
from tfx.types import standard_artifacts
from tfx.utils import proto_utils
import components.mnist_example_gen.spans  # imported inside run_command: not the check's time
from components.mnist_example_gen.component import MnistExampleGen
from pipeline import cli, runner
data_dir, output_dir, run_args = sys.argv[1], sys.argv[2], sys.argv[3:]


def stop(config):
    raise SystemExit


runner.run = stop
args = cli.build_parser().parse_args(["run", "--data-dir", data_dir, "--output-dir", output_dir, *run_args])
started = time.monotonic()
try:
    cli.run_command(args)
except SystemExit:
    pass
check_s = time.monotonic() - started
component = MnistExampleGen(data_dir=data_dir, max_train_examples=args.max_train_examples,
                            max_eval_examples=args.max_eval_examples)
properties = {key: proto_utils.proto_to_json(value) if isinstance(value, Message) else value
              for key, value in component.exec_properties.items()}
examples = standard_artifacts.Examples()
examples.uri = os.path.join(output_dir, "probe", "MnistExampleGen", "examples", "1")
started = time.monotonic()
component.driver_class(None).run(data_types.ExecutionInfo(exec_properties=properties,
                                                          output_dict={"examples": [examples]}))
print(json.dumps({"check_s": round(check_s, 3), "driver_s": round(time.monotonic() - started, 3)}))
"""


def build_data_dir(mnist_dir: str, data_dir: str) -> None:
    os.makedirs(data_dir)
    for name in os.listdir(mnist_dir):
        os.symlink(os.path.join(mnist_dir, name), os.path.join(data_dir, name))
    images, labels = mnist_data.load_split(mnist_dir, "train")
    for number in range(SPANS):
        span_dir = os.path.join(data_dir, spans.SPANS_DIR, str(number))
        for i in range(number * IMAGES_PER_SPAN, (number + 1) * IMAGES_PER_SPAN):
            spans.add_image(span_dir, int(labels[i]), f"train-{i:05d}", images[i])


def environment(checkout: str, cache_dir: str) -> dict:
    return {**os.environ, "PYTHONPATH": checkout, "PYTHONUNBUFFERED": "1", "XDG_CACHE_HOME": cache_dir}


def timed_run(checkout: str, data_dir: str, output_dir: str, cache_dir: str) -> dict:
    """Seconds from the start of `mnist-tfx run` to the data check's end, to the first component and
    to its exit, the states of its components, and the other processes' share of the CPU meanwhile."""
    busy, ours = busy_cpu_seconds(), children_cpu_seconds()
    started = time.monotonic()
    process = subprocess.Popen([os.path.join(BIN, "mnist-tfx"), "run", "--data-dir", data_dir,
                                "--output-dir", output_dir, *RUN_ARGS], stdout=subprocess.PIPE,
                               stderr=subprocess.STDOUT, text=True, env=environment(checkout, cache_dir))
    checked_s = first_component_s = None
    lines = []
    for line in process.stdout:
        lines.append(line)
        if checked_s is None and line.startswith("mnist-tfx: ") and f", data {data_dir}," in line:
            checked_s = time.monotonic() - started
        if first_component_s is None and line.startswith("▸ "):
            first_component_s = time.monotonic() - started
    code = process.wait()
    wall_s = time.monotonic() - started
    if code not in (0, 3):  # pushed, or trained and not pushed: either way the run went through
        raise RuntimeError(f"{checkout}: mnist-tfx run exited {code}:\n{''.join(lines[-30:])}")
    others = busy_cpu_seconds() - busy - (children_cpu_seconds() - ours)
    run = outcome.read_run(PipelineConfig(output_dir=output_dir).metadata_path)
    return {"checked_s": round(checked_s, 2), "first_component_s": round(first_component_s, 2),
            "wall_s": round(wall_s, 1), "cached": sum(c.state == "cached" for c in run.components),
            "other_cpu_share": round(max(others, 0) / (wall_s * os.cpu_count()), 2)}


def probe(checkout: str, data_dir: str, output_dir: str, cache_dir: str) -> dict:
    """The check before the DAG and ExampleGen's driver, each alone: medians of PROBES fresh processes."""
    seconds = []
    for _ in range(PROBES):
        # In the checkout: `python -c` puts the working dir before PYTHONPATH on sys.path.
        result = subprocess.run([sys.executable, "-c", PROBE, data_dir, output_dir, *RUN_ARGS], capture_output=True,
                                text=True, env=environment(checkout, cache_dir), cwd=checkout, check=True)
        seconds.append(json.loads(result.stdout.strip().splitlines()[-1]))
    return {key: statistics.median(s[key] for s in seconds) for key in seconds[0]}


def measure(checkouts: dict, mnist_dir: str, rounds: int, work_dir: str) -> dict:
    data_dir = os.path.join(work_dir, "data")
    build_data_dir(mnist_dir, data_dir)
    measured = []
    for number in range(rounds):
        order = list(checkouts) if number % 2 == 0 else list(reversed(checkouts))
        row = {"order": order}
        for name in order:
            output_dir, cache_dir = (os.path.join(work_dir, f"{kind}-{number}-{name}") for kind in ("out", "cache"))
            row[name] = {"first": timed_run(checkouts[name], data_dir, output_dir, cache_dir),
                         "rerun": timed_run(checkouts[name], data_dir, output_dir, cache_dir),
                         **probe(checkouts[name], data_dir, output_dir, cache_dir)}
            print(f"round {number + 1} {name}: {json.dumps(row[name])}", flush=True)
        measured.append(row)
    return {"rounds": measured, "run_args": RUN_ARGS, "spans": SPANS, "images_per_span": IMAGES_PER_SPAN,
            "commits": {name: _commit(path) for name, path in checkouts.items()}, "provenance": provenance.record()}


def _commit(checkout: str) -> str:
    return subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=checkout, capture_output=True, text=True,
                          check=True).stdout.strip()


MEASURES = [  # key path, what it is
    (("first", "checked_s"), "first run: start until the data check has passed"),
    (("first", "first_component_s"), "first run: start until the first component starts"),
    (("first", "wall_s"), "first run: the whole run"),
    (("rerun", "checked_s"), "rerun with nothing new: start until the data check has passed"),
    (("rerun", "first_component_s"), "rerun with nothing new: start until the first component starts"),
    (("rerun", "wall_s"), "rerun with nothing new: the whole run"),
    (("check_s",), "the check before the DAG alone (`run_command` with the DAG stubbed out, after the rerun)"),
    (("driver_s",), "ExampleGen's driver alone resolving the data (after the rerun)"),
]


def _value(measurement: dict, path: tuple) -> float:
    for key in path:
        measurement = measurement[key]
    return measurement


def write_results(results: dict) -> None:
    rounds, commits = results["rounds"], results["commits"]
    lines = [
        "# Start-up with 10 spans of 2,000 PNGs, before and after",
        "",
        provenance.describe(results["provenance"]) + f" Before: commit {commits['before']}; after: commit "
        f"{commits['after']}.",
        "",
        f"One data dir: links to the MNIST files and {results['spans']} spans of {results['images_per_span']:,} "
        "real MNIST training digits each as 28x28 PNGs in label folders. Each round runs both commits, "
        "alternating which goes first, each in a fresh output dir and a fresh user cache dir: `mnist-tfx run "
        "--data-dir DATA --output-dir OUT " + " ".join(results["run_args"]) + "`, then the same command with "
        "nothing new, then, in fresh processes, the check before the DAG and ExampleGen's driver, each "
        f"alone (the median of {PROBES} processes). The ratio is after ÷ before within "
        "each round (the median of the rounds' ratios), since the machine's speed drifts between rounds.",
        "",
        "| measure | before (s) | after (s) | after ÷ before |",
        "|---|---|---|---|",
    ]
    for path, what in MEASURES:
        before = [_value(row["before"], path) for row in rounds]
        after = [_value(row["after"], path) for row in rounds]
        ratios = [a / b for a, b in zip(after, before)]
        lines.append(f"| {what} | {' / '.join(f'{v:.2f}' for v in before)} | {' / '.join(f'{v:.2f}' for v in after)} "
                     f"| {statistics.median(ratios):.2f} ({' / '.join(f'{r:.2f}' for r in ratios)}) |")
    cached = {name: {row[name]["rerun"]["cached"] for row in rounds} for name in ("before", "after")}
    shares = [row[name][run]["other_cpu_share"] for row in rounds for name in ("before", "after")
              for run in ("first", "rerun")]
    lines += ["", "Values are per round, in round order. Components cached in each rerun: "
              + ", ".join(f"{name} {'/'.join(map(str, sorted(counts)))}" for name, counts in cached.items())
              + " of 9 (the Resolver always runs)."]
    if max(shares) >= SHARED_CPU_SHARE:
        lines += ["", f"Other work was running: other processes used up to {max(shares):.0%} of the machine's "
                  "CPU time during a run (within each round both commits shared the same conditions as far "
                  "as alternation allows)."]
    with open(os.path.join(RESULTS, "startup.md"), "w") as f:
        f.write("\n".join(lines) + "\n")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--before", help="a checkout of the code to compare with, with this .venv")
    parser.add_argument("--rounds", type=int, default=2, help="rounds of both checkouts (default: %(default)s)")
    parser.add_argument("--data-dir", default=os.environ.get("MNIST_DIR", ""), help="the four MNIST IDX files")
    parser.add_argument("--report-only", action="store_true", help="render startup.md from startup.json")
    args = parser.parse_args()
    if not args.report_only and not (args.before and args.data_dir):
        parser.error("--before and --data-dir (or MNIST_DIR) are required")

    def measure_in_a_work_dir() -> dict:
        checkouts = {"before": os.path.abspath(args.before), "after": provenance.REPO}
        with tempfile.TemporaryDirectory(prefix="mnist-tfx-startup-") as work_dir:
            return measure(checkouts, os.path.abspath(args.data_dir), args.rounds, work_dir)
    results = provenance.measured_or_saved(os.path.join(RESULTS, "startup.json"), args.report_only,
                                           measure_in_a_work_dir)
    write_results(results)
    print(open(os.path.join(RESULTS, "startup.md")).read())


if __name__ == "__main__":
    main()
