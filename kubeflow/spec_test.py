import json
import os

import pytest
import yaml
from google.protobuf import json_format
from kfp.pipeline_spec import pipeline_spec_pb2

from kubeflow import spec
from pipeline.config import PipelineConfig
from tests.helpers import compile_with_cli

TASKS = {"MnistExampleGen", "ImportSchemaGen", "StatisticsGen", "StrictExampleValidator", "Transform", "Trainer",
         "Evaluator", "TFLitePusher"}
KUBEFLOW_ONLY = {"DataFingerprint", "serving_dir_importer"}


def load(path) -> pipeline_spec_pb2.PipelineSpec:
    return json_format.ParseDict(yaml.safe_load(open(path)), pipeline_spec_pb2.PipelineSpec())


def test_compiled_spec_holds_the_whole_dag_with_our_image_and_caching(tmp_path):
    result = compile_with_cli(tmp_path / "pipeline.yaml")
    assert "10 tasks" in result.stdout and "baseline: the latest version in the serving directory" in result.stdout
    pipeline_spec = load(tmp_path / "pipeline.yaml")
    tasks = pipeline_spec.root.dag.tasks
    assert set(tasks) == TASKS | KUBEFLOW_ONLY
    assert {name for name, task in tasks.items() if not task.caching_options.enable_cache} == {"DataFingerprint"}
    executors = json_format.MessageToDict(pipeline_spec.deployment_spec)["executors"]
    assert {e["container"]["image"] for e in executors.values() if "importer" not in e} == {"registry.example/mnist-tfx:7"}
    assert pipeline_spec.default_pipeline_root == "gs://bucket/mnist-tfx"
    text = (tmp_path / "pipeline.yaml").read_text()
    for value in ("models.trainer.run_fn", "models.preprocessing.preprocessing_fn", "gs://bucket/mnist",
                  "gs://bucket/mnist-tfx/serving", f"{spec.IMAGE_SOURCE_DIR}/pipeline/schema/schema.pbtxt"):
        assert f"constant: {value}\n" in text, value
    assert "module_file" not in text
    assert f"--setup_file={spec.IMAGE_SOURCE_DIR}/setup.py" in text
    trainer_parameters = tasks["Trainer"].inputs.parameters
    training = json.loads(trainer_parameters["custom_config"].runtime_value.constant.string_value)
    assert (training["arch"], training["epochs"]) == ("mlp", 5)


def test_every_input_is_in_the_form_the_open_source_kfp_driver_resolves(tmp_path):
    """kubeflow/pipelines backend/src/v2/driver/resolve.go resolves `runtimeValue.constant` only (the
    deprecated `constantValue` of schema 2.0.0 fails: "param runtime value spec of type … not
    implemented"); TFX's entrypoint reads execution properties from the inputs spec it passes in 2.1."""
    compile_with_cli(tmp_path / "pipeline.yaml")
    compiled = yaml.safe_load(open(tmp_path / "pipeline.yaml"))
    assert compiled["schemaVersion"] == "2.1.0"
    parameters = [parameter for task in compiled["root"]["dag"]["tasks"].values()
                  for parameter in task.get("inputs", {}).get("parameters", {}).values()]
    runtime_values = [parameter["runtimeValue"] for parameter in parameters if "runtimeValue" in parameter]
    assert runtime_values and all(set(value) == {"constant"} for value in runtime_values)
    assert all(set(parameter) <= {"runtimeValue", "taskOutputParameter"} for parameter in parameters)
    for component in compiled["components"].values():
        assert all("parameterType" in p for p in component["inputDefinitions"]["parameters"].values())
    for executor in compiled["deploymentSpec"]["executors"].values():
        if "importer" in executor:
            assert set(executor["importer"]["artifactUri"]) == {"constant"}
            continue
        args = executor["container"]["args"]
        assert args[args.index("--json_serialized_inputs_spec_args") + 1].startswith("{")


def test_compiling_twice_gives_identical_files(tmp_path):
    compile_with_cli(tmp_path / "first.yaml")
    compile_with_cli(tmp_path / "second.yaml")
    assert (tmp_path / "first.yaml").read_bytes() == (tmp_path / "second.yaml").read_bytes()


def test_example_gen_is_cached_on_the_data_fingerprint_under_the_task_name_kfp_looks_up(tmp_path):
    """KFP's driver finds a parameter's producer by its task name (backend/src/v2/driver/resolve.go,
    resolveUpstreamParameters); TFX writes `<id>_task`, which build_spec corrects."""
    compile_with_cli(tmp_path / "pipeline.yaml")
    tasks = yaml.safe_load(open(tmp_path / "pipeline.yaml"))["root"]["dag"]["tasks"]
    assert tasks["MnistExampleGen"]["inputs"]["parameters"]["data_fingerprint"] == {
        "taskOutputParameter": {"producerTask": "DataFingerprint", "outputParameterKey": "fingerprint"}}
    assert tasks["MnistExampleGen"]["dependentTasks"] == ["DataFingerprint"]


def test_the_baseline_is_the_serving_directory_imported_once_under_one_id(tmp_path):
    compile_with_cli(tmp_path / "pipeline.yaml")
    compiled = yaml.safe_load(open(tmp_path / "pipeline.yaml"))
    importer = compiled["deploymentSpec"]["executors"]["serving_dir_importer_executor"]["importer"]
    assert importer["artifactUri"] == {"constant": "gs://bucket/mnist-tfx/serving"}
    assert not importer.get("reimport")  # same artifact ID each run, so an unchanged run stays cached
    evaluator = compiled["root"]["dag"]["tasks"]["Evaluator"]["inputs"]["artifacts"]["baseline_model"]
    assert evaluator == {"taskOutputArtifact": {"producerTask": "serving_dir_importer", "outputArtifactKey": "result"}}


def test_the_resolver_stays_for_vertex():
    tasks = spec.build_spec(PipelineConfig(data_dir="gs://b/mnist"), "img", "gs://b/root", keep_resolver=True)
    assert set(tasks["root"]["dag"]["tasks"]) == TASKS | {"DataFingerprint", "latest_blessed_model_resolver-model-resolver",
                                                          "latest_blessed_model_resolver-model-blessing-resolver"}


def test_a_json_spec_is_refused(tmp_path):
    with pytest.raises(ValueError, match="must be a .yaml file"):
        spec.write_spec({}, str(tmp_path / "pipeline.json"))
    assert not os.listdir(tmp_path)

