import os
import subprocess
import sys

import pytest

from pipeline import config
from pipeline.config import PipelineConfig


def test_flags_default_to_the_architecture_recipe():
    training = PipelineConfig(arch="mlp").training()
    assert (training["epochs"], training["batch_size"], training["augment"]) == (30, 128, True)
    training = PipelineConfig(arch="resnet50v2", epochs=2, augment="on").training()
    assert (training["epochs"], training["batch_size"], training["augment"]) == (2, 128, True)


def test_environment_variables_are_named_after_the_flags():
    env = {"MNIST_TFX_ARCH": "mlp", "MNIST_TFX_EPOCHS": "3", "MNIST_DIR": "/data", "MNIST_TFX_QUANTIZE": "int8",
           "MNIST_TFX_ACCURACY_THRESHOLD": "0.9"}
    assert config.from_env(env) == PipelineConfig(arch="mlp", epochs=3, data_dir="/data", quantize="int8",
                                                  accuracy_threshold=0.9)
    with pytest.raises(ValueError, match="MNIST_TFX_EPOCHS='three': expected int"):
        config.from_env({"MNIST_TFX_EPOCHS": "three"})


def test_out_of_range_settings_are_named():
    with pytest.raises(ValueError, match=r"epochs=-1 must be >= 0; accuracy_threshold=1.5 must be between 0 and 1"):
        PipelineConfig(epochs=-1, accuracy_threshold=1.5)
    with pytest.raises(ValueError, match="arch='vgg' must be one of mlp, cnn"):
        config.from_env({"MNIST_TFX_ARCH": "vgg"})


def test_beam_args_pass_through_and_a_runner_replaces_the_local_one():
    setup = f"--setup_file={config.SETUP_FILE}"
    assert os.path.isfile(config.SETUP_FILE)
    assert PipelineConfig(beam_args="--direct_num_workers=1 --experiments=use_runner_v2").beam_pipeline_args() == [
        "--runner=FnApiRunner", "--direct_running_mode=in_memory", "--direct_num_workers=1",
        "--experiments=use_runner_v2", setup]
    flink = "--runner=FlinkRunner --flink_master=flink:8081 --environment_type=EXTERNAL"
    assert PipelineConfig(beam_args=flink).beam_pipeline_args() == [*flink.split(), setup]
    assert config.from_env({"MNIST_TFX_BEAM_ARGS": flink}).beam_pipeline_args("/opt/x/setup.py") == [
        *flink.split(), "--setup_file=/opt/x/setup.py"]
    own_package = "--runner=DataflowRunner --extra_package=dist/mnist_tfx.tar.gz"
    assert PipelineConfig(beam_args=own_package).beam_pipeline_args() == own_package.split()


def test_the_options_table_loads_without_tensorflow():
    """The CLI builds its parser from this table; `serve` and `--help` must not wait for TensorFlow."""
    check = "import pipeline.config, sys; print(sorted({'tensorflow', 'ai_edge_litert', 'tfx'} & set(sys.modules)))"
    result = subprocess.run([sys.executable, "-c", check], capture_output=True, text=True, timeout=60,
                            cwd=os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    assert (result.returncode, result.stdout) == (0, "[]\n"), result.stderr[-3000:]
