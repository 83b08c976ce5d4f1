"""kubeflow/entrypoint.py on ExecutorInputs built by tests/kfp_harness.py's ports of KFP's driver and
ML Metadata conversion; tests/test_kubeflow_e2e.py runs it in every task of the three-run scenario."""
import os
import subprocess
import sys

import pytest

from kubeflow import entrypoint
from tests import kfp_harness

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
EXAMPLES = {"artifactType": {"instanceSchema": "title: tfx.Examples\ntype: object\n"}}
STATISTICS = {"artifactType": {"instanceSchema": "title: tfx.ExampleStatistics\ntype: object\n"}}
# What TFX writes into its executor output for an Examples artifact, and a struct and a list besides.
WRITTEN = {"span": 0.0, "split_names": '["train", "eval"]', "spans_read": "[]", "settings": {"epochs": 2.0},
           "sources": ["mnist", "span-0"]}


def driver_input(publish_logs: bool = True) -> dict:
    """The ExecutorInput of a StatisticsGen task, as KFP's driver builds it."""
    recorded = {"id": 12, "uri": "gs://b/root/Examples", "custom_properties": kfp_harness.to_mlmd_custom_properties(
        WRITTEN, "examples", '{"Provider":"gs","Params":{"fromEnv":"true"}}')}
    return {"inputs": {"parameterValues": {}, "artifacts": {"examples": {"artifacts": [
                kfp_harness.to_runtime_artifact(recorded)]}}},
            "outputs": kfp_harness.provision_outputs("/gcs/b/root/StatisticsGen/u", {"outputDefinitions": {
                "artifacts": {"statistics": STATISTICS}}}, publish_logs)}


def test_inputs_get_their_declared_type_and_their_metadata_as_tfx_wrote_it():
    adapted = entrypoint.adapt("StatisticsGen", driver_input(), {"artifacts": {"examples": EXAMPLES}},
                               {"artifacts": {"statistics": STATISTICS}})
    (examples,) = adapted["inputs"]["artifacts"]["examples"]["artifacts"]
    assert examples["type"] == EXAMPLES["artifactType"] and examples["name"] == "12"
    assert examples["metadata"] == WRITTEN


def test_the_launcher_keeps_the_outputs_the_component_does_not_define():
    kfp = driver_input()
    assert set(kfp["outputs"]["artifacts"]) == {"statistics", "executor-logs"}
    adapted = entrypoint.adapt("StatisticsGen", kfp, {"artifacts": {"examples": EXAMPLES}},
                               {"artifacts": {"statistics": STATISTICS}})
    assert set(adapted["outputs"]["artifacts"]) == {"statistics"}
    assert adapted["outputs"]["outputFile"] == "/gcs/b/root/StatisticsGen/u/output_metadata.json"


@pytest.mark.parametrize("inputs_spec, outputs_spec, field", [
    ({}, {"artifacts": {"statistics": STATISTICS}}, "inputs.artifacts.examples: no type"),
    ({"artifacts": {"examples": EXAMPLES}}, {"artifacts": {"statistics": STATISTICS, "anomalies": STATISTICS}},
     "outputs.artifacts.anomalies: the component defines it, KFP provided no URI"),
])
def test_what_cannot_be_adapted_is_named_by_task_and_field(inputs_spec, outputs_spec, field):
    with pytest.raises(entrypoint.Unusable, match=f"^task StatisticsGen: {field}"):
        entrypoint.adapt("StatisticsGen", driver_input(), inputs_spec, outputs_spec)


def test_the_command_says_one_line_and_exits_1_before_tfx_starts():
    command = [sys.executable, "-m", "kubeflow.entrypoint", entrypoint.TASK_FLAG, "Trainer",
               entrypoint.OUTPUTS_SPEC_FLAG, "{}", "--executor_class_path", "x.Executor",
               entrypoint.INVOCATION_FLAG, "{not json", entrypoint.INPUTS_SPEC_FLAG, "{}", "--runner=FnApiRunner"]
    result = subprocess.run(command, capture_output=True, text=True, cwd=REPO, timeout=60)
    assert result.returncode == 1 and result.stdout == ""
    (line,) = result.stderr.splitlines()
    assert line.startswith("mnist-tfx kubeflow entrypoint: task Trainer: --json_serialized_invocation_args: not JSON")

