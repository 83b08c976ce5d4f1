"""`mnist-tfx report`: one self-contained HTML file about a run, built from what ML Metadata, TFMA
and the Trainer's TensorBoard logs hold: training curves, the gate's numbers per digit, the
confusion matrix, the digits the model gets most wrong, the pushed .tflite and the lineage.
"""
import base64
import glob
import html
import io
import os

import matplotlib
import numpy as np
import tensorflow as tf
from tfx.utils import path_utils

from components.common import is_uri
from components import files
from components.mnist_example_gen import fingerprint
from components.mnist_example_gen.examples import read_examples
from components.tflite_pusher import serving_layout, tflite
from components.tflite_pusher.spec import TFLITE_ACCURACY_KEY
from models.features import IMAGES_INPUT_KEY, OUTPUT_KEY, SERVING_IMAGES_SIGNATURE
from pipeline import latency, outcome
from pipeline.config import PipelineConfig
from components.baseline_evaluator.evaluation import read_evaluation

matplotlib.use("Agg")
from matplotlib import pyplot, ticker  # noqa: E402  (after choosing the file-only backend)

WORST_SHOWN = 24
LATENCY_RUNS = 300


def read_curves(model_run_uri: str) -> dict:
    """{'train'|'validation': {'epoch_accuracy'|'epoch_loss': [value per epoch]}} from the Keras TensorBoard logs."""
    curves = {}
    for split in ("train", "validation"):
        values = {}
        for events_file in sorted(glob.glob(os.path.join(model_run_uri, split, "events.out.tfevents.*"))):
            for event in tf.compat.v1.train.summary_iterator(events_file):
                for value in event.summary.value:
                    if value.tag in ("epoch_accuracy", "epoch_loss"):
                        values.setdefault(value.tag, {})[event.step] = float(tf.make_ndarray(value.tensor))
        curves[split] = {tag: [by_step[step] for step in sorted(by_step)] for tag, by_step in values.items()}
    return curves


def worst_misclassified(model_uri: str, images: np.ndarray, labels: np.ndarray, count: int) -> list:
    """(image, true label, predicted label, its probability) of the most confident mistakes of the
    evaluated SavedModel (its raw-pixel signature)."""
    serve = tf.saved_model.load(model_uri).signatures[SERVING_IMAGES_SIGNATURE]
    probabilities = np.concatenate([serve(**{IMAGES_INPUT_KEY: tf.constant(images[i:i + 1000])})[OUTPUT_KEY].numpy()
                                    for i in range(0, len(images), 1000)])
    predicted = probabilities.argmax(axis=1)
    wrong = np.flatnonzero(predicted != labels)
    wrong = wrong[np.argsort(-probabilities[wrong, predicted[wrong]])][:count]
    return [(images[i], int(labels[i]), int(predicted[i]), float(probabilities[i, predicted[i]])) for i in wrong]


def _png(figure) -> str:
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=100, bbox_inches="tight")
    pyplot.close(figure)
    return base64.b64encode(buffer.getvalue()).decode()


def curves_figure(curves: dict) -> str:
    figure, axes = pyplot.subplots(1, 2, figsize=(10, 3.5))
    for axis, tag, title in ((axes[0], "epoch_accuracy", "accuracy"), (axes[1], "epoch_loss", "loss")):
        for split in ("train", "validation"):
            values = curves.get(split, {}).get(tag, [])
            axis.plot(range(1, len(values) + 1), values, marker="o", label=split)
        axis.set(title=title, xlabel="epoch")
        axis.xaxis.set_major_locator(ticker.MaxNLocator(integer=True))
        axis.grid(alpha=0.3)
        axis.legend()
    return _png(figure)


def confusion_figure(confusion: np.ndarray) -> str:
    figure, axis = pyplot.subplots(figsize=(5.5, 5))
    axis.imshow(np.log1p(confusion), cmap="Blues")
    for (actual, predicted), count in np.ndenumerate(confusion):
        if count:
            axis.text(predicted, actual, str(count), ha="center", va="center", fontsize=7,
                      color="white" if actual == predicted else "black")
    axis.set(xlabel="predicted", ylabel="true digit", xticks=range(10), yticks=range(10), title="confusion matrix")
    return _png(figure)


