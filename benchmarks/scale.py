"""Scale: what a run costs as the training data grows from 1x to 8x MNIST's, and what a night's run costs as spans pile up.

    make bench-scale [ARGS="--sizes 1 2 4 8 --rounds 1 --part both --work-dir DIR"]
    (.venv/bin/python benchmarks/scale.py [--part sizes|nights|both] [--sizes 1 2 4 8] [--rounds 1]
     [--night-spans 1 10 50] [--work-dir DIR] [--data-dir DIR] [--report-only])

Sizes. k x MNIST is the base dataset and (k-1) x 5 spans of 15,000 new labelled digits: span j holds
the MNIST training digits (j % 4) x 15,000 onward, each moved by span j's own small rotation, shift
and zoom (drawn from a generator seeded with j), labels unchanged, as an uncompressed IDX pair. A
span sends about a fifth of its images to eval, so 5 spans add 60,000 training images; MNIST's test
images are never used in a span. Each size's data dir links the MNIST files and its first spans, so
the sizes nest. Each run is `mnist-tfx run --epochs 2 --seed 42` (the default architecture, a fixed
short recipe so that the cost per image compares) in a fresh output dir and user cache dir. The
sizes run interleaved (1, 8, 2, 4; the next round reversed) so that drift does not pass for growth,
and the median of the rounds counts. Per run: the examples in each split (the base files' counts
and those ExampleGen records for each span in ML Metadata), each component's seconds (ML Metadata),
the whole wall, the peak RSS of the run's largest process (ru_maxrss) and the peak of the whole
process tree's summed RSS (sampled every 0.5 s and put down to the component running then), the
pipeline root's size, the shipped .tflite's accuracy on the 10,000 test images in LiteRT and the
other processes' share of the CPU. A growth exponent is the least-squares slope of log seconds (or
bytes) against log training images: 1 is linear.

Nights. Data dirs of the MNIST files and 1, 10 and 50 spans of 2,000 MNIST training digits as PNGs
(spans.add_image). For each, with startup.py's tiny recipe (the base cut to 2,000/1,000 examples;
the spans are read in full): a first run in a fresh output dir and cache dir, the same command with
nothing new (a cache hit), then the command once more after one new span has arrived. 60,000
training digits make 30 spans of distinct digits; spans from 30 on hold those digits again, each
moved by the span's own rotation, shift and zoom, so no two spans hold the same images.

Records each part with its date, commit and machine in benchmarks/results/scale.json (a run of one
part keeps the other's results) and renders benchmarks/results/scale.md and scale.png from it.
"""
import argparse
import json
import math
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time

import numpy as np
import psutil

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))  # for tests.helpers, as kfp_downloads.py

import provenance
from accuracy import SHARED_CPU_SHARE, busy_cpu_seconds, children_cpu_seconds
from pipeline_vs_script import BIN, all_cached, shipped_accuracy
from startup import IMAGES_PER_SPAN, RUN_ARGS, environment, timed_run
from tests.helpers import write_idx
from components.mnist_example_gen import mnist_data, spans
from components.mnist_example_gen.spec import EXAMPLES_KEY, SPANS_PROPERTY
from pipeline import outcome
from pipeline.config import PipelineConfig

RESULTS = os.path.join(HERE, "results")
RESULTS_JSON, RESULTS_MD, PLOT_PNG = "scale.json", "scale.md", "scale.png"
SPLITS = ("train", "eval")
SIZES, NIGHT_SPANS = [1, 2, 4, 8], [1, 10, 50]
SIZE_ARGS = ["--epochs", "2", "--seed", "42"]
SIZE_SPAN_IMAGES = 15000
SPAN_IMAGES, SPAN_LABELS = "train-images-idx3-ubyte", "train-labels-idx1-ubyte"
MAX_ANGLE, MAX_SHIFT, MAX_ZOOM = 12.0, 2.0, 0.08  # degrees, pixels, fraction
SAMPLE_SECONDS = 0.5
TINY_S = 1.0  # a component under this at every size is shown, not fitted: its slope would be noise
OUTSIDE = "start-up and summary"  # wall - all components: imports, the check before the DAG, the summary
GOALS = {"exponent": 1.1, "peak_rss_gb": 3.0, "peak_rss_size": 8}


