"""Runs the DAG locally: BeamDagRunner (default) or LocalDagRunner, ML Metadata in SQLite."""
import dataclasses
import os

from tfx.orchestration.local.local_dag_runner import LocalDagRunner
from tfx.orchestration.beam.beam_dag_runner import BeamDagRunner

from components.mnist_example_gen import mnist_data
from pipeline.config import PipelineConfig
from pipeline.pipeline import create_pipeline

ORCHESTRATORS = {"beam": BeamDagRunner, "local": LocalDagRunner}


def resolve_data(config: PipelineConfig) -> PipelineConfig:
    """The config with an absolute data dir (given, cached or downloaded); raises DataError if none."""
    data_dir = mnist_data.resolve_data_dir(mnist_data.DATASETS[config.dataset], config.data_dir or None)
    return dataclasses.replace(config, data_dir=data_dir, output_dir=os.path.abspath(config.output_dir))


def run(config: PipelineConfig) -> None:
    ORCHESTRATORS[config.runner]().run(create_pipeline(resolve_data(config)))
