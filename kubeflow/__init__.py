"""Kubeflow Pipelines: compiling this DAG for KFP v2 (spec.py), starting and scheduling runs through
kfp's client (scheduling.py), and the `mnist-tfx kubeflow` commands (cli.py)."""
