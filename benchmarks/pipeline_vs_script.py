"""What the pipeline costs over the training it wraps, measured side by side on full MNIST.

    make bench    (.venv/bin/python benchmarks/pipeline_vs_script.py [--repeats 5] [--data-dir DIR] [--report-only])

Alternates, `--repeats` times: the plain Keras script (benchmarks/keras_baseline.py: the original
CNN, same files, 10 epochs, batch 64) and `mnist-tfx run --arch cnn --epochs 10` in a fresh output
dir, then two reruns of that command (the second is the fully cached one). Then cold runs on the
first 10,000 and 30,000 training images for the scaling table, one cold run with
`--augment off` (the script does not augment) to compare the input pipelines alone, and one run of
the script with the Trainer's steps_per_execution, to show what of the difference is that setting.
Records the figures with their date, commit and machine in benchmarks/results/pipeline.json and
renders benchmarks/results/pipeline.md from it.
"""
import argparse
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))

import provenance
from models.trainer import STEPS_PER_EXECUTION
from pipeline import outcome
from pipeline.config import PipelineConfig

BIN = os.path.dirname(sys.executable)
EPOCHS = 10
TRAIN_EXAMPLES = 54_000  # 60,000 less the 10 % validation slice the Trainer holds out
RESULTS = os.path.join(HERE, "results")
TARGETS = {"ratio": 1.25, "warm_s": 10.0, "peak_rss_gb": 2.0, "throughput_ratio": 0.95}


def timed(command: list[str]) -> dict:
    """Wall time, peak RSS (of the process or its largest child) and output of one command."""
    with tempfile.TemporaryFile("w+") as out:
        started = os.times().elapsed
        process = subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT, text=True)
        _, status, usage = os.wait4(process.pid, 0)
        wall = os.times().elapsed - started
        out.seek(0)
        output = out.read()
    if os.waitstatus_to_exitcode(status) != 0:
        raise RuntimeError(f"{' '.join(command)} failed:\n{output[-3000:]}")
    return {"wall_s": round(wall, 1), "peak_rss_gb": round(usage.ru_maxrss / 2**20, 2), "output": output}


def pipeline_run(data_dir: str, output_dir: str, *extra: str) -> dict:
    result = timed([os.path.join(BIN, "mnist-tfx"), "run", "--arch", "cnn", "--epochs", str(EPOCHS),
                    "--data-dir", data_dir, "--output-dir", output_dir, *extra])
    run = outcome.read_run(PipelineConfig(output_dir=output_dir).metadata_path)
    # Fitting time per epoch without its validation pass, which the plain script does not make.
    epoch_seconds = [float(total) - float(validation) for total, validation in re.findall(
        r"^  epoch +\d+/\d+ .* (\d+\.\d) s \(validation (\d+\.\d) s\)  ETA", result["output"], re.M)]
    result.update(components={c.name: (c.state, c.seconds) for c in run.components}, fit_s=round(sum(epoch_seconds), 1),
                  examples_per_s=round(TRAIN_EXAMPLES / statistics.median(epoch_seconds[1:])) if epoch_seconds else None)
    del result["output"]
    return result


def script_run(data_dir: str, *extra: str) -> dict:
    result = timed([sys.executable, os.path.join(HERE, "keras_baseline.py"), data_dir, "--epochs", str(EPOCHS), *extra])
    return {**json.loads(result["output"].strip().splitlines()[-1]), "wall_s": result["wall_s"],
            "peak_rss_gb": result["peak_rss_gb"]}


def measure(data_dir: str, repeats: int, work_dir: str) -> dict:
    rounds = []
    for index in range(repeats):
        output_dir = os.path.join(work_dir, f"full-{index}")
        script = script_run(data_dir)
        cold = pipeline_run(data_dir, output_dir)
        first_rerun = pipeline_run(data_dir, output_dir)  # re-evaluates against the model it just pushed
        warm = pipeline_run(data_dir, output_dir)
        rounds.append({"script": script, "cold": cold, "first_rerun": first_rerun, "warm": warm})
        print(json.dumps({"round": index, "script_s": script["wall_s"], "pipeline_s": cold["wall_s"],
                          "warm_s": warm["wall_s"]}), flush=True)
        shutil.rmtree(output_dir)
    scaling = {}
    for examples in (10_000, 30_000):
        output_dir = os.path.join(work_dir, f"scale-{examples}")
        scaling[examples] = pipeline_run(data_dir, output_dir, "--max-train-examples", str(examples))
        shutil.rmtree(output_dir)
    without_augmentation = pipeline_run(data_dir, os.path.join(work_dir, "no-augment"), "--augment", "off")
    script_with_trainer_setting = script_run(data_dir, "--steps-per-execution", str(STEPS_PER_EXECUTION))
    return {"provenance": provenance.record(), "rounds": rounds, "scaling": scaling,
            "without_augmentation": without_augmentation, "script_with_trainer_setting": script_with_trainer_setting}


