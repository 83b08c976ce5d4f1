"""MnistExampleGen's keys, declared once for the component, its driver and its executor: the
parameters, the output, and the custom property written on the Examples artifact."""
from tfx.types import standard_artifacts, standard_component_specs
from tfx.types.component_spec import ChannelParameter, ComponentSpec, ExecutionParameter

INPUT_BASE_KEY = standard_component_specs.INPUT_BASE_KEY
EXAMPLES_KEY = standard_component_specs.EXAMPLES_KEY
DATASET_KEY = "dataset"
MAX_TRAIN_EXAMPLES_KEY = "max_train_examples"
MAX_EVAL_EXAMPLES_KEY = "max_eval_examples"
MAX_EXAMPLES_KEYS = {"train": MAX_TRAIN_EXAMPLES_KEY, "eval": MAX_EVAL_EXAMPLES_KEY}  # by split name
MAX_SPANS_KEY = "max_spans"
CODE_VERSION_KEY = "code_version"
DATA_FINGERPRINT_KEY = "data_fingerprint"
SPANS_PROPERTY = "spans"  # on the Examples artifact: the spans read, as JSON


class MnistExampleGenSpec(ComponentSpec):
    PARAMETERS = {
        INPUT_BASE_KEY: ExecutionParameter(type=str),
        DATASET_KEY: ExecutionParameter(type=str),
        MAX_TRAIN_EXAMPLES_KEY: ExecutionParameter(type=int),
        MAX_EVAL_EXAMPLES_KEY: ExecutionParameter(type=int),
        MAX_SPANS_KEY: ExecutionParameter(type=int),
        CODE_VERSION_KEY: ExecutionParameter(type=str, optional=True),  # only part of the cache key
        # What the executor reads (fingerprint.py): set by the driver locally, by DataFingerprint on Kubeflow.
        DATA_FINGERPRINT_KEY: ExecutionParameter(type=str, optional=True),
    }
    INPUTS = {}
    OUTPUTS = {EXAMPLES_KEY: ChannelParameter(type=standard_artifacts.Examples)}
