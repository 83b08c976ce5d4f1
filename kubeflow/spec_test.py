import json
import os
import re

import pytest
import yaml
from google.protobuf import json_format
from kfp.pipeline_spec import pipeline_spec_pb2
from tfx.types import standard_component_specs

from kubeflow import entrypoint, spec
from pipeline.config import PipelineConfig
from pipeline.exit_codes import ExitCode
from tests.helpers import KUBEFLOW_COMPILE, compile_with_cli, mnist_tfx

TASKS = {"MnistExampleGen", "ImportSchemaGen", "StatisticsGen", "StrictExampleValidator", "Transform", "Trainer",
         "Evaluator", "TFLitePusher"}
KUBEFLOW_ONLY = {"DataFingerprint", "BaselineImporter"}


def load(path) -> pipeline_spec_pb2.PipelineSpec:
    return json_format.ParseDict(yaml.safe_load(open(path)), pipeline_spec_pb2.PipelineSpec())


def test_compiled_spec_holds_the_whole_dag_with_our_image_and_caching(kubeflow_spec):
    result, path = kubeflow_spec
    assert "10 tasks" in result.stdout and "baseline: the latest version in the serving directory" in result.stdout
    pipeline_spec = load(path)
    tasks = pipeline_spec.root.dag.tasks
    assert set(tasks) == TASKS | KUBEFLOW_ONLY
    assert {name for name, task in tasks.items() if not task.caching_options.enable_cache} == {"DataFingerprint"}
    executors = json_format.MessageToDict(pipeline_spec.deployment_spec)["executors"]
    assert {e["container"]["image"] for e in executors.values() if "importer" not in e} == {"registry.example/mnist-tfx:7"}
    assert pipeline_spec.default_pipeline_root == "gs://bucket/mnist-tfx"
    text = path.read_text()
    for value in ("models.trainer.run_fn", "models.preprocessing.preprocessing_fn", "gs://bucket/mnist",
                  "gs://bucket/mnist-tfx/serving", f"{spec.IMAGE_SOURCE_DIR}/pipeline/schema/schema.pbtxt"):
        assert f"constant: {value}\n" in text, value
    assert "module_file" not in text
    assert f"--setup_file={spec.IMAGE_SOURCE_DIR}/setup.py" in text
    custom_config = tasks["Trainer"].inputs.parameters[standard_component_specs.CUSTOM_CONFIG_KEY]
    training = json.loads(custom_config.runtime_value.constant.string_value)
    assert (training["arch"], training["epochs"]) == ("mlp", 5)


def test_every_input_is_in_the_form_the_open_source_kfp_driver_resolves(kubeflow_spec):
    """kubeflow/pipelines backend/src/v2/driver/resolve.go resolves `runtimeValue.constant` only (the
    deprecated `constantValue` of schema 2.0.0 fails: "param runtime value spec of type … not
    implemented"); TFX's entrypoint reads execution properties from the inputs spec it passes in 2.1."""
    compiled = yaml.safe_load(open(kubeflow_spec[1]))
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


def test_compiling_twice_gives_identical_files(kubeflow_spec, tmp_path):
    compile_with_cli(tmp_path / "second.yaml")
    assert kubeflow_spec[1].read_bytes() == (tmp_path / "second.yaml").read_bytes()


def test_example_gen_is_cached_on_the_data_fingerprint_under_the_task_name_kfp_looks_up(kubeflow_spec):
    """KFP's driver finds a parameter's producer by its task name (backend/src/v2/driver/resolve.go,
    resolveUpstreamParameters); TFX writes `<id>_task`, which build_spec corrects."""
    tasks = yaml.safe_load(open(kubeflow_spec[1]))["root"]["dag"]["tasks"]
    assert tasks["MnistExampleGen"]["inputs"]["parameters"]["data_fingerprint"] == {
        "taskOutputParameter": {"producerTask": "DataFingerprint", "outputParameterKey": "fingerprint"}}
    assert tasks["MnistExampleGen"]["dependentTasks"] == ["DataFingerprint"]


def test_the_baseline_is_the_serving_directory_latest_file_imported_once_under_one_id(kubeflow_spec):
    """KFP's launcher downloads every input artifact whole before a task runs
    (backend/src/v2/component/launcher_v2.go, downloadArtifacts): the baseline is the LATEST file,
    a few bytes, not the directory of every version pushed."""
    compiled = yaml.safe_load(open(kubeflow_spec[1]))
    importer = compiled["deploymentSpec"]["executors"]["BaselineImporter_executor"]["importer"]
    assert importer["artifactUri"] == {"constant": "gs://bucket/mnist-tfx/serving/LATEST"}
    assert not importer.get("reimport")  # same artifact ID each run, so an unchanged run stays cached
    evaluator = compiled["root"]["dag"]["tasks"]["Evaluator"]["inputs"]["artifacts"]["baseline_model"]
    assert evaluator == {"taskOutputArtifact": {"producerTask": "BaselineImporter", "outputArtifactKey": "result"}}


