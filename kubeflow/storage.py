"""Where a Kubeflow run may keep its artifacts, its data and its models: locations that open-source
KFP's backend accepts and that TensorFlow, through which TFX reads and writes every artifact URI
as given, can open. Checked before anything is compiled or uploaded."""
import re

# kubeflow/pipelines backend/src/v2/driver/root_dag.go (RootDAG) -> config/env.go
# (GetStoreSessionInfo): the pipeline root's providers.
ROOT_SCHEMES = ("gs", "s3", "minio")
# component/importer_launcher.go (ImportSpecToMLMDArtifact) -> objectstore/config.go
# (ParseBucketPathToConfig): what an Importer's URI may be; the Importer brings in the serving URI.
IMPORTER_SCHEMES = ("gs", "s3", "minio", "mem")
HOW_TO = "give gs://BUCKET/PATH (docs/kubeflow.md, Storage)"


def scheme(uri: str) -> str:
    """'gs' for gs://b/x; '' for a path."""
    match = re.match(r"^([a-zA-Z][-a-zA-Z0-9+.]*)://", uri)
    return match.group(1).lower() if match else ""


def tensorflow_schemes() -> list[str]:
    """The file systems this TensorFlow opens ('' is the local one): gs, not s3 or minio, as no
    maintained s3 plugin loads with TensorFlow 2.21 (tensorflow-io 0.37.1: undefined symbols)."""
    import tensorflow as tf
    return tf.io.gfile.get_registered_schemes()


def check(pipeline_root: str, data_uri: str, serving_uri: str) -> None:
    """Raises ValueError, one line naming the flag, for a location a run there could not use."""
    opened = tensorflow_schemes()
    for flag, uri, kfp_schemes, kfp_says in (
            ("--pipeline-root", pipeline_root, ROOT_SCHEMES, "KFP writes artifacts only to"),
            ("--serving-uri", serving_uri, IMPORTER_SCHEMES, "KFP imports the baseline only from")):
        if uri and scheme(uri) not in kfp_schemes:
            raise ValueError(f"{flag} {uri}: {kfp_says} {', '.join(s + '://' for s in kfp_schemes)}; {HOW_TO}")
    for flag, uri in (("--pipeline-root", pipeline_root), ("--data-uri", data_uri), ("--serving-uri", serving_uri)):
        if uri and scheme(uri) not in opened:
            raise ValueError(f"{flag} {uri}: TensorFlow, through which TFX reads and writes every artifact, has no "
                             f"{scheme(uri)}:// file system in this image (it opens "
                             f"{', '.join(s + '://' for s in opened if s)} and paths); {HOW_TO}")
