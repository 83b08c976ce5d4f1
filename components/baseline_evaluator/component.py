"""BaselineEvaluator: TFX's Evaluator whose baseline_model is a serving directory, imported on
Kubeflow (which cannot run a Resolver) by an Importer of its fixed URI. The model is compared with
the version that `latest` names, or, before the first push, judged on the accuracy threshold alone.

Each version directory holds the SavedModel as Format-Serving/, TFX's Model layout
(components/tflite_pusher/publish.py)."""
from tfx.components import Evaluator
from tfx.dsl.components.base import executor_spec

from components.baseline_evaluator import executor


class BaselineEvaluator(Evaluator):
    EXECUTOR_SPEC = executor_spec.BeamExecutorSpec(executor.Executor)
