"""What identifies the data ExampleGen reads, for its cache key."""
import glob
import os

from components.common import is_uri
from components.mnist_example_gen.datasets import SPLIT_SOURCES, Dataset


def fingerprint_patterns(data_dir: str, dataset: Dataset) -> dict:
    """Split name -> glob of the files it is read from (Keras' npz holds both splits). A URI is not
    listed, so that compiling for a cluster needs no storage access: remote data is IDX files."""
    if is_uri(data_dir):
        return {split: f"{prefix}-*" for split, (prefix, _) in SPLIT_SOURCES.items()}
    idx_present = any(os.path.basename(p).startswith(("train-", "t10k-"))
                      for p in glob.glob(os.path.join(data_dir, "*")))
    if dataset.npz_name and not idx_present and glob.glob(os.path.join(data_dir, dataset.npz_name)):
        return {split: dataset.npz_name for split in SPLIT_SOURCES}
    return {split: f"{prefix}-*" for split, (prefix, _) in SPLIT_SOURCES.items()}
