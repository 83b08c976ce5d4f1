"""Thin TFX plumbing: the base Pusher's blessing check, then tflite.convert/verify/publish."""
import json
import os
from typing import Any, Dict, List

import tensorflow as tf
import tensorflow_model_analysis as tfma
from absl import logging
from tfx import types
from tfx.components.pusher import executor as pusher_executor
from tfx.types import artifact_utils, standard_component_specs

from components.tflite_pusher import tflite
from models.features import IMAGE_HEIGHT, IMAGE_WIDTH, NUM_CLASSES
from models.trainer import SERVING_IMAGES_SIGNATURE

ACCURACY_METRIC = "sparse_categorical_accuracy"
REASON_KEY = "not_pushed_reason"
TFLITE_ACCURACY_KEY = "tflite_accuracy"
REPRESENTATIVE_EXAMPLES = 300


def evaluated_accuracy(evaluation_uri: str) -> float:
    """The Evaluator's overall accuracy of the candidate model."""
    for slice_metrics in tfma.load_metrics(evaluation_uri):
        if slice_metrics.slice_key.single_slice_keys:
            continue
        for entry in slice_metrics.metric_keys_and_values:
            if entry.key.name == ACCURACY_METRIC and not entry.key.is_diff and entry.key.model_name in ("", "candidate"):
                return entry.value.double_value.value
    raise ValueError(f"{evaluation_uri}: no overall {ACCURACY_METRIC} in the evaluation")


def blessing_failures(evaluation_uri: str) -> str:
    """Why TFMA did not bless the model, in one line."""
    failures = []
    for per_slice in tfma.load_validation_result(evaluation_uri).metric_validations_per_slice:
        for failure in per_slice.failures:
            kind = "change against the baseline" if failure.metric_key.is_diff else "value"
            failures.append(f"{failure.metric_key.name} {kind} {failure.metric_value.double_value.value:+.4f} "
                            f"{_threshold_text(failure.metric_threshold)}")
    return "; ".join(failures) or "no metric failed, see the Evaluator's output"


def _threshold_text(threshold) -> str:
    if threshold.HasField("value_threshold"):
        return f"is below the threshold {threshold.value_threshold.lower_bound.value:.4f}"
    return f"is worse than the allowed {threshold.change_threshold.absolute.value:+.4f} against the last blessed model"


class Executor(pusher_executor.Executor):

    def Do(self, input_dict: Dict[str, List[types.Artifact]], output_dict: Dict[str, List[types.Artifact]],
           exec_properties: Dict[str, Any]) -> None:
        self._log_startup(input_dict, output_dict, exec_properties)
        pushed_model = artifact_utils.get_single_instance(output_dict[standard_component_specs.PUSHED_MODEL_KEY])
        evaluation = artifact_utils.get_single_instance(input_dict[standard_component_specs.EVALUATION_KEY])
        if not self.CheckBlessing(input_dict):
            self._refuse(pushed_model, f"the Evaluator did not bless the model: {blessing_failures(evaluation.uri)}")
            return

        serving_dir, quantize = exec_properties["serving_dir"], exec_properties["quantize"]
        model = artifact_utils.get_single_instance(input_dict[standard_component_specs.MODEL_KEY])
        latest = tflite.latest_metadata(serving_dir)
        if latest and latest.get("model_uri") == model.uri and latest.get("quantize") == quantize:
            # The same model blessed again (e.g. evaluated against itself as the new baseline).
            self._MarkPushed(pushed_model, os.path.join(serving_dir, latest["version"]), latest["version"])
            pushed_model.set_float_custom_property(TFLITE_ACCURACY_KEY, latest["metrics"]["tflite_accuracy"])
            logging.info("Model already published as version %s", latest["version"])
            return

        examples = input_dict[standard_component_specs.EXAMPLES_KEY]
        images, labels = tflite.read_examples(os.path.join(artifact_utils.get_split_uri(examples, "eval"), "*"))
        representative = None
        if quantize == "int8":
            train_images, _ = tflite.read_examples(os.path.join(artifact_utils.get_split_uri(examples, "train"), "*"))
            representative = train_images[:REPRESENTATIVE_EXAMPLES]
        model_dir = self.GetModelPath(input_dict)
        tflite_model = tflite.convert(model_dir, SERVING_IMAGES_SIGNATURE, quantize, representative)
        keras_accuracy = evaluated_accuracy(evaluation.uri)
        reference_classes = (tflite.saved_model_classes(model_dir, SERVING_IMAGES_SIGNATURE, images)
                             if quantize == "none" else None)
        check = tflite.verify(tflite_model, quantize, images, labels, keras_accuracy, reference_classes,
                              exec_properties["max_accuracy_gap"], exec_properties["max_quantization_drop"])
        pushed_model.set_float_custom_property(TFLITE_ACCURACY_KEY, check.tflite_accuracy)
        logging.info("%s", check)
        if check.problem:
            self._refuse(pushed_model, check.problem)
            return

        config = json.loads(exec_properties[standard_component_specs.CUSTOM_CONFIG_KEY])
        metadata = {
            **config,
            "quantize": quantize,
            "metrics": {"evaluated_accuracy": keras_accuracy, "tflite_accuracy": check.tflite_accuracy,
                        "class_agreement_with_saved_model": check.agreement, "eval_examples": int(len(labels))},
            "input": {"name": "images", "dtype": "uint8", "shape": [-1, IMAGE_HEIGHT, IMAGE_WIDTH],
                      "description": "raw grayscale pixels 0-255, white digit on black as in MNIST; "
                                     "normalization is inside the model"},
            "output": {"name": "probabilities", "dtype": "float32", "shape": [-1, NUM_CLASSES],
                       "description": "class probabilities; class i is line i of labels.txt"},
            "model_uri": model.uri,
            "pipeline_run_id": self._context.pipeline_run_id if self._context else None,
        }
        labels_text = config.get("labels") or [str(i) for i in range(NUM_CLASSES)]
        version_dir = tflite.publish(serving_dir, tflite_model, labels_text, metadata, saved_model_dir=model_dir,
                                     keep_versions=exec_properties["keep_versions"])
        with tf.io.gfile.GFile(os.path.join(pushed_model.uri, "model.tflite"), "wb") as f:
            f.write(tflite_model)
        self._MarkPushed(pushed_model, pushed_destination=version_dir, pushed_version=os.path.basename(version_dir))
        logging.info("Pushed %s", version_dir)

    def _refuse(self, pushed_model: types.Artifact, reason: str) -> None:
        logging.warning("Not pushing: %s", reason)
        self._MarkNotPushed(pushed_model)
        pushed_model.set_string_custom_property(REASON_KEY, reason)