def span_transform(number: int) -> tuple[float, float, float, float]:
    """Span number's own rotation (degrees), shift (x, y pixels) and zoom, fixed by its number."""
    rng = np.random.default_rng(number)
    angle, dx, dy = rng.uniform(-MAX_ANGLE, MAX_ANGLE), *rng.uniform(-MAX_SHIFT, MAX_SHIFT, 2)
    return float(angle), float(dx), float(dy), float(1 + rng.uniform(-MAX_ZOOM, MAX_ZOOM))


def moved(images: np.ndarray, angle: float, dx: float, dy: float, zoom: float) -> np.ndarray:
    """The images rotated about their centre, zoomed and shifted, resampled bilinearly: one mapping
    of pixel positions serves every image, since the transform is the span's."""
    _, height, width = images.shape
    rows, cols = np.mgrid[0:height, 0:width].astype(np.float64)
    centre_r, centre_c = (height - 1) / 2, (width - 1) / 2
    cos, sin = math.cos(math.radians(angle)), math.sin(math.radians(angle))
    # Where each output pixel comes from: undo the shift, the zoom, then the rotation.
    r, c = (rows - centre_r - dy) / zoom, (cols - centre_c - dx) / zoom
    source_r, source_c = cos * r - sin * c + centre_r, sin * r + cos * c + centre_c
    # A border of zeros (MNIST's background) so that pixels from beyond the edge come out blank.
    padded = np.pad(images, ((0, 0), (1, 1), (1, 1))).astype(np.float32)
    source_r = np.clip(source_r + 1, 0, height + 1 - 1e-6)
    source_c = np.clip(source_c + 1, 0, width + 1 - 1e-6)
    r0, c0 = source_r.astype(int), source_c.astype(int)
    fr, fc = (source_r - r0).astype(np.float32), (source_c - c0).astype(np.float32)
    out = (padded[:, r0, c0] * (1 - fr) * (1 - fc) + padded[:, r0 + 1, c0] * fr * (1 - fc)
           + padded[:, r0, c0 + 1] * (1 - fr) * fc + padded[:, r0 + 1, c0 + 1] * fr * fc)
    return np.clip(np.rint(out), 0, 255).astype(np.uint8)


def build_idx_spans(train: tuple, spans_dir: str, count: int) -> None:
    """spans_dir/0 … count-1: 15,000 moved training digits each; spans already written are kept."""
    images, labels = train
    slices = len(labels) // SIZE_SPAN_IMAGES
    for number in range(count):
        span_dir = os.path.join(spans_dir, str(number))
        if os.path.isdir(span_dir):
            continue
        building = span_dir + ".building"  # renamed when whole
        shutil.rmtree(building, ignore_errors=True)
        os.makedirs(building)
        start = (number % slices) * SIZE_SPAN_IMAGES
        write_idx(os.path.join(building, SPAN_IMAGES), moved(images[start:start + SIZE_SPAN_IMAGES],
                                                             *span_transform(number)),
                  mnist_data.IMAGE_MAGIC, compress=False)
        write_idx(os.path.join(building, SPAN_LABELS), labels[start:start + SIZE_SPAN_IMAGES], mnist_data.LABEL_MAGIC,
                  compress=False)
        os.rename(building, span_dir)


def build_png_spans(train: tuple, spans_dir: str, count: int) -> None:
    """spans_dir/0 … count-1: 2,000 training digits each as PNGs, moved from the 31st span on, since
    60,000 digits make 30 spans; spans already written are kept."""
    images, labels = train
    distinct = len(labels) // IMAGES_PER_SPAN
    for number in range(count):
        span_dir = os.path.join(spans_dir, str(number))
        if os.path.isdir(span_dir):
            continue
        building = span_dir + ".building"  # renamed when whole
        shutil.rmtree(building, ignore_errors=True)
        start = (number % distinct) * IMAGES_PER_SPAN
        digits = images[start:start + IMAGES_PER_SPAN]
        if number >= distinct:
            digits = moved(digits, *span_transform(number))
        for i, (digit, label) in enumerate(zip(digits, labels[start:start + IMAGES_PER_SPAN])):
            spans.add_image(building, int(label), f"train-{start + i:05d}", digit)
        os.rename(building, span_dir)


def link_data_dir(mnist_dir: str, data_dir: str, span_dirs: dict) -> None:
    """data_dir, made or completed: links to the MNIST files and to span dirs (number -> dir)."""
    os.makedirs(os.path.join(data_dir, spans.SPANS_DIR), exist_ok=True)
    links = {os.path.join(data_dir, name): os.path.join(mnist_dir, name) for name in os.listdir(mnist_dir)}
    links.update({spans.at(data_dir, number).path: path for number, path in span_dirs.items()})
    for link, target in links.items():
        if not os.path.lexists(link):
            os.symlink(target, link)


