"""TFLitePusher: when the model is blessed, converts it to TFLite (optionally quantized), proves on
the eval split that the converted model scores like the evaluated one, and publishes it under
<serving_dir>/<version>/ with the SavedModel beside it."""
import json

from tfx import types
from tfx.dsl.components.base import base_component, executor_spec
from tfx.types import standard_artifacts, standard_component_specs
from tfx.types.component_spec import ChannelParameter, ComponentSpec, ExecutionParameter

from components.tflite_pusher import executor
from components.tflite_pusher.settings import MAX_ACCURACY_GAP

SERVING_DIR_KEY = "serving_dir"
MAX_ACCURACY_GAP_KEY = "max_accuracy_gap"
QUANTIZE_KEY = "quantize"
MAX_QUANTIZATION_DROP_KEY = "max_quantization_drop"
KEEP_VERSIONS_KEY = "keep_versions"


class TFLitePusherSpec(ComponentSpec):
    PARAMETERS = {
        SERVING_DIR_KEY: ExecutionParameter(type=str),
        MAX_ACCURACY_GAP_KEY: ExecutionParameter(type=float),
        QUANTIZE_KEY: ExecutionParameter(type=str),
        MAX_QUANTIZATION_DROP_KEY: ExecutionParameter(type=float),
        KEEP_VERSIONS_KEY: ExecutionParameter(type=int),
        standard_component_specs.CUSTOM_CONFIG_KEY: ExecutionParameter(type=str),
    }
    INPUTS = {
        standard_component_specs.MODEL_KEY: ChannelParameter(type=standard_artifacts.Model),
        standard_component_specs.MODEL_BLESSING_KEY: ChannelParameter(type=standard_artifacts.ModelBlessing),
        standard_component_specs.EVALUATION_KEY: ChannelParameter(type=standard_artifacts.ModelEvaluation),
        standard_component_specs.EXAMPLES_KEY: ChannelParameter(type=standard_artifacts.Examples),
    }
    OUTPUTS = {standard_component_specs.PUSHED_MODEL_KEY: ChannelParameter(type=standard_artifacts.PushedModel)}


class TFLitePusher(base_component.BaseComponent):
    """`custom_config` (a dict) is copied into each version's model.json; its `labels` into labels.txt.
    The accuracy limits are in percentage points."""

    SPEC_CLASS = TFLitePusherSpec
    EXECUTOR_SPEC = executor_spec.ExecutorClassSpec(executor.Executor)

    def __init__(self, model: types.BaseChannel, model_blessing: types.BaseChannel,
                 evaluation: types.BaseChannel, examples: types.BaseChannel, serving_dir: str, quantize: str,
                 max_quantization_drop: float, keep_versions: int, max_accuracy_gap: float = MAX_ACCURACY_GAP,
                 custom_config: dict | None = None):
        super().__init__(spec=TFLitePusherSpec(
            model=model, model_blessing=model_blessing, evaluation=evaluation, examples=examples,
            serving_dir=serving_dir, quantize=quantize, max_accuracy_gap=max_accuracy_gap,
            max_quantization_drop=max_quantization_drop, keep_versions=keep_versions,
            custom_config=json.dumps(custom_config or {}, sort_keys=True),
            pushed_model=types.Channel(type=standard_artifacts.PushedModel)))