def test_every_task_name_is_one_argo_accepts(kubeflow_spec):
    """KFP makes each task key an Argo DAG task name, and `<key>-driver` another
    (backend/src/v2/compiler/argocompiler/dag.go, task); the API server validates the workflow before
    the run exists (apiserver/resource/resource_manager.go, CreateRun). Argo's rule, from
    argo-workflows v4.0.8 workflow/validate/validate.go: workflowFieldNameFmt, workflowFieldMaxLength
    (128), and no leading digit with `depends`, which KFP always sets."""
    tasks = yaml.safe_load(open(kubeflow_spec[1]))["root"]["dag"]["tasks"]
    for name in tasks:
        for argo_name in (name, f"{name}-driver"):
            assert re.fullmatch(r"[a-zA-Z0-9][-a-zA-Z0-9]*", argo_name) and len(argo_name) <= 128, argo_name
            assert not argo_name[0].isdigit(), argo_name


def test_every_container_runs_our_entrypoint_told_its_task_and_outputs(kubeflow_spec):
    compiled = yaml.safe_load(open(kubeflow_spec[1]))
    containers = 0
    for name, task in compiled["root"]["dag"]["tasks"].items():
        component = compiled["components"][task["componentRef"]["name"]]
        container = compiled["deploymentSpec"]["executors"][component["executorLabel"]].get("container")
        if container:
            containers += 1
            assert container["command"] == ["python", "-m", "kubeflow.entrypoint"]
            args = container["args"]
            assert args[args.index(entrypoint.TASK_FLAG) + 1] == name
            assert json.loads(args[args.index(entrypoint.OUTPUTS_SPEC_FLAG) + 1]) == component.get("outputDefinitions", {})
    assert containers == len(TASKS | KUBEFLOW_ONLY) - 1  # all but the importer


def test_a_location_kfp_or_tensorflow_cannot_use_is_refused_in_one_line_before_anything_is_written(tmp_path):
    """Standalone KFP's default root, minio://, through the CLI; the other refusals by storage.check."""
    command = [*KUBEFLOW_COMPILE, "--output", str(tmp_path / "pipeline.yaml")]
    command[command.index("--pipeline-root") + 1] = "minio://mlpipeline/v2/artifacts"
    result = mnist_tfx(*command)
    assert result.returncode == ExitCode.BAD_INPUT, result.stderr
    assert result.stderr.startswith("mnist-tfx kubeflow: --pipeline-root minio://mlpipeline/v2/artifacts: TensorFlow")
    assert len(result.stderr.splitlines()) == 1 and "gs://BUCKET/PATH" in result.stderr
    assert os.listdir(tmp_path) == []


def test_an_image_by_digest_compiles_quietly_and_a_tag_is_warned_about_in_one_line(kubeflow_spec, tmp_path):
    """KFP's cache key holds the image as written, never its digest (backend/src/v2/cacheutils/cache.go,
    GenerateCacheKey; driver/cache.go, getFingerPrint)."""
    digest = "registry.example/mnist-tfx@sha256:" + "ab" * 32
    command = [*KUBEFLOW_COMPILE, "--output", str(tmp_path / "pipeline.yaml")]
    command[command.index("--image") + 1] = digest
    by_digest = mnist_tfx(*command)
    assert by_digest.returncode == ExitCode.OK and by_digest.stderr == "", by_digest.stderr
    assert f"image: {digest}\n" in (tmp_path / "pipeline.yaml").read_text()
    by_tag, _ = kubeflow_spec  # KUBEFLOW_COMPILE gives a tag
    (warning,) = by_tag.stderr.splitlines()
    assert warning.startswith("mnist-tfx kubeflow: warning: --image registry.example/mnist-tfx:7 is a tag")


def test_the_resolver_stays_for_vertex():
    tasks = spec.build_spec(PipelineConfig(data_dir="gs://b/mnist"), "img", "gs://b/root", keep_resolver=True)
    assert set(tasks["root"]["dag"]["tasks"]) == TASKS | {"DataFingerprint", "latest_blessed_model_resolver-model-resolver",
                                                          "latest_blessed_model_resolver-model-blessing-resolver"}


def test_a_json_spec_is_refused(tmp_path):
    with pytest.raises(ValueError, match="must be a .yaml file"):
        spec.write_spec({}, str(tmp_path / "pipeline.json"))
    assert not os.listdir(tmp_path)

