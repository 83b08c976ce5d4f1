"""TFLitePusher: converts a blessed model to TFLite, checks it in LiteRT, publishes it in serving_dir."""
import json

from tfx import types
from tfx.dsl.components.base import base_component, executor_spec
from tfx.types import standard_artifacts

from components.tflite_pusher import executor
from components.tflite_pusher.spec import TFLitePusherSpec
from components.tflite_pusher.settings import MAX_ACCURACY_GAP


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
