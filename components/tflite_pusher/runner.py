"""The push, as one plain function: convert the blessed model, prove the .tflite in LiteRT on the
eval split, and publish it with its model.json. No TFX here: the executor makes one call."""
import dataclasses
import os

import tensorflow as tf

from components.mnist_example_gen.examples import read_examples
from components.tflite_pusher import publish, serving_layout, tflite
from components.tflite_pusher.metadata import add_metadata
from models.features import NUM_CLASSES, OUTPUT_KEY, SERVING_IMAGES_SIGNATURE, TFLITE_INPUT_KEY, TFLITE_INPUT_SHAPE

REPRESENTATIVE_EXAMPLES = 300  # training images that calibrate int8 ranges


@dataclasses.dataclass(frozen=True)
class PushSettings:
    serving_dir: str
    quantize: str
    max_accuracy_gap: float  # percentage points, float models
    max_quantization_drop: float  # percentage points, quantized models
    keep_versions: int
    config: dict  # copied into model.json; its `labels` into labels.txt, `author` and `license` into the .tflite


@dataclasses.dataclass(frozen=True)
class PushResult:
    tflite_accuracy: float
    version: str | None  # None when refused
    problem: str | None  # why it was refused
    already_published: bool = False


def model_metadata(config: dict, labels: list[str], quantize: str, check: tflite.Verification, eval_examples: int,
                   model_uri: str, pipeline_run_id: str | None) -> dict:
    """What model.json says of a version (publish adds its name, the .tflite's size and sha256)."""
    return {
        **config,
        "labels": labels,  # also when the config names none: clients such as the serve page read them here
        "quantize": quantize,
        "metrics": {"evaluated_accuracy": check.reference_accuracy, "tflite_accuracy": check.tflite_accuracy,
                    "class_agreement_with_saved_model": check.agreement, "eval_examples": eval_examples},
        "input": {"name": TFLITE_INPUT_KEY, "dtype": "uint8", "shape": list(TFLITE_INPUT_SHAPE),
                  "description": "one RGB image, pixels 0-255, white digit on black as in MNIST; the model "
                                 "averages the channels to grey (give a grey digit as R=G=B) and normalizes "
                                 "inside; resize the batch for several images"},
        "output": {"name": OUTPUT_KEY, "dtype": "float32", "shape": [TFLITE_INPUT_SHAPE[0], NUM_CLASSES],
                   "description": "class probabilities; class i is labels[i], line i of labels.txt"},
        "model_uri": model_uri,
        "pipeline_run_id": pipeline_run_id,
    }


def push(model_dir: str, model_uri: str, eval_examples_dir: str, train_examples_dir: str, evaluated_accuracy: float,
         settings: PushSettings, pushed_model_dir: str, pipeline_run_id: str | None = None) -> PushResult:
    """Publishes the model under settings.serving_dir unless its .tflite fails the parity check on the
    eval examples; a copy of the .tflite also goes to pushed_model_dir (the PushedModel artifact)."""
    latest = serving_layout.latest_metadata(settings.serving_dir)
    if latest and latest.get("model_uri") == model_uri and latest.get("quantize") == settings.quantize:
        # The same model blessed again (e.g. evaluated against itself as the new baseline).
        return PushResult(latest["metrics"]["tflite_accuracy"], latest["version"], None, already_published=True)

    images, labels = read_examples(os.path.join(eval_examples_dir, "*"))
    representative = None
    if settings.quantize == "int8":
        representative = read_examples(os.path.join(train_examples_dir, "*"))[0][:REPRESENTATIVE_EXAMPLES]
    labels_text = settings.config.get("labels") or [str(i) for i in range(NUM_CLASSES)]
    version = publish.new_version(settings.serving_dir)
    # The parity check below runs on these bytes, metadata included: exactly what is published.
    tflite_model = add_metadata(
        tflite.convert(model_dir, SERVING_IMAGES_SIGNATURE, settings.quantize, representative), labels_text,
        name=f"mnist-tfx {settings.config.get('architecture', '')} ({settings.config.get('dataset', 'mnist')})",
        description=(f"Classifies one 28x28 image into the {len(labels_text)} classes of "
                     f"{settings.config.get('dataset', 'mnist')} (labels.txt); "
                     f"{'float' if settings.quantize == 'none' else settings.quantize + ' quantized'}; "
                     f"{evaluated_accuracy:.2%} accuracy in the pipeline's Evaluator"),
        version=version, author=settings.config.get("author", ""), license_=settings.config.get("license", ""))
    reference_classes = (tflite.saved_model_classes(model_dir, SERVING_IMAGES_SIGNATURE, images)
                         if settings.quantize == "none" else None)
    check = tflite.verify(tflite_model, settings.quantize, images, labels, evaluated_accuracy, reference_classes,
                          settings.max_accuracy_gap, settings.max_quantization_drop)
    if check.problem:
        return PushResult(check.tflite_accuracy, None, check.problem)

    metadata = model_metadata(settings.config, labels_text, settings.quantize, check, int(len(labels)), model_uri,
                              pipeline_run_id)
    version_dir = publish.publish(settings.serving_dir, tflite_model, labels_text, metadata, saved_model_dir=model_dir,
                                  keep_versions=settings.keep_versions, version=version)
    tf.io.gfile.makedirs(pushed_model_dir)  # Kubeflow's launcher creates only its parent
    with tf.io.gfile.GFile(serving_layout.model_path(pushed_model_dir), "wb") as f:  # named as in a version
        f.write(tflite_model)
    return PushResult(check.tflite_accuracy, os.path.basename(version_dir), None)
