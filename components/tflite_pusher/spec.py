"""TFLitePusher's keys, each spelled once: its settings, its inputs and output (TFX's standard keys),
and the properties its executor writes on the PushedModel."""
from tfx.types import standard_artifacts, standard_component_specs
from tfx.types.component_spec import ChannelParameter, ComponentSpec, ExecutionParameter

SERVING_DIR_KEY = "serving_dir"
MAX_ACCURACY_GAP_KEY = "max_accuracy_gap"
QUANTIZE_KEY = "quantize"
MAX_QUANTIZATION_DROP_KEY = "max_quantization_drop"
KEEP_VERSIONS_KEY = "keep_versions"
# On the PushedModel, beside the base Pusher's pushed, pushed_version and pushed_destination.
TFLITE_ACCURACY_KEY = "tflite_accuracy"
NOT_PUSHED_REASON_KEY = "not_pushed_reason"


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
