"""The mnist-tfx pipeline: configuration, DAG wiring, runners and the `mnist-tfx` CLI."""
import os

# TFT 1.21 and TFMA 0.52 need Keras 2 (tf-keras); tf.keras reads this on first use.
os.environ.setdefault("TF_USE_LEGACY_KERAS", "1")