def fresh_dir(path: str) -> str:
    shutil.rmtree(path, ignore_errors=True)
    return path


def tree_rss(pid: int) -> int:
    """Bytes resident in pid and all its descendants together; 0 once it is gone."""
    try:
        root = psutil.Process(pid)
        processes = [root, *root.children(recursive=True)]
    except psutil.NoSuchProcess:
        return 0
    total = 0
    for process in processes:
        try:
            total += process.memory_info().rss
        except psutil.NoSuchProcess:  # ended between the listing and the reading
            pass
    return total


def sample_tree(pid: int, samples: list, stopping: threading.Event) -> None:
    while not stopping.is_set():
        samples.append((time.time(), tree_rss(pid)))  # wall-clock time, as ML Metadata's
        stopping.wait(SAMPLE_SECONDS)


def sampled_run(data_dir: str, output_dir: str, cache_dir: str, flags: list) -> dict:
    """`mnist-tfx run` in a fresh cache dir: wall, peak RSS of its largest process (ru_maxrss, from
    wait4), its tree's RSS every SAMPLE_SECONDS, exit code and the other processes' CPU share."""
    busy, ours = busy_cpu_seconds(), children_cpu_seconds()
    samples, stopping = [], threading.Event()
    with tempfile.TemporaryFile("w+") as out:
        started = time.monotonic()
        process = subprocess.Popen([os.path.join(BIN, "mnist-tfx"), "run", "--data-dir", data_dir,
                                    "--output-dir", output_dir, *flags], stdout=out, stderr=subprocess.STDOUT,
                                   text=True, env=environment(provenance.REPO, cache_dir))
        sampler = threading.Thread(target=sample_tree, args=(process.pid, samples, stopping), daemon=True)
        sampler.start()
        _, status, usage = os.wait4(process.pid, 0)
        wall = time.monotonic() - started
        stopping.set()
        sampler.join()
        process.returncode = code = os.waitstatus_to_exitcode(status)
        if code not in (0, 3):  # pushed, or trained and not pushed: either way the run went through
            out.seek(0)
            raise RuntimeError(f"mnist-tfx run --data-dir {data_dir} exited {code}:\n{out.read()[-3000:]}")
    others = busy_cpu_seconds() - busy - (children_cpu_seconds() - ours)
    return {"exit_code": code, "wall_s": round(wall, 1), "peak_rss_gb": round(usage.ru_maxrss / 2**20, 2),
            "other_cpu_share": round(max(others, 0) / (wall * os.cpu_count()), 2), "samples": samples}


def tree_peaks(samples: list, run: outcome.RunOutcome) -> dict:
    """The tree's peak RSS (GB) while each component ran, and outside them all."""
    peaks = {}
    for when, rss in samples:
        during = next((c.name for c in run.components if c.started <= when <= c.started + c.seconds), OUTSIDE)
        peaks[during] = max(peaks.get(during, 0), rss)
    return {name: round(rss / 2**30, 2) for name, rss in peaks.items()}


def examples_per_split(run: outcome.RunOutcome, base: dict) -> dict:
    """The base dataset's examples and those ExampleGen recorded for each span it read."""
    read = json.loads(run.output("MnistExampleGen", EXAMPLES_KEY).get(SPANS_PROPERTY) or "[]")
    return {split: base[split] + sum(span[f"{split}_examples"] for span in read) for split in SPLITS}


def tree_bytes(root: str) -> int:
    return sum(os.lstat(os.path.join(folder, name)).st_size for folder, _, names in os.walk(root) for name in names)


def size_run(data_dir: str, output_dir: str, cache_dir: str, base: dict) -> dict:
    measured = sampled_run(data_dir, output_dir, cache_dir, SIZE_ARGS)
    samples = measured.pop("samples")
    config = PipelineConfig(output_dir=output_dir)
    run = outcome.read_run(config.metadata_path)
    peaks = tree_peaks(samples, run)
    peak_during = max(peaks, key=peaks.get) if peaks else None
    return {**measured, **{f"{split}_examples": count for split, count in examples_per_split(run, base).items()},
            "components": {c.name: [c.state, round(c.seconds, 2)] for c in run.components},
            "tree_peak_gb": peaks.get(peak_during), "tree_peak_during": peak_during, "tree_peaks_gb": peaks,
            "root_bytes": tree_bytes(config.pipeline_root),
            "tflite_accuracy": shipped_accuracy(data_dir, output_dir) if measured["exit_code"] == 0 else None}


