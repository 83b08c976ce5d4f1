"""The gate: the EvalConfig the Evaluator runs, and the one place that reads TFMA's results back
(overall and per-digit accuracy, the confusion matrix, why a model was not blessed). The config's
messages come from config_pb2: TFMA 0.52's top level has them only once TFX has put them there."""
import dataclasses

import numpy as np
import tensorflow_model_analysis as tfma
from tensorflow_model_analysis.proto import config_pb2

from components.mnist_example_gen import spans
from models.features import LABEL_KEY, NUM_CLASSES, OUTPUT_KEY, SERVING_EXAMPLES_SIGNATURE, SOURCE_KEY

ACCURACY_METRIC = "sparse_categorical_accuracy"  # the name TFMA gives SparseCategoricalAccuracy
CANDIDATE, BASELINE = "candidate", "baseline"


def eval_config(accuracy_threshold: float, max_regression_points: float, base_source: str) -> config_pb2.EvalConfig:
    """Accuracy overall, per digit and per source, the confusion matrix. Blessed when the accuracy on
    the base dataset's test set (source base_source) is at or above the threshold and, when there is
    a last blessed model, the accuracy overall and on every source is at most max_regression_points
    worse than the baseline's."""
    # tf_generic: TFMA calls the serving signature of the SavedModel, as clients do, instead of
    # loading each model as Keras once more just to find out its type.
    model_spec = dict(signature_name=SERVING_EXAMPLES_SIGNATURE, label_key=LABEL_KEY, prediction_key=OUTPUT_KEY,
                      model_type=tfma.TF_GENERIC)
    no_worse = config_pb2.MetricThreshold(change_threshold=config_pb2.GenericChangeThreshold(
        direction=config_pb2.MetricDirection.HIGHER_IS_BETTER, absolute={"value": -max_regression_points / 100}))
    return config_pb2.EvalConfig(
        model_specs=[config_pb2.ModelSpec(name=CANDIDATE, **model_spec),
                     config_pb2.ModelSpec(name=BASELINE, is_baseline=True, **model_spec)],
        slicing_specs=[config_pb2.SlicingSpec(), config_pb2.SlicingSpec(feature_keys=[LABEL_KEY]),
                       config_pb2.SlicingSpec(feature_keys=[SOURCE_KEY])],
        metrics_specs=[
            config_pb2.MetricsSpec(metrics=[config_pb2.MetricConfig(
                class_name="SparseCategoricalAccuracy", per_slice_thresholds=[config_pb2.PerSliceMetricThreshold(
                    slicing_specs=[config_pb2.SlicingSpec(feature_values={SOURCE_KEY: base_source})],
                    threshold=config_pb2.MetricThreshold(
                        value_threshold=config_pb2.GenericValueThreshold(lower_bound={"value": accuracy_threshold}))),
                config_pb2.PerSliceMetricThreshold(
                    slicing_specs=[config_pb2.SlicingSpec(), config_pb2.SlicingSpec(feature_keys=[SOURCE_KEY])],
                    threshold=no_worse)])]),
            # Only the candidate's, which the report shows: TFMA's per-example cost grows with each model.
            config_pb2.MetricsSpec(model_names=[CANDIDATE],
                                   metrics=[config_pb2.MetricConfig(class_name="MultiClassConfusionMatrixPlot")]),
        ])


@dataclasses.dataclass
class Evaluation:
    accuracy: float  # the candidate's, overall
    baseline_accuracy: float | None  # the last blessed model's, when there was one
    per_digit: dict  # digit -> the candidate's accuracy
    per_source: dict  # source -> (the candidate's accuracy, the baseline's or None)
    confusion: np.ndarray | None = None  # [actual, predicted] -> count; read by read_evaluation(with_confusion=True)


def _is_candidate(key) -> bool:
    return key.model_name in ("", CANDIDATE)  # a single-model evaluation leaves model_name empty


def read_evaluation(evaluation_uri: str, with_confusion: bool = False) -> Evaluation:
    """The Evaluator's results; raises ValueError naming the URI if it holds no overall accuracy."""
    overall, per_digit, per_source = {}, {}, {}
    for slice_metrics in tfma.load_metrics(evaluation_uri):
        keys = slice_metrics.slice_key.single_slice_keys
        for entry in slice_metrics.metric_keys_and_values:
            if entry.key.name != ACCURACY_METRIC or entry.key.is_diff:
                continue
            model = CANDIDATE if _is_candidate(entry.key) else entry.key.model_name
            if not keys:
                overall[model] = entry.value.double_value.value
            elif keys[0].column == LABEL_KEY and model == CANDIDATE:
                per_digit[keys[0].int64_value] = entry.value.double_value.value
            elif keys[0].column == SOURCE_KEY:
                per_source.setdefault(keys[0].bytes_value.decode(), {})[model] = entry.value.double_value.value
    if CANDIDATE not in overall:
        raise ValueError(f"{evaluation_uri}: no overall {ACCURACY_METRIC} in the evaluation")
    evaluation = Evaluation(overall[CANDIDATE], overall.get(BASELINE), dict(sorted(per_digit.items())),
                            {source: (models[CANDIDATE], models.get(BASELINE))
                             for source, models in sorted(per_source.items(), key=lambda item: _source_order(item[0]))})
    if with_confusion:
        evaluation.confusion = _confusion(evaluation_uri)
    return evaluation


def _source_order(source: str) -> tuple:
    """The base dataset first, then spans by number."""
    number = spans.number_of(source)
    return (0, 0) if number is None else (1, number)


def _confusion(evaluation_uri: str) -> np.ndarray:
    confusion = np.zeros((NUM_CLASSES, NUM_CLASSES), np.int64)
    for plots in tfma.load_plots(evaluation_uri):
        if plots.slice_key.single_slice_keys:
            continue
        for entry in plots.plot_keys_and_values:
            if _is_candidate(entry.key):
                for cell in entry.value.multi_class_confusion_matrix_at_thresholds.matrices[0].entries:
                    confusion[cell.actual_class_id, cell.predicted_class_id] = round(cell.num_weighted_examples)
    return confusion


def evaluated_accuracy(evaluation_uri: str) -> float:
    """The Evaluator's overall accuracy of the candidate model."""
    return read_evaluation(evaluation_uri).accuracy


def blessing_failures(evaluation_uri: str) -> str:
    """Why TFMA did not bless the model, in one line."""
    failures = []
    for per_slice in tfma.load_validation_result(evaluation_uri).metric_validations_per_slice:
        where = " ".join(f"on {key.column}={key.bytes_value.decode() or key.int64_value}"
                         for key in per_slice.slice_key.single_slice_keys) or "overall"
        for failure in per_slice.failures:
            kind = "change against the baseline" if failure.metric_key.is_diff else "value"
            failures.append(f"{failure.metric_key.name} {kind} {where} {failure.metric_value.double_value.value:+.4f} "
                            f"{_threshold_text(failure.metric_threshold)}")
    return "; ".join(failures) or "no metric failed, see the Evaluator's output"


def _threshold_text(threshold) -> str:
    if threshold.HasField("value_threshold"):
        return f"is below the threshold {threshold.value_threshold.lower_bound.value:.4f}"
    return f"is worse than the allowed {threshold.change_threshold.absolute.value:+.4f} against the last blessed model"
