"""Thin TFX plumbing: the base Pusher's blessing check, then tflite.convert/predict/publish."""
import json
import os
from typing import Any, Dict, List

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


def evaluated_accuracy(evaluation_uri: str) -> float:
    """The Evaluator's overall accuracy of the candidate model."""
    for slice_metrics in tfma.load_metrics(evaluation_uri):
        if slice_metrics.slice_key.single_slice_keys:
            continue
        for entry in slice_metrics.metric_keys_and_values:
            if entry.key.name == ACCURACY_METRIC and not entry.key.is_diff and entry.key.model_name in ("", "candidate"):
                return entry.value.double_value.value
    raise ValueError(f"{evaluation_uri}: no overall {ACCURACY_METRIC} in the evaluation")


class Executor(pusher_executor.Executor):

    def Do(self, input_dict: Dict[str, List[types.Artifact]], output_dict: Dict[str, List[types.Artifact]],
           exec_properties: Dict[str, Any]) -> None:
        self._log_startup(input_dict, output_dict, exec_properties)
        pushed_model = artifact_utils.get_single_instance(output_dict[standard_component_specs.PUSHED_MODEL_KEY])
        if not self.CheckBlessing(input_dict):
            self._refuse(pushed_model, "the Evaluator did not bless the model")
            return

        tflite_model = tflite.convert(self.GetModelPath(input_dict), SERVING_IMAGES_SIGNATURE)
        eval_split = artifact_utils.get_split_uri(input_dict[standard_component_specs.EXAMPLES_KEY], "eval")
        images, labels = tflite.read_examples(os.path.join(eval_split, "*"))
        tflite_accuracy = tflite.accuracy(tflite.predict(tflite_model, images), labels)
        evaluation = artifact_utils.get_single_instance(input_dict[standard_component_specs.EVALUATION_KEY])
        keras_accuracy = evaluated_accuracy(evaluation.uri)
        pushed_model.set_float_custom_property(TFLITE_ACCURACY_KEY, tflite_accuracy)
        logging.info("TFLite accuracy %.4f, evaluated accuracy %.4f on %d eval images",
                     tflite_accuracy, keras_accuracy, len(labels))
        max_gap = exec_properties["max_accuracy_gap"]
        if abs(tflite_accuracy - keras_accuracy) > max_gap:
            self._refuse(pushed_model, f"TFLite accuracy {tflite_accuracy:.4%} differs from the evaluated "
                                       f"{keras_accuracy:.4%} by more than {max_gap:.2%}")
            return

        config = json.loads(exec_properties[standard_component_specs.CUSTOM_CONFIG_KEY])
        metadata = {
            **config,
            "metrics": {"evaluated_accuracy": keras_accuracy, "tflite_accuracy": tflite_accuracy,
                        "eval_examples": int(len(labels))},
            "input": {"name": "images", "dtype": "uint8", "shape": [-1, IMAGE_HEIGHT, IMAGE_WIDTH],
                      "description": "raw grayscale pixels 0-255, white digit on black as in MNIST"},
            "output": {"name": "probabilities", "dtype": "float32", "shape": [-1, NUM_CLASSES]},
            "pipeline_run_id": self._context.pipeline_run_id if self._context else None,
        }
        labels_text = config.get("labels") or [str(i) for i in range(NUM_CLASSES)]
        version_dir = tflite.publish(exec_properties["serving_dir"], tflite_model, labels_text, metadata)
        with open(os.path.join(pushed_model.uri, "model.tflite"), "wb") as f:
            f.write(tflite_model)
        self._MarkPushed(pushed_model, pushed_destination=version_dir, pushed_version=os.path.basename(version_dir))
        logging.info("Pushed %s", version_dir)

    def _refuse(self, pushed_model: types.Artifact, reason: str) -> None:
        logging.warning("Not pushing: %s", reason)
        self._MarkNotPushed(pushed_model)
        pushed_model.set_string_custom_property(REASON_KEY, reason)
