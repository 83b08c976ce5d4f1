"""Entry file for the TFX CLI's local engine, configured by MNIST_TFX_* variables:

    tfx pipeline create --engine local --pipeline_path local_runner.py
    tfx run create --engine local --pipeline_name mnist-tfx
"""
import dataclasses

from pipeline import config, runner

if __name__ == "__main__":
    runner.run(dataclasses.replace(config.from_env(), runner="local"))
