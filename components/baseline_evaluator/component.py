"""BaselineEvaluator: TFX's Evaluator against the serving directory's latest version (on Kubeflow)."""
from tfx.components import Evaluator
from tfx.dsl.components.base import executor_spec

from components.baseline_evaluator import executor


class BaselineEvaluator(Evaluator):
    EXECUTOR_SPEC = executor_spec.BeamExecutorSpec(executor.Executor)
