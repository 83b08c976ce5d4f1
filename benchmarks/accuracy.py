"""Runs the pipeline once per architecture on full MNIST with its default recipe and records,
from the pushed .tflite run in LiteRT on the 10,000 test images, what each one ships.

    .venv/bin/python benchmarks/accuracy.py [--archs mlp cnn ...] [--data-dir DIR] [--report-only]

Each architecture's row, with its own date, commit and machine, is kept in
benchmarks/results/accuracy.json as soon as it is measured, and benchmarks/results/accuracy.md is
rendered from all rows, so a run of some architectures keeps the rows of the others.
"""
import argparse
import json
import os
import resource
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))

import provenance
from components.mnist_example_gen import mnist_data
from components.tflite_pusher import serving_layout, tflite
from models import architectures
from pipeline import outcome
from pipeline.config import PipelineConfig

SEED_RESULTS = {"mlp": "97.90 %", "cnn": "99.13 %", "resnet50v2": "98.77 % (5 epochs)"}  # the original write-up's plain Keras results
TARGETS = {"mlp": 0.982, "cnn": 0.993, "cnn_bn": 0.995, "resnet50v2": 0.990, "mobilenetv2": 0.990, "efficientnetb0": 0.990}
RESULTS = os.path.join(HERE, "results")
SHARED_CPU_SHARE = 0.1  # other processes' share of all cores above which a train time counts as an upper bound


def busy_cpu_seconds() -> float:
    """CPU time spent by all processes since boot: /proc/stat's busy fields, less the hypervisor's steal."""
    with open("/proc/stat") as f:
        user, nice, system, _idle, _iowait, irq, softirq = map(int, f.readline().split()[1:8])
    return (user + nice + system + irq + softirq) / os.sysconf("SC_CLK_TCK")


def children_cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def measure(arch: str, data_dir: str, output_dir: str) -> dict:
    busy, ours, started = busy_cpu_seconds(), children_cpu_seconds(), time.monotonic()
    result = subprocess.run([os.path.join(os.path.dirname(sys.executable), "mnist-tfx"), "run", "--arch", arch,
                             "--data-dir", data_dir, "--output-dir", output_dir])
    wall = time.monotonic() - started
    others = busy_cpu_seconds() - busy - (children_cpu_seconds() - ours)
    row = {"arch": arch, "exit_code": result.returncode, "pipeline_wall_s": round(wall, 1),
           "parameters": architectures.build(arch).count_params(),
           "other_cpu_share": round(max(others, 0) / (wall * os.cpu_count()), 2)}
    config = PipelineConfig(output_dir=output_dir)
    if result.returncode in (0, 3):
        row["train_s"] = round(outcome.read_run(config.metadata_path).component("Trainer").seconds, 1)
    if result.returncode == 0:
        metadata = serving_layout.latest_metadata(config.serving_dir)
        with open(serving_layout.model_path(serving_layout.latest_version_dir(config.serving_dir)), "rb") as f:
            model = f.read()
        images, labels = mnist_data.load_split(data_dir, "eval")
        row.update(epochs=metadata["training"]["epochs"], batch_size=metadata["training"]["batch_size"],
                   augment=metadata["training"]["augment"], tflite_bytes=len(model),
                   tflite_accuracy=tflite.accuracy(tflite.predict(model, images), labels))
    row["provenance"] = provenance.record()
    return row


def shared_cores(row: dict) -> str | None:
    """Why the row's train time is an upper bound, if other work shared the cores during its run."""
    if row.get("other_cpu_share") is not None and row["other_cpu_share"] >= SHARED_CPU_SHARE:
        return f"other processes used {row['other_cpu_share']:.0%} of the machine's CPU time during its run"
    return row.get("other_work_reported")


def write_table(rows: dict) -> None:
    lines = [
        "# Accuracy per architecture, measured from the shipped .tflite",
        "",
        "Full MNIST (54,000 images trained on, 6,000 of the training split held out for validation), default "
        "recipe of each architecture, `mnist-tfx run --arch ARCH`, one architecture per run. Accuracy: the "
        "pushed `model.tflite` run in LiteRT on the 10,000 test images with raw uint8 input. Train time: the "
        "Trainer component's wall time (load, fit, export). Each row names the date (UTC), commit and machine "
        "of its own run.",
        "",
        "| architecture | epochs | batch | augment | parameters | train wall time | .tflite size "
        "| TFLite test accuracy | target | original write-up's plain Keras | measured (UTC) | commit | machine |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    machines, from_history, upper_bounds = [], False, []
    for arch in architectures.BUILDERS:
        row = rows.get(arch)
        if not row:
            continue
        measured = row["provenance"]
        description = provenance.describe_machine(measured["machine"])
        if description not in machines:
            machines.append(description)
        history_mark = " ‡" if measured.get("from_git_history") else ""
        from_history |= bool(history_mark)
        shared = shared_cores(row)
        if shared:
            upper_bounds.append(f"{arch} ({shared})")
        run = (f"| {provenance.date(measured)} | {measured['commit']}{history_mark} "
               f"| {machines.index(description) + 1} |")
        if row["exit_code"] != 0:
            lines.append(f"| {arch} | | | | {row['parameters']:,} | | | run exited {row['exit_code']} "
                         f"| {TARGETS[arch]:.1%} | {SEED_RESULTS.get(arch, '–')} {run}")
            continue
        met = "met" if row["tflite_accuracy"] >= TARGETS[arch] else "MISSED"
        lines.append(f"| {arch} | {row['epochs']} | {row['batch_size']} | {'yes' if row['augment'] else 'no'} "
                     f"| {row['parameters']:,} | {row['train_s'] / 60:.1f} min{'†' if shared else ''} "
                     f"| {row['tflite_bytes'] / 1024:,.0f} KB | **{row['tflite_accuracy']:.2%}** "
                     f"| ≥ {TARGETS[arch]:.1%} ({met}) | {SEED_RESULTS.get(arch, '–')} {run}")
    lines.append("")
    lines += [f"- Machine {number}: {description}." for number, description in enumerate(machines, 1)]
    if from_history:
        lines += ["", "‡ Filled in from git history: the date and commit of the commit that recorded the row "
                      "(its run ended before it); the machine as accuracy.md then stated it."]
    if upper_bounds:
        lines += ["", "† An upper bound: other work shared the cores during the run of "
                      + "; ".join(upper_bounds) + "."]
    with open(os.path.join(RESULTS, "accuracy.md"), "w") as f:
        f.write("\n".join(lines) + "\n")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--archs", nargs="+", default=list(architectures.BUILDERS),
                        choices=list(architectures.BUILDERS))
    parser.add_argument("--data-dir", default=os.environ.get("MNIST_DIR"))
    parser.add_argument("--output-root", default=os.path.join(HERE, "out"))
    parser.add_argument("--report-only", action="store_true", help="rewrite accuracy.md from accuracy.json")
    args = parser.parse_args()
    results_json = os.path.join(RESULTS, "accuracy.json")
    rows = json.load(open(results_json)) if os.path.exists(results_json) else {}
    if args.report_only:
        write_table(rows)
        return
    if not args.data_dir:
        parser.error("--data-dir (or MNIST_DIR) is required")
    os.makedirs(RESULTS, exist_ok=True)
    os.makedirs(args.output_root, exist_ok=True)
    for arch in args.archs:
        rows[arch] = measure(arch, args.data_dir, os.path.join(args.output_root, arch))
        provenance.save(rows, results_json)
        write_table(rows)
        print(json.dumps(rows[arch]), flush=True)


if __name__ == "__main__":
    main()
