"""The baseline on Kubeflow: the model the Pusher published last. Open-source KFP cannot run a
Resolver, so an Importer brings in the serving directory's LATEST file (a fixed URI) as a Model
artifact, and this module turns it into the version that file names."""
import os

import tfx
from absl import logging
from tfx.types import artifact, standard_artifacts
from tfx.types.standard_artifact_utils import ARTIFACT_TFX_VERSION_CUSTOM_PROPERTY_KEY

from components.tflite_pusher import serving_layout


def latest_pushed_model(latest_pointer: artifact.Artifact) -> list[artifact.Artifact]:
    """[the Model artifact of the latest published version], or [] before the first push, when
    the Evaluator judges on the accuracy threshold alone (TFX ignores change thresholds then)."""
    serving_dir = os.path.dirname(latest_pointer.uri)
    version = serving_layout.latest_version(serving_dir)
    if version is None:
        logging.info("No model published under %s yet: no baseline", serving_dir)
        return []
    model = standard_artifacts.Model()
    model.mlmd_artifact.CopyFrom(latest_pointer.mlmd_artifact)
    model.uri = os.path.join(serving_dir, version)
    # Read as TFX's current Model layout (<uri>/Format-Serving), which publish writes.
    model.set_string_custom_property(ARTIFACT_TFX_VERSION_CUSTOM_PROPERTY_KEY, tfx.__version__)
    logging.info("Baseline: version %s, the latest published under %s", version, serving_dir)
    return [model]