def interleaved(values: list, round_number: int) -> list:
    """Smallest, largest, next smallest, next largest … (1, 8, 2, 4); every other round reversed."""
    ascending, order = sorted(values), []
    while ascending:
        order.append(ascending.pop(0))
        if ascending:
            order.append(ascending.pop())
    return order if round_number % 2 == 0 else order[::-1]


def measure_sizes(mnist_dir: str, sizes: list, rounds: int, work_dir: str) -> dict:
    train = mnist_data.load_split(mnist_dir, "train")
    base = {split: len(mnist_data.load_split(mnist_dir, split)[1]) for split in SPLITS}
    # Spans per step of one MNIST: 60,000 ÷ (15,000 × the train share of 80 %) = 5.
    per_step = round(base["train"] / (SIZE_SPAN_IMAGES * (1 - spans.EVAL_SHARE)))
    spans_dir = os.path.join(work_dir, "idx-spans")
    started = time.monotonic()
    build_idx_spans(train, spans_dir, (max(sizes) - 1) * per_step)
    print(f"{(max(sizes) - 1) * per_step} spans of {SIZE_SPAN_IMAGES:,} moved digits ready in "
          f"{time.monotonic() - started:.0f} s", flush=True)
    for size in sizes:
        link_data_dir(mnist_dir, fresh_dir(os.path.join(work_dir, f"data-{size}x")),
                      {number: os.path.join(spans_dir, str(number)) for number in range((size - 1) * per_step)})
    runs = []
    for round_number in range(rounds):
        for size in interleaved(sizes, round_number):
            output_dir, cache_dir = (fresh_dir(os.path.join(work_dir, f"{kind}-{size}x")) for kind in ("out", "cache"))
            run = {"size": size, "round": round_number + 1, "spans": (size - 1) * per_step,
                   **size_run(os.path.join(work_dir, f"data-{size}x"), output_dir, cache_dir, base)}
            runs.append(run)
            components = run["components"]
            accuracy = f"{run['tflite_accuracy']:.2%}" if run["tflite_accuracy"] is not None else "not pushed"
            print(f"round {run['round']}, {size}x: {run['train_examples']:,} training images, wall "
                  f"{run['wall_s']:.1f} s, Trainer {components['Trainer'][1]:.1f} s, peak RSS {run['peak_rss_gb']:.2f} GB "
                  f"(tree {run['tree_peak_gb']:.2f} GB, {run['tree_peak_during']}), root "
                  f"{run['root_bytes'] / 2**20:,.0f} MB, accuracy {accuracy}, others' CPU "
                  f"{run['other_cpu_share']:.0%}", flush=True)
            shutil.rmtree(output_dir)
            shutil.rmtree(cache_dir)
    return {"provenance": provenance.record(), "run_args": SIZE_ARGS, "base": base, "span_images": SIZE_SPAN_IMAGES,
            "spans_per_step": per_step, "rounds": rounds, "runs": runs}


def night_run(data_dir: str, output_dir: str, cache_dir: str) -> dict:
    result = timed_run(provenance.REPO, data_dir, output_dir, cache_dir)
    run = outcome.read_run(PipelineConfig(output_dir=output_dir).metadata_path)
    return {**result, "components": {c.name: [c.state, round(c.seconds, 2)] for c in run.components},
            "pushed": bool(run.pushed), "not_pushed_reason": "" if run.pushed else run.not_pushed_reason}


def measure_nights(mnist_dir: str, counts: list, work_dir: str) -> dict:
    train = mnist_data.load_split(mnist_dir, "train")
    spans_dir = os.path.join(work_dir, "png-spans")
    started = time.monotonic()
    build_png_spans(train, spans_dir, max(counts) + 1)
    print(f"{max(counts) + 1} spans of {IMAGES_PER_SPAN:,} PNGs ready in {time.monotonic() - started:.0f} s", flush=True)
    nights = []
    for count in interleaved(counts, 0):
        data_dir = fresh_dir(os.path.join(work_dir, f"nights-{count}"))
        link_data_dir(mnist_dir, data_dir, {number: os.path.join(spans_dir, str(number)) for number in range(count)})
        output_dir, cache_dir = (fresh_dir(os.path.join(work_dir, f"{kind}-nights-{count}")) for kind in ("out", "cache"))
        night = {"spans": count, "first": night_run(data_dir, output_dir, cache_dir),
                 "nothing_new": night_run(data_dir, output_dir, cache_dir)}
        link_data_dir(mnist_dir, data_dir, {count: os.path.join(spans_dir, str(count))})  # the new span arrives whole
        night["new_span"] = night_run(data_dir, output_dir, cache_dir)
        nights.append(night)
        print(f"{count} span{'s' if count > 1 else ''}: first run {night['first']['wall_s']:.1f} s; nothing new {night['nothing_new']['wall_s']:.1f} s "
              f"({night['nothing_new']['cached']} cached, first component at {night['nothing_new']['first_component_s']:.1f} s); "
              f"one new span {night['new_span']['wall_s']:.1f} s", flush=True)
        shutil.rmtree(output_dir)
        shutil.rmtree(cache_dir)
    return {"provenance": provenance.record(), "run_args": RUN_ARGS, "images_per_span": IMAGES_PER_SPAN,
            "distinct_spans": len(train[1]) // IMAGES_PER_SPAN, "order": [night["spans"] for night in nights],
            "nights": sorted(nights, key=lambda n: n["spans"])}