def per_digit_figure(per_digit: dict) -> str:
    figure, axis = pyplot.subplots(figsize=(6, 3))
    axis.bar([str(d) for d in per_digit], [100 * a for a in per_digit.values()], color="#4878a8")
    axis.set(ylim=(max(0, 100 * min(per_digit.values()) - 5), 100), xlabel="digit", ylabel="accuracy %",
             title="accuracy per digit")
    axis.grid(axis="y", alpha=0.3)
    return _png(figure)


def worst_figure(worst: list) -> str:
    columns = 8
    rows = max(1, -(-len(worst) // columns))
    figure, axes = pyplot.subplots(rows, columns, figsize=(columns * 1.2, rows * 1.45))
    for axis in np.ravel(axes):
        axis.axis("off")
    for axis, (image, true, predicted, probability) in zip(np.ravel(axes), worst):
        axis.imshow(image, cmap="gray")
        axis.set_title(f"{true} → {predicted} {probability:.0%}", fontsize=8)
    return _png(figure)


def _files_with_hashes(data_dir: str) -> list:
    if is_uri(data_dir) or not os.path.isdir(data_dir):
        return [(data_dir, None, None)]
    return [(path, os.path.getsize(path), files.sha256_of(path))
            for path in sorted(glob.glob(os.path.join(data_dir, "*"))) if os.path.isfile(path)]


def _cell(value: float | None, kind: str = "percent") -> str:
    """A table cell with the exact value in data-value, for readers and for the tests."""
    if value is None:
        return "<td>–</td>"
    text = f"{value:.2%}" if kind == "percent" else f"{value:+.2f} points" if kind == "points" else f"{value:,.0f}"
    return f'<td data-value="{value!r}">{text}</td>'


def build(output_dir: str, run_id: str | None = None) -> str:
    """The report of a run (default: the latest) as one HTML string, images embedded."""
    run = outcome.read_run(PipelineConfig(output_dir=output_dir).metadata_path, run_id)
    examples = run.output("MnistExampleGen", "examples")
    if not run.output("Evaluator", "evaluation"):
        raise ValueError(f"run {run.run_id} has no evaluation (it stopped before the Evaluator)")
    evaluation = read_evaluation(run.output("Evaluator", "evaluation")["uri"], with_confusion=True)
    images, labels = read_examples(os.path.join(examples["uri"], "Split-eval", "*"))
    model_uri = path_utils.serving_model_path(run.output("Trainer", "model")["uri"])
    worst = worst_misclassified(model_uri, images, labels, WORST_SHOWN)
    pushed = run.pushed
    training = run.training
    example_gen = run.component("MnistExampleGen")

    rows = [("Evaluator accuracy (eval split)", _cell(evaluation.accuracy, "percent"), 'id="accuracy"')]
    if evaluation.baseline_accuracy is not None:
        rows.append(("last blessed model, same images", _cell(evaluation.baseline_accuracy), 'id="baseline-accuracy"'))
        rows.append(("change", _cell(100 * (evaluation.accuracy - evaluation.baseline_accuracy), "points"), ""))
    else:
        rows.append(("last blessed model", "<td>none yet: judged on the threshold alone</td>", ""))
    rows.append(("blessed", f"<td>{'yes' if run.blessed else 'no'}</td>", 'id="blessed"'))
    if pushed:
        tflite_path = serving_layout.model_path(pushed["pushed_destination"])
        model = open(tflite_path, "rb").read()
        latency_us = latency.single_image_latency_us(latency.litert_runner(model, 1), tflite.to_model_input(images[:1]),
                                                     runs=LATENCY_RUNS)
        rows += [("pushed version", f"<td>{html.escape(pushed['pushed_version'])}</td>", ""),
                 (".tflite accuracy (LiteRT)", _cell(pushed[TFLITE_ACCURACY_KEY]), 'id="tflite-accuracy"'),
                 (".tflite size (bytes)", _cell(len(model), "count"), 'id="tflite-bytes"'),
                 ("latency, one image, 1 thread (µs)", _cell(latency_us, "count"), 'id="latency"')]
    else:
        rows.append(("not pushed", f"<td>{html.escape(run.not_pushed_reason)}</td>", ""))

    data_dir = fingerprint.data_dir_at(example_gen.properties.get("input_base", "")) if example_gen else ""
    lineage = [("data", html.escape(data_dir or "?"))]
    lineage += [(f"&nbsp;&nbsp;{html.escape(os.path.basename(path))}",
                 f"{size:,} bytes, sha256 {digest}" if digest else "not listed (remote)")
                for path, size, digest in _files_with_hashes(data_dir)]
    lineage += [("examples", f"{html.escape(examples['uri'])} (input fingerprint: "
                             f"{html.escape(str(examples.get('input_fingerprint', '–')))})"),
                ("transform graph", html.escape(run.output("Transform", "transform_graph").get("uri", "–"))),
                ("model", html.escape(model_uri)),
                ("evaluation", html.escape(run.output("Evaluator", "evaluation")["uri"])),
                ("pushed", html.escape(pushed.get("pushed_destination", "– (not pushed)")))]

    components = "".join(f"<tr><td>{c.name}</td><td>{c.state}</td><td>{c.seconds:.1f} s</td></tr>"
                         for c in run.components)
    per_digit = "".join(f'<tr><td>{d}</td>{_cell(a)}</tr>' for d, a in evaluation.per_digit.items())
    per_source = "".join(f'<tr><td>{html.escape(source)}</td>{_cell(candidate)}{_cell(baseline)}</tr>'
                         for source, (candidate, baseline) in evaluation.per_source.items())
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>mnist-tfx run {html.escape(run.run_id)}</title>
<style>
body {{ font-family: system-ui, sans-serif; margin: 2em auto; max-width: 1100px; color: #222; }}
table {{ border-collapse: collapse; margin: 0.5em 0 1.5em; }}
td, th {{ border: 1px solid #ccc; padding: 0.25em 0.6em; text-align: left; }}
img {{ max-width: 100%; }} .grid {{ display: flex; flex-wrap: wrap; gap: 1.5em; align-items: flex-start; }}
code {{ background: #f3f3f3; padding: 0 0.2em; }}
</style></head><body>
<h1>mnist-tfx run <code>{html.escape(run.run_id)}</code></h1>
<p>Started {run.started:%Y-%m-%d %H:%M:%S} UTC · architecture <b>{html.escape(str(training.get('arch', '?')))}</b>,
{training.get('epochs', '?')} epochs, batch {training.get('batch_size', '?')}, learning rate
{training.get('learning_rate', '?')}, augmentation {'on' if training.get('augment') else 'off'}, seed {training.get('seed', '?')}</p>
<h2>Gate and push</h2>
<table>{"".join(f"<tr {attrs}><th>{name}</th>{cell}</tr>" for name, cell, attrs in rows)}</table>
<table id="per-source"><tr><th>source</th><th>accuracy</th><th>last blessed model</th></tr>{per_source}</table>
<h2>Training</h2>
<img alt="training and validation curves" src="data:image/png;base64,{curves_figure(read_curves(run.output('Trainer', 'model_run')['uri']))}">
<h2>Evaluation on {int(evaluation.confusion.sum()):,} test images</h2>
<div class="grid">
<div><img alt="confusion matrix" src="data:image/png;base64,{confusion_figure(evaluation.confusion)}"></div>
<div><img alt="accuracy per digit" src="data:image/png;base64,{per_digit_figure(evaluation.per_digit)}">
<table id="per-digit"><tr><th>digit</th><th>accuracy</th></tr>{per_digit}</table></div>
</div>
<h2>Most confident mistakes</h2>
<p>The {len(worst)} test digits the model got wrong with the highest confidence: true → predicted, probability.</p>
<img alt="misclassified digits" src="data:image/png;base64,{worst_figure(worst)}">
<h2>Components</h2>
<table><tr><th>component</th><th>state</th><th>time</th></tr>{components}</table>
<h2>Lineage</h2>
<table>{"".join(f"<tr><th>{name}</th><td>{value}</td></tr>" for name, value in lineage)}</table>
</body></html>
"""
