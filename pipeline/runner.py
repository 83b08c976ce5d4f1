"""Runs the DAG locally: BeamDagRunner (default) or LocalDagRunner, ML Metadata in SQLite."""
import contextlib
import dataclasses
import datetime
import fcntl
import gc
import os

from tfx.orchestration.local.local_dag_runner import LocalDagRunner
from tfx.orchestration.beam.beam_dag_runner import BeamDagRunner
from tfx.orchestration.metadata import sqlite_metadata_connection_config

from components.mnist_example_gen import datasets, download
from pipeline.config import PipelineConfig
from pipeline.pipeline import create_pipeline

ORCHESTRATORS = {"beam": BeamDagRunner, "local": LocalDagRunner}


def resolve_data(config: PipelineConfig) -> PipelineConfig:
    """The config with an absolute data dir (given, cached or downloaded); raises DataError if none."""
    data_dir = download.resolve_data_dir(datasets.DATASETS[config.dataset], config.data_dir or None)
    return dataclasses.replace(config, data_dir=data_dir, output_dir=os.path.abspath(config.output_dir))


class OutputDirBusy(RuntimeError):
    """Another run is using the same output directory (its ML Metadata store and serving/)."""


@contextlib.contextmanager
def exclusive(output_dir: str):
    """Holds <output_dir>/.lock for the run; the OS releases it even if the process is killed."""
    os.makedirs(output_dir, exist_ok=True)
    with open(os.path.join(output_dir, ".lock"), "a+") as lock:
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            lock.seek(0)
            raise OutputDirBusy(f"{output_dir}: another run holds the lock ({lock.read().strip() or 'unknown'}); "
                                f"wait for it or use another --output-dir") from None
        lock.seek(0)
        lock.truncate()
        lock.write(f"pid {os.getpid()} since {datetime.datetime.now().isoformat(timespec='seconds')}\n")
        lock.flush()
        yield


def run(config: PipelineConfig) -> None:
    config = resolve_data(config)
    dag = create_pipeline(config, pipeline_root=config.pipeline_root, serving_dir=config.serving_dir,
                          metadata_connection_config=sqlite_metadata_connection_config(config.metadata_path))
    # What TF, TFX, TFMA and Beam created on import lives as long as the process: spare the collector rescanning it.
    gc.freeze()
    with exclusive(config.output_dir):
        ORCHESTRATORS[config.runner]().run(dag)
