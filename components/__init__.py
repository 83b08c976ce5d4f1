"""Custom TFX components, one package each:
MnistExampleGen: MNIST-format files and spans of new data -> tf.Examples in train and eval splits.
DataFingerprint: on Kubeflow, the data's fingerprint, MnistExampleGen's cache key.
ImportSchemaGen: TFX's, with the schema's sha256 in its cache key.
StrictExampleValidator: TFX's ExampleValidator, failing the run on any anomaly.
BaselineEvaluator: TFX's Evaluator against the serving directory's latest version (on Kubeflow).
TFLitePusher: converts a blessed model to TFLite, checks it in LiteRT, publishes it in serving_dir.
"""
import os

# TFT 1.21 and TFMA 0.52 need Keras 2 (tf-keras); tf.keras reads this on first use.
os.environ.setdefault("TF_USE_LEGACY_KERAS", "1")