def exponent(xs: list, ys: list) -> float | None:
    """The least-squares slope of log y against log x: 1 is linear growth."""
    if len(set(xs)) < 2 or min(ys) <= 0:
        return None
    return float(np.polyfit(np.log(xs), np.log(ys), 1)[0])


def per_size(part: dict) -> dict:
    """Size -> the median over its rounds of each figure (the others' CPU share: the largest)."""
    by_size = {}
    for run in part["runs"]:
        by_size.setdefault(run["size"], []).append(run)
    table = {}
    for size, runs in sorted(by_size.items()):
        def median(get):
            values = [v for v in map(get, runs) if v is not None]
            return statistics.median(values) if values else None
        seconds = {name: median(lambda r: r["components"][name][1]) for name in runs[0]["components"]}
        seconds[OUTSIDE] = median(lambda r: r["wall_s"] - sum(s for _, s in r["components"].values()))
        table[size] = {key: median(lambda r: r[key]) for key in (
            "train_examples", "eval_examples", "wall_s", "peak_rss_gb", "tree_peak_gb", "root_bytes", "tflite_accuracy")}
        table[size].update(seconds=seconds, rounds=len(runs), other_cpu_share=max(r["other_cpu_share"] for r in runs),
                           tree_peak_during=" / ".join(sorted({r["tree_peak_during"] for r in runs})),
                           max_peak_rss_gb=max(max(r["peak_rss_gb"], r["tree_peak_gb"] or 0) for r in runs))
    return table


def growth(table: dict) -> dict:
    """Name -> its exponent, None when it is too small at every size to fit; the whole run's, the
    peak RSS's and the pipeline root's too."""
    xs = [row["train_examples"] for row in table.values()]
    fitted = {}
    for name in next(iter(table.values()))["seconds"]:
        ys = [row["seconds"][name] for row in table.values()]
        fitted[name] = exponent(xs, ys) if max(ys) >= TINY_S else None
    for key in ("wall_s", "peak_rss_gb", "tree_peak_gb", "root_bytes"):
        fitted[key] = exponent(xs, [row[key] for row in table.values()])
    return fitted


def _exponent(value: float | None) -> str:
    return "–" if value is None else f"{value:.2f}"


