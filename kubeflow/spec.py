"""Compiles the DAG for Kubeflow Pipelines v2 with KubeflowV2DagRunner into a PipelineSpec YAML.

Transform and Trainer name their code by module path (`models.preprocessing.preprocessing_fn`,
`models.trainer.run_fn`), which the image carries, so compiling needs no storage access.
"""
import os
import tempfile

import yaml
from tfx.orchestration.kubeflow.v2 import kubeflow_v2_dag_runner

from pipeline.config import PipelineConfig
from pipeline.pipeline import create_pipeline

# Where kubeflow/Dockerfile installs this project inside the image.
IMAGE_SOURCE_DIR = "/opt/mnist-tfx"
EXAMPLE_GEN_TASK = "MnistExampleGen"


def build_spec(config: PipelineConfig, image: str, pipeline_root: str, serving_uri: str = "",
               keep_resolver: bool = False) -> dict:
    """The PipelineSpec as a dict. config.data_dir is read by the ExampleGen pod, so it names a
    location the cluster reaches (gs://, a mounted volume).

    The open-source KFP backend cannot run a TFX Resolver, so by default the spec has none and the
    Evaluator gates on the accuracy threshold alone; keep_resolver=True is for Vertex AI Pipelines.
    """
    pipeline = create_pipeline(
        config, pipeline_root=pipeline_root, serving_dir=serving_uri or os.path.join(pipeline_root, "serving"),
        schema_file=os.path.join(IMAGE_SOURCE_DIR, "pipeline", "schema", "schema.pbtxt"),
        with_baseline=keep_resolver, setup_file=os.path.join(IMAGE_SOURCE_DIR, "setup.py"))
    # Schema 2.1: open-source KFP's driver resolves only `runtimeValue.constant`, and only in 2.1 does TFX
    # pass the inputs spec from which its entrypoint reads the execution properties.
    runner = kubeflow_v2_dag_runner.KubeflowV2DagRunner(
        config=kubeflow_v2_dag_runner.KubeflowV2DagRunnerConfig(default_image=image, use_pipeline_spec_2_1=True))
    spec = runner.run(pipeline, write_out=False)["pipelineSpec"]
    # KFP's cache key sees the data URI, not the files behind it (the local runs' FileBasedDriver
    # fingerprints them), so a scheduled run must read the data again; every task downstream then
    # gets new inputs and runs.
    spec["root"]["dag"]["tasks"][EXAMPLE_GEN_TASK]["cachingOptions"] = {}
    spec["defaultPipelineRoot"] = pipeline_root
    return spec


def write_spec(spec: dict, output_path: str) -> None:
    """Writes the YAML that kfp's client and UI take, atomically."""
    if not output_path.endswith((".yaml", ".yml")):
        raise ValueError(f"{output_path}: the spec must be a .yaml file (kfp's client does not take .json)")
    with tempfile.NamedTemporaryFile("w", dir=os.path.dirname(os.path.abspath(output_path)),
                                     prefix=".pipeline-", suffix=".yaml", delete=False) as f:
        f.write(f"# PIPELINE DEFINITION\n# Name: {spec['pipelineInfo']['name']}\n")
        yaml.safe_dump(spec, f, sort_keys=True)
    os.replace(f.name, output_path)
