"""What MnistExampleGen's driver fingerprints on a local run, computed as a task of its own: the base
files' names, sizes and modification times (TFX's own split fingerprint) and each span's contents."""
from tfx.components.example_gen import utils
from tfx.proto import example_gen_pb2

from components.mnist_example_gen import datasets, fingerprint, spans


def data_fingerprint(data_dir: str, dataset: str, max_spans: int) -> str:
    patterns = fingerprint.fingerprint_patterns(data_dir, datasets.DATASETS[dataset])
    splits = [example_gen_pb2.Input.Split(name=name, pattern=pattern) for name, pattern in patterns.items()]
    base, _, _ = utils.calculate_splits_fingerprint_span_and_version(data_dir, splits)
    return base + spans.fingerprint_lines(spans.find(data_dir, max_spans))
