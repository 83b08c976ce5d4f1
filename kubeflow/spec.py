"""Compiles the DAG for Kubeflow Pipelines v2 with KubeflowV2DagRunner into a PipelineSpec YAML.

Transform and Trainer name their code by module path (`models.preprocessing.preprocessing_fn`,
`models.trainer.run_fn`), which the image carries, so compiling needs no storage access.
"""
import json
import os
import tempfile

import yaml
from tfx.orchestration.kubeflow.v2 import kubeflow_v2_dag_runner

from components.tflite_pusher import serving_layout
from kubeflow import entrypoint
from pipeline.config import PipelineConfig
from pipeline.pipeline import create_pipeline

# Where kubeflow/Dockerfile installs this project inside the image.
IMAGE_SOURCE_DIR = "/opt/mnist-tfx"
DATA_FINGERPRINT_TASK = "DataFingerprint"
TFX_ENTRYPOINT = ["python", "-m", "tfx.orchestration.kubeflow.v2.container.kubeflow_v2_run_executor"]
ENTRYPOINT = ["python", "-m", "kubeflow.entrypoint"]


def build_spec(config: PipelineConfig, image: str, pipeline_root: str, serving_uri: str = "",
               keep_resolver: bool = False, source_dir: str = IMAGE_SOURCE_DIR) -> dict:
    """The PipelineSpec as a dict. config.data_dir is read by the ExampleGen pod, so it names a
    location the cluster reaches (gs://, a mounted volume). source_dir: where the image holds this
    project.

    The open-source KFP backend cannot run a TFX Resolver, so by default the baseline is the
    serving directory, imported (see pipeline.create_pipeline); keep_resolver=True is for Vertex AI
    Pipelines.
    """
    pipeline = create_pipeline(
        config, pipeline_root=pipeline_root, serving_dir=serving_uri or serving_layout.serving_dir_in(pipeline_root),
        schema_file=os.path.join(source_dir, "pipeline", "schema", "schema.pbtxt"),
        on_kubeflow=True, keep_resolver=keep_resolver, setup_file=os.path.join(source_dir, "setup.py"))
    # Schema 2.1: open-source KFP's driver resolves only `runtimeValue.constant`, and only in 2.1 does TFX
    # pass the inputs spec from which its entrypoint reads the execution properties.
    runner = kubeflow_v2_dag_runner.KubeflowV2DagRunner(
        config=kubeflow_v2_dag_runner.KubeflowV2DagRunnerConfig(default_image=image, use_pipeline_spec_2_1=True))
    spec = runner.run(pipeline, write_out=False)["pipelineSpec"]
    tasks = spec["root"]["dag"]["tasks"]
    # The fingerprint must be taken every run; the tasks after it are cached on its value.
    tasks[DATA_FINGERPRINT_TASK]["cachingOptions"] = {}
    # TFX names a parameter's producer `<id>_task`, but the task is `<id>`, the name KFP's driver
    # looks up (backend/src/v2/driver/resolve.go, resolveUpstreamParameters).
    for task in tasks.values():
        for parameter in task.get("inputs", {}).get("parameters", {}).values():
            producer = parameter.get("taskOutputParameter", {})
            if producer.get("producerTask", "").removesuffix("_task") in tasks:
                producer["producerTask"] = producer["producerTask"].removesuffix("_task")
    use_our_entrypoint(spec)
    spec["defaultPipelineRoot"] = pipeline_root
    return spec


def use_our_entrypoint(spec: dict) -> None:
    """Every container runs kubeflow/entrypoint.py, told its task's name and the outputs its
    component defines, in place of TFX's entrypoint, which cannot read what KFP's driver sends."""
    tasks = spec["root"]["dag"]["tasks"]
    for name, task in tasks.items():
        component = spec["components"][task["componentRef"]["name"]]
        container = spec["deploymentSpec"]["executors"][component["executorLabel"]].get("container")
        if container is None:
            continue
        if container["command"] != TFX_ENTRYPOINT:
            raise ValueError(f"task {name}: unexpected command {container['command']}")
        container["command"] = ENTRYPOINT
        outputs_spec = json.dumps(component.get("outputDefinitions", {}), sort_keys=True)
        container["args"] = [entrypoint.TASK_FLAG, name, entrypoint.OUTPUTS_SPEC_FLAG, outputs_spec,
                             *container["args"]]


def write_spec(spec: dict, output_path: str) -> None:
    """Writes the YAML that kfp's client and UI take, atomically."""
    if not output_path.endswith((".yaml", ".yml")):
        raise ValueError(f"{output_path}: the spec must be a .yaml file (kfp's client does not take .json)")
    with tempfile.NamedTemporaryFile("w", dir=os.path.dirname(os.path.abspath(output_path)),
                                     prefix=".pipeline-", suffix=".yaml", delete=False) as f:
        f.write(f"# PIPELINE DEFINITION\n# Name: {spec['pipelineInfo']['name']}\n")
        yaml.safe_dump(spec, f, sort_keys=True)
    os.replace(f.name, output_path)