def _median(rounds: list, *path) -> float:
    values = []
    for entry in rounds:
        for key in path:
            entry = entry[key]
        values.append(entry)
    return statistics.median(values)


def write_results(results: dict) -> None:
    rounds = results["rounds"]
    script_s, pipeline_s = _median(rounds, "script", "wall_s"), _median(rounds, "cold", "wall_s")
    warm_s = _median(rounds, "warm", "wall_s")
    peak_rss = max(r["cold"]["peak_rss_gb"] for r in rounds)
    pipeline_rate, script_rate = _median(rounds, "cold", "examples_per_s"), _median(rounds, "script", "examples_per_s")
    throughput = pipeline_rate / script_rate
    paired_ratio = statistics.median(r["cold"]["wall_s"] / r["script"]["wall_s"] for r in rounds)
    # Both the ratio of the medians and the median of each round's ratio must meet it: rounds on this
    # shared machine vary by a fifth.
    met = {"ratio": max(pipeline_s / script_s, paired_ratio) <= TARGETS["ratio"], "warm_s": warm_s <= TARGETS["warm_s"],
           "peak_rss_gb": peak_rss < TARGETS["peak_rss_gb"], "throughput_ratio": throughput >= TARGETS["throughput_ratio"]}
    lines = [
        "# The pipeline next to the plain Keras script",
        "",
        provenance.describe(results["provenance"]),
        "",
        f"Full MNIST, CNN, {EPOCHS} epochs, batch 64; {len(rounds)} alternating rounds (`make bench`).",
        "",
        "| round | plain script wall | its fit | pipeline cold wall | ratio | Trainer | first rerun | warm rerun | pipeline peak RSS |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for index, r in enumerate(rounds):
        lines.append(f"| {index + 1} | {r['script']['wall_s']:.1f} s | {r['script']['fit_s']:.1f} s | "
                     f"{r['cold']['wall_s']:.1f} s | {r['cold']['wall_s'] / r['script']['wall_s']:.2f} | "
                     f"{r['cold']['components']['Trainer'][1]:.1f} s | "
                     f"{r['first_rerun']['wall_s']:.1f} s | {r['warm']['wall_s']:.1f} s | {r['cold']['peak_rss_gb']:.2f} GB |")
    lines += [
        "",
        "| target | measured (median) | goal | |",
        "|---|---|---|---|",
        f"| full DAG ÷ plain script | {pipeline_s:.1f} s ÷ {script_s:.1f} s = **{pipeline_s / script_s:.2f}**; "
        f"median of the rounds' ratios **{paired_ratio:.2f}** | ≤ {TARGETS['ratio']} (both) | {'met' if met['ratio'] else 'MISSED'} |",
        f"| warm (fully cached) rerun | **{warm_s:.1f} s** | ≤ {TARGETS['warm_s']:.0f} s | {'met' if met['warm_s'] else 'MISSED'} |",
        f"| pipeline peak RSS (cold, max of rounds) | **{peak_rss:.2f} GB** | < {TARGETS['peak_rss_gb']} GB | {'met' if met['peak_rss_gb'] else 'MISSED'} |",
        f"| Trainer examples/s ÷ script's | {pipeline_rate:,.0f} ÷ {script_rate:,.0f} = **{throughput:.2f}** | ≥ {TARGETS['throughput_ratio']} | {'met' if met['throughput_ratio'] else 'MISSED'} |",
        "",
        "Per component, cold run (median seconds):",
        "",
        "| component | seconds |",
        "|---|---|",
    ]
    for name in rounds[0]["cold"]["components"]:
        lines.append(f"| {name} | {_median([r['cold']['components'][name][1] for r in rounds]):.1f} |")
    lines += ["", "Scaling, cold runs (non-training = wall − Trainer):", "",
              "| training examples | wall | Trainer | non-training |", "|---|---|---|---|"]
    full = min(rounds, key=lambda r: abs(r["cold"]["wall_s"] - pipeline_s))["cold"]
    for examples, run in [*results["scaling"].items(), (60_000, full)]:
        trainer = run["components"]["Trainer"][1]
        lines.append(f"| {int(examples):,} | {run['wall_s']:.1f} s | {trainer:.1f} s | {run['wall_s'] - trainer:.1f} s |")
    plain = results["without_augmentation"]
    components = full["components"]
    others = {name: seconds for name, (_, seconds) in components.items() if name != "Trainer" and seconds >= 0.5}
    in_dag = sum(seconds for _, seconds in components.values())
    script_fit = _median(rounds, "script", "fit_s")
    tuned = results["script_with_trainer_setting"]
    lines += [
        "", "## Where the time goes", "",
        f"In the median round the pipeline took {full['wall_s']:.1f} s against the script's {script_s:.1f} s. "
        f"The Trainer took {components['Trainer'][1]:.1f} s: {full['fit_s']:.1f} s fitting {TRAIN_EXAMPLES:,} "
        f"images per epoch (it holds 6,000 out for validation; the script fits all 60,000 in "
        f"{script_fit:.1f} s) and {components['Trainer'][1] - full['fit_s']:.1f} s "
        f"reading the transformed examples, validating on the 6,000 held-out images each epoch, restoring "
        f"the best epoch and exporting with the Transform graph. The other components took "
        f"{in_dag - components['Trainer'][1]:.1f} s (" + ", ".join(f"{n} {v:.1f} s" for n, v in others.items())
        + f"), and start-up, the data check before the DAG and the summary {full['wall_s'] - in_dag:.1f} s. "
        "Each of those components is a check or a product the script does not have: statistics and schema "
        "validation of both splits, the TFMA evaluation that gates the push, the TFLite conversion and its "
        "LiteRT parity pass.",
        "",
        f"Fitting speed: with the recipe's augmentation (random rotation, shift and zoom of every batch, which "
        f"the script does not do) the Trainer fits {pipeline_rate:,.0f} examples/s, "
        f"**{throughput:.2f}x** the script's; without it (`--augment off`, one cold run: wall "
        f"{plain['wall_s']:.1f} s, Trainer {plain['components']['Trainer'][1]:.1f} s) "
        f"{plain['examples_per_s']:,} examples/s, **{plain['examples_per_s'] / script_rate:.2f}x**. "
        f"The Trainer runs {STEPS_PER_EXECUTION} training steps per call into TensorFlow (Keras "
        f"`steps_per_execution`); plain Keras, like the script, makes one call per step. Given the same "
        f"setting (one run of `keras_baseline.py --steps-per-execution {STEPS_PER_EXECUTION}`), the script fits "
        f"{tuned['examples_per_s']:,} examples/s and takes {tuned['wall_s']:.1f} s; against that script the "
        f"pipeline's ratio is **{pipeline_s / tuned['wall_s']:.2f}**.",
    ]
    with open(os.path.join(RESULTS, "pipeline.md"), "w") as f:
        f.write("\n".join(lines) + "\n")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--data-dir", default=os.environ.get("MNIST_DIR"))
    parser.add_argument("--report-only", action="store_true", help="rewrite pipeline.md from pipeline.json")
    args = parser.parse_args()
    if args.report_only:
        results = json.load(open(os.path.join(RESULTS, "pipeline.json")))
    else:
        if not args.data_dir:
            parser.error("--data-dir (or MNIST_DIR) is required")
        with tempfile.TemporaryDirectory(prefix="mnist-tfx-bench-") as work_dir:
            results = measure(os.path.abspath(args.data_dir), args.repeats, work_dir)
        provenance.save(results, os.path.join(RESULTS, "pipeline.json"))
    write_results(results)
    print(open(os.path.join(RESULTS, "pipeline.md")).read())


if __name__ == "__main__":
    main()
