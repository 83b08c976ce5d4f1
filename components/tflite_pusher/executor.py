"""Thin TFX plumbing: the base Pusher's blessing check, then one call into runner.push."""
import json
import os
from typing import Any, Dict, List

from absl import logging
from tfx import types
from tfx.components.pusher import executor as pusher_executor
from tfx.types import artifact_utils, standard_component_specs

from components.mnist_example_gen.spec import SPANS_PROPERTY
from components.tflite_pusher import runner
from components.baseline_evaluator.evaluation import blessing_failures, evaluated_accuracy
from components.tflite_pusher import spec


class Executor(pusher_executor.Executor):

    def Do(self, input_dict: Dict[str, List[types.Artifact]], output_dict: Dict[str, List[types.Artifact]],
           exec_properties: Dict[str, Any]) -> None:
        self._log_startup(input_dict, output_dict, exec_properties)
        pushed_model = artifact_utils.get_single_instance(output_dict[standard_component_specs.PUSHED_MODEL_KEY])
        evaluation = artifact_utils.get_single_instance(input_dict[standard_component_specs.EVALUATION_KEY])
        if not self.CheckBlessing(input_dict):
            self._refuse(pushed_model, f"the Evaluator did not bless the model: {blessing_failures(evaluation.uri)}")
            return
        examples = input_dict[standard_component_specs.EXAMPLES_KEY]
        spans_read = artifact_utils.get_single_instance(examples).get_string_custom_property(SPANS_PROPERTY)
        settings = runner.PushSettings(
            serving_dir=exec_properties[spec.SERVING_DIR_KEY], quantize=exec_properties[spec.QUANTIZE_KEY],
            max_accuracy_gap=exec_properties[spec.MAX_ACCURACY_GAP_KEY],
            max_quantization_drop=exec_properties[spec.MAX_QUANTIZATION_DROP_KEY],
            keep_versions=exec_properties[spec.KEEP_VERSIONS_KEY],
            config={**json.loads(exec_properties[standard_component_specs.CUSTOM_CONFIG_KEY]),
                    "spans": json.loads(spans_read or "[]")})
        model = artifact_utils.get_single_instance(input_dict[standard_component_specs.MODEL_KEY])
        result = runner.push(self.GetModelPath(input_dict), model.uri, artifact_utils.get_split_uri(examples, "eval"),
                             artifact_utils.get_split_uri(examples, "train"), evaluated_accuracy(evaluation.uri),
                             settings, pushed_model.uri,
                             self._context.pipeline_run_id if self._context else None)
        pushed_model.set_float_custom_property(spec.TFLITE_ACCURACY_KEY, result.tflite_accuracy)
        if result.problem:
            self._refuse(pushed_model, result.problem)
            return
        version_dir = os.path.join(settings.serving_dir, result.version)
        self._MarkPushed(pushed_model, version_dir, result.version)
        logging.info("%s %s", "Already published:" if result.already_published else "Pushed", version_dir)

    def _refuse(self, pushed_model: types.Artifact, reason: str) -> None:
        logging.warning("Not pushing: %s", reason)
        self._MarkNotPushed(pushed_model)
        pushed_model.set_string_custom_property(spec.NOT_PUSHED_REASON_KEY, reason)
