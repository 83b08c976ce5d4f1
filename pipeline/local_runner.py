"""Entry file for the TFX CLI's local engine, configured by MNIST_TFX_* variables:

    tfx pipeline create --engine local --pipeline_path pipeline/local_runner.py
    tfx run create --engine local --pipeline_name mnist-tfx
"""
import dataclasses
import os
import sys

# Run as a file, this folder would come first on sys.path and hide the `pipeline` package.
sys.path = [p for p in sys.path if os.path.abspath(p or os.curdir) != os.path.dirname(os.path.abspath(__file__))]

from pipeline import config, runner  # noqa: E402

if __name__ == "__main__":
    runner.run(dataclasses.replace(config.from_env(), runner="local"))
