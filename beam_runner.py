"""Entry file for the TFX CLI and `python beam_runner.py`, configured by MNIST_TFX_* variables:

    tfx pipeline create --engine beam --pipeline_path beam_runner.py
    tfx run create --engine beam --pipeline_name mnist-tfx
"""
import dataclasses

from pipeline import config, runner

if __name__ == "__main__":
    runner.run(dataclasses.replace(config.from_env(), runner="beam"))
