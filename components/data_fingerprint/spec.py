"""DataFingerprint's keys, declared once for the component and its executor."""
from tfx.types import standard_artifacts
from tfx.types.component_spec import ChannelParameter, ComponentSpec, ExecutionParameter

DATA_DIR_KEY = "data_dir"
DATASET_KEY = "dataset"
MAX_SPANS_KEY = "max_spans"
FINGERPRINT_KEY = "fingerprint"


class DataFingerprintSpec(ComponentSpec):
    PARAMETERS = {
        DATA_DIR_KEY: ExecutionParameter(type=str),
        DATASET_KEY: ExecutionParameter(type=str),
        MAX_SPANS_KEY: ExecutionParameter(type=int),
    }
    INPUTS = {}
    OUTPUTS = {FINGERPRINT_KEY: ChannelParameter(type=standard_artifacts.String)}
