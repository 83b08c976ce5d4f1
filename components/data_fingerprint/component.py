"""DataFingerprint: on Kubeflow, where no TFX driver runs, resolves the data fingerprint as
MnistExampleGen's driver does locally (components/mnist_example_gen/fingerprint.py). Its output is
MnistExampleGen's data_fingerprint parameter, which its executor reads the spans by and KFP caches
it on: unchanged data gives MnistExampleGen, and then every task after it, the same cache key, so
nothing is retrained.

The task itself must run every time (its cache is turned off in kubeflow/spec.py)."""
from tfx.dsl.components.base import base_component, executor_spec
from tfx.types import channel, standard_artifacts

from components.data_fingerprint import executor
from components.data_fingerprint.spec import FINGERPRINT_KEY, DataFingerprintSpec


class DataFingerprint(base_component.BaseComponent):
    SPEC_CLASS = DataFingerprintSpec
    EXECUTOR_SPEC = executor_spec.ExecutorClassSpec(executor.Executor)

    def __init__(self, data_dir: str, dataset: str, max_spans: int):
        super().__init__(spec=DataFingerprintSpec(
            data_dir=data_dir, dataset=dataset, max_spans=max_spans,
            fingerprint=channel.Channel(type=standard_artifacts.String)))

    @property
    def value(self):
        """The fingerprint as a placeholder another component's parameter can take."""
        return self.outputs[FINGERPRINT_KEY].future()[0].value
