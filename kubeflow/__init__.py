"""Kubeflow Pipelines support: compiling this DAG for KFP v2 and scheduled retraining (planned;
the local Beam and LocalDagRunner paths in `pipeline/` are what runs today)."""
