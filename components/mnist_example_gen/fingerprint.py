"""What identifies the data ExampleGen reads: the data fingerprint, one JSON value resolved once per
run (by ExampleGen's driver locally, by the DataFingerprint task on Kubeflow) that names the base
files read, each with its sha256, and the spans read, each with the sha256 of its files' names and
contents. It holds no path, so the same data has the same fingerprint wherever it lies; ExampleGen's
executor reads the data by it, and it is ExampleGen's cache key.

    {"base": {"t10k-images-idx3-ubyte.gz": "8d42…", …},
     "spans": [{"span": 0, "source": "span-0", "fingerprint": "5f1e…"}, …]}
"""
import contextlib
import hashlib
import json
import os

from components import files
from components.common import is_uri
from components.mnist_example_gen import datasets, mnist_data, spans

BY_CONTENT_DIR = "by-content"


def data_fingerprint(data_dir: str, dataset: str, max_spans: int) -> str:
    """The data fingerprint of data_dir (the newest max_spans spans, or all with 0). Files are read
    only when new or changed (files.sha256s); DataError naming a missing or unreadable file."""
    base = [path for split in datasets.SPLIT_SOURCES
            for path in mnist_data.split_files(data_dir, split, datasets.DATASETS[dataset])]
    found = spans.find(data_dir, max_spans)
    return json.dumps({
        "base": {os.path.basename(path): digest for path, digest in files.sha256s(base).items()},
        "spans": [{"span": span.number, "source": span.source, "fingerprint": digest}
                  for span, digest in zip(found, spans.fingerprints(found))],
    }, sort_keys=True)


def spans_read(fingerprint: str) -> list[dict]:
    """The spans a data fingerprint names, oldest first: {"span", "source", "fingerprint"} each."""
    return json.loads(fingerprint)["spans"]


def location_by_content(data_dir: str, fingerprint: str, links_dir: str) -> str:
    """A path to data_dir named by its data fingerprint alone: the link <links_dir>/<sha256 of the
    fingerprint>, made or moved here; the other links there, to earlier contents, are removed.
    ExampleGen's cache key holds its input path, so through this path the same data is the same
    key wherever it lies. data_dir itself for a URI, or if the link cannot be made."""
    if is_uri(data_dir) or is_uri(links_dir):
        return data_dir
    target = os.path.abspath(data_dir)
    name = hashlib.sha256(fingerprint.encode()).hexdigest()
    link = os.path.join(links_dir, name)
    try:
        os.makedirs(links_dir, exist_ok=True)
        if not (os.path.islink(link) and os.readlink(link) == target):
            partial = os.path.join(links_dir, f".{name}.{os.getpid()}")
            os.symlink(target, partial)
            os.replace(partial, link)
        for other in os.listdir(links_dir):
            if other != name:
                with contextlib.suppress(FileNotFoundError):  # removed meanwhile by another run
                    os.unlink(os.path.join(links_dir, other))
    except OSError:
        return data_dir
    return link


def data_dir_at(location: str) -> str:
    """The data dir a location_by_content link leads to now; any other location is itself."""
    if os.path.basename(os.path.dirname(location)) == BY_CONTENT_DIR and os.path.islink(location):
        return os.readlink(location)
    return location