def sizes_lines(part: dict) -> list[str]:
    table, base = per_size(part), part["base"]
    fitted, sizes = growth(table), list(table)
    lines = [
        "## 1x to 8x MNIST's training images",
        "",
        provenance.describe(part["provenance"]),
        "",
        f"k x MNIST is the base dataset ({base['train']:,} training and {base['eval']:,} test images) and (k-1) x "
        f"{part['spans_per_step']} spans of {part['span_images']:,} new labelled digits. Span j holds the MNIST "
        f"training digits (j % 4) x {part['span_images']:,} onward, each moved by span j's own rotation "
        f"(within ±{MAX_ANGLE:g}°), shift (within ±{MAX_SHIFT:g} px) and zoom (within ±{MAX_ZOOM:.0%}), drawn "
        "from a generator seeded with j, with bilinear resampling and the labels unchanged, as an uncompressed IDX "
        f"pair; about {spans.EVAL_SHARE:.0%} of each span goes to eval by a hash of each image's key. No span holds a "
        "test image: the accuracy is measured on MNIST's test set. Each size's data dir links the MNIST files and "
        "its first spans, so the sizes nest. Each run: `mnist-tfx run --data-dir DATA --output-dir OUT "
        + " ".join(part["run_args"]) + "` (the default architecture, a fixed short recipe so that the cost per "
        "image compares) in a fresh output dir and user cache dir. The sizes run interleaved (smallest, largest, "
        "next smallest, …; every other round reversed) so that drift does not pass for growth; "
        + (f"{part['rounds']} rounds, the median of the rounds per size." if part["rounds"] > 1 else "one round.")
        + " Examples per split: the "
        "base files' and those ExampleGen records for each span in ML Metadata. Peak RSS: the run's largest "
        f"process (ru_maxrss); tree peak: the summed RSS of the whole process tree, sampled every {SAMPLE_SECONDS:g} s, "
        "with the component running then. Root: the pipeline root's files. Accuracy: the pushed model.tflite in "
        "LiteRT on the 10,000 test images. The exponent is the least-squares slope of log value against log "
        "training images (1 is linear).",
        "",
        "| size | spans | training images | eval images | wall | peak RSS (ru_maxrss) | tree peak | pipeline root "
        "| shipped .tflite accuracy | others' CPU share |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    spans_per_size = {run["size"]: run["spans"] for run in part["runs"]}
    for size, row in table.items():
        accuracy = "not pushed" if row["tflite_accuracy"] is None else f"{row['tflite_accuracy']:.2%}"
        lines.append(f"| {size}x | {spans_per_size[size]} | {row['train_examples']:,.0f} | {row['eval_examples']:,.0f} "
                     f"| {row['wall_s']:.1f} s | {row['peak_rss_gb']:.2f} GB | {row['tree_peak_gb']:.2f} GB "
                     f"({row['tree_peak_during']}) | {row['root_bytes'] / 2**20:,.0f} MB | {accuracy} "
                     f"| {row['other_cpu_share']:.0%} |")
    lines += [f"| growth exponent | | | | {_exponent(fitted['wall_s'])} | {_exponent(fitted['peak_rss_gb'])} "
              f"| {_exponent(fitted['tree_peak_gb'])} | {_exponent(fitted['root_bytes'])} | | |",
              "",
              "Seconds per component (ML Metadata), with each one's growth exponent; "
              f"{OUTSIDE} is the wall less all components (imports, the check of the data before the DAG, which "
              "reads every span in a fresh cache dir, and the summary):",
              "",
              "| component | " + " | ".join(f"{size}x" for size in sizes) + " | exponent |",
              "|---|" + "---|" * len(sizes) + "---|"]
    for name in fitted:
        if name not in table[sizes[0]]["seconds"]:
            continue
        small = fitted[name] is None and len(sizes) > 1
        lines.append(f"| {name} | " + " | ".join(f"{table[size]['seconds'][name]:.1f}" for size in sizes)
                     + f" | {'too small to fit (under 1 s at every size)' if small else _exponent(fitted[name])} |")
    lines.append("| whole run | " + " | ".join(f"{table[size]['wall_s']:.1f}" for size in sizes)
                 + f" | {_exponent(fitted['wall_s'])} |")
    lines += ["", "| goal | measured | target | |", "|---|---|---|---|"] + goal_lines(table, fitted)
    if max(row["other_cpu_share"] for row in table.values()) >= SHARED_CPU_SHARE:
        lines += ["", f"Other work shared the cores: a size whose others' CPU share is {SHARED_CPU_SHARE:.0%} or "
                  "more ran slower than it would alone."]
    return lines + ["", f"![seconds per component against training images]({PLOT_PNG})"]


def goal_lines(table: dict, fitted: dict) -> list[str]:
    components = [name for name in next(iter(table.values()))["seconds"] if name != OUTSIDE]
    exponents = {name: fitted[name] for name in components if fitted[name] is not None}
    small = [name for name in components if fitted[name] is None]
    if len(table) < 2:
        time_goal = "not measured (one size) | | –"
    else:
        worst = max(exponents, key=exponents.get)
        time_goal = (", ".join(f"{name} {value:.2f}" for name, value in exponents.items())
                     + (f"; too small to fit: {', '.join(small)}" if small else "")
                     + f" | ≤ {GOALS['exponent']} each | "
                     + ("met" if exponents[worst] <= GOALS["exponent"] else f"MISSED ({worst})"))
    size = GOALS["peak_rss_size"]
    if size in table:
        row = table[size]
        rss_goal = (f"ru_maxrss {row['peak_rss_gb']:.2f} GB, tree peak {row['tree_peak_gb']:.2f} GB "
                    f"({row['tree_peak_during']}); largest of any round {row['max_peak_rss_gb']:.2f} GB "
                    f"| < {GOALS['peak_rss_gb']:g} GB | "
                    + ("met" if row["max_peak_rss_gb"] < GOALS["peak_rss_gb"] else "MISSED"))
    else:
        rss_goal = f"not measured (largest size {max(table)}x) | < {GOALS['peak_rss_gb']:g} GB | –"
    return [f"| every component's time grows at most about linearly (exponent) | {time_goal} |",
            f"| peak RSS at {size}x | {rss_goal} |"]


def _listed(values: list) -> str:
    """1, 10 or 50"""
    return " or ".join(filter(None, [", ".join(map(str, values[:-1])), str(values[-1])]))


def _first_clause(reason: str) -> str:
    """The Evaluator's reason names every slice that regressed; its first clause says why."""
    return reason.split(";")[0].rstrip(".") + ("; and more slices" if ";" in reason else "")


def nights_lines(part: dict) -> list[str]:
    nights = part["nights"]
    counts = [night["spans"] for night in nights]
    lines = [
        "## A night's run as spans pile up",
        "",
        provenance.describe(part["provenance"]),
        "",
        f"Data dirs of the MNIST files and {_listed(counts)} spans of {part['images_per_span']:,} MNIST "
        "training digits each as 28x28 PNGs in label folders. The recipe is the tiny one of the start-up bench: "
        "`mnist-tfx run --data-dir DATA --output-dir OUT " + " ".join(part["run_args"]) + "`; the limits cut only "
        "the base dataset, every span is read in full, and that is what grows. For each count: a first run in a "
        "fresh output dir and user cache dir (not one of the runs measured), the same command with nothing new, then "
        "once more after one new span of new digits has arrived (a dir written beforehand, linked in whole). "
        f"{part['distinct_spans']} spans of distinct digits use up MNIST's training digits; spans from "
        f"{part['distinct_spans']} on hold them again, each moved by the span's own small rotation, shift and zoom, "
        "so no two spans hold the same images. Start → first component: until the run prints its first `▸` line "
        "(read from ML Metadata every 0.2 s).",
        "",
        "| spans | first run: wall | nothing new: wall | start → first component | components cached "
        "| one new span: wall | Trainer | ExampleGen | pushed |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for night in nights:
        nothing, new = night["nothing_new"], night["new_span"]
        cached = (f"{nothing['cached']} of {len(nothing['components'])}"
                  + (", all but the Resolver" if all_cached(nothing) else ", NOT a cache hit"))
        lines.append(f"| {night['spans']} | {night['first']['wall_s']:.1f} s | {nothing['wall_s']:.1f} s "
                     f"| {nothing['first_component_s']:.1f} s | {cached} | {new['wall_s']:.1f} s "
                     f"| {new['components']['Trainer'][1]:.1f} s | {new['components']['MnistExampleGen'][1]:.1f} s "
                     f"| {'yes' if new['pushed'] else 'no'} |")
    walls = [night["nothing_new"]["wall_s"] for night in nights]
    reasons = {night["spans"]: night["new_span"]["not_pushed_reason"] for night in nights if not night["new_span"]["pushed"]}
    lines += ["", f"The counts ran in the order {', '.join(map(str, part['order']))}."
              + "".join(f" Not pushed with one new span at {count}: {_first_clause(reason)}." for count, reason in reasons.items())
              + (" The run went through either way; the Pusher then only records why." if reasons else ""),
              "", f"Growth exponent of the nothing-new wall against spans ({' → '.join(map(str, counts))}): "
              f"**{_exponent(exponent(counts, walls))}**; of the one-new-span wall: "
              f"{_exponent(exponent(counts, [night['new_span']['wall_s'] for night in nights]))}. "
              + ("Every nothing-new run was a cache hit (all but the Resolver cached)."
                 if all(all_cached(night["nothing_new"]) for night in nights) else
                 "Not every nothing-new run was a cache hit: see the components cached."),
              "", "Seconds per component (ML Metadata; ↺ cached):", "",
              "| component | " + " | ".join(f"nothing new, {n}" for n in counts) + " | "
              + " | ".join(f"one new span, {n}" for n in counts) + " |",
              "|---|" + "---|" * 2 * len(counts)]
    for name in nights[0]["new_span"]["components"]:
        cells = []
        for key in ("nothing_new", "new_span"):
            for night in nights:
                state, seconds = night[key]["components"].get(name, ("–", 0))
                cells.append(f"{seconds:.1f}{' ↺' if state == 'cached' else ''}" if state != "–" else "–")
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    shares = [night[key]["other_cpu_share"] for night in nights for key in ("first", "nothing_new", "new_span")]
    if max(shares) >= SHARED_CPU_SHARE:
        lines += ["", f"Other work was running: other processes used up to {max(shares):.0%} of the machine's CPU "
                  "time during a run."]
    return lines


def plot(part: dict, path: str) -> None:
    import matplotlib
    matplotlib.use("Agg")
    from matplotlib import pyplot, ticker

    table = per_size(part)
    fitted = growth(table)
    xs = [row["train_examples"] for row in table.values()]
    figure, axes = pyplot.subplots(figsize=(7.5, 4.8))
    for name in table[min(table)]["seconds"]:
        if fitted[name] is None and len(table) > 1:
            continue  # too small to fit
        axes.plot(xs, [row["seconds"][name] for row in table.values()], "o-", markersize=4,
                  label=f"{name} ({_exponent(fitted[name])})")
    walls = [row["wall_s"] for row in table.values()]
    axes.plot(xs, walls, "s-", color="black", linewidth=2, label=f"whole run ({_exponent(fitted['wall_s'])})")
    axes.plot(xs, [walls[0] * x / xs[0] for x in xs], "--", color="tab:gray", label="slope 1 (time ∝ images)")
    axes.set(xscale="log", yscale="log", xlabel="training images", ylabel="seconds",
             title="seconds against training images (exponent in brackets)")
    axes.set_xticks(xs, [f"{x:,.0f}" for x in xs])
    axes.xaxis.set_minor_formatter(ticker.NullFormatter())
    axes.grid(alpha=0.3, which="both")
    axes.legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.01, 1))
    figure.savefig(path, dpi=100, bbox_inches="tight")


