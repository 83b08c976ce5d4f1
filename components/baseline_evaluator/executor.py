"""Thin TFX plumbing: TFX's Evaluator, with the imported LATEST file replaced by the version it names."""
from tfx.components.evaluator import executor as evaluator_executor
from tfx.types import standard_component_specs

from components.baseline_evaluator.serving_baseline import latest_pushed_model


class Executor(evaluator_executor.Executor):

    def Do(self, input_dict, output_dict, exec_properties) -> None:
        pointers = input_dict.get(standard_component_specs.BASELINE_MODEL_KEY) or []
        baseline = latest_pushed_model(pointers[0]) if pointers else []
        super().Do({**input_dict, standard_component_specs.BASELINE_MODEL_KEY: baseline}, output_dict, exec_properties)