def write_results(results: dict) -> None:
    lines = ["# Scale: 1x to 8x MNIST, and a night's run as spans pile up", ""]
    if "sizes" in results:
        lines += sizes_lines(results["sizes"]) + [""]
        plot(results["sizes"], os.path.join(RESULTS, PLOT_PNG))
    if "nights" in results:
        lines += nights_lines(results["nights"]) + [""]
    with open(os.path.join(RESULTS, RESULTS_MD), "w") as f:
        f.write("\n".join(lines))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--part", choices=("sizes", "nights", "both"), default="both",
                        help="which part to measure; the other part's saved results are kept (default: %(default)s)")
    parser.add_argument("--sizes", type=int, nargs="+", default=SIZES,
                        help="multiples of MNIST's training images (default: %(default)s)")
    parser.add_argument("--rounds", type=int, default=1, help="rounds of the size sweep (default: %(default)s)")
    parser.add_argument("--night-spans", type=int, nargs="+", default=NIGHT_SPANS,
                        help="span counts for the nights; fewer or smaller for a quick trial (default: %(default)s)")
    parser.add_argument("--work-dir", help="where the data and runs go, kept with its spans for the next run "
                                           "(default: a temporary dir, removed)")
    parser.add_argument("--data-dir", default=os.environ.get("MNIST_DIR", ""), help="the four MNIST IDX files")
    parser.add_argument("--report-only", action="store_true", help="render scale.md and scale.png from scale.json")
    args = parser.parse_args()
    if not args.report_only and not args.data_dir:
        parser.error("--data-dir (or MNIST_DIR) is required")
    if min(args.sizes) < 1 or min(args.night_spans) < 1:
        parser.error("sizes and span counts start at 1")
    json_path = os.path.join(RESULTS, RESULTS_JSON)

    def measure() -> dict:
        results = {}
        if os.path.exists(json_path):
            with open(json_path) as f:
                results = json.load(f)
        mnist_dir = os.path.abspath(args.data_dir)
        with tempfile.TemporaryDirectory(prefix="mnist-tfx-scale-") as temporary:
            work_dir = os.path.abspath(args.work_dir or temporary)
            if args.part in ("sizes", "both"):
                results["sizes"] = measure_sizes(mnist_dir, sorted(set(args.sizes)), args.rounds, work_dir)
                provenance.save(results, json_path)  # kept should the nights fail
            if args.part in ("nights", "both"):
                results["nights"] = measure_nights(mnist_dir, sorted(set(args.night_spans)), work_dir)
        return results
    results = provenance.measured_or_saved(json_path, args.report_only, measure)
    write_results(results)
    print(open(os.path.join(RESULTS, RESULTS_MD)).read())


if __name__ == "__main__":
    main()
