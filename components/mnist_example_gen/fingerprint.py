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
import time

from components import files
from components.common import is_uri
from components.mnist_example_gen import datasets, mnist_data, spans

BY_CONTENT_DIR = "by-content"
UNUSED_LINK_SECONDS = 30 * 24 * 3600


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


def location_by_content(data_dir: str, fingerprint: str) -> str:
    """A path to data_dir named by its data fingerprint alone: a link <user cache dir>/by-content/<sha256>
    to it, made or moved here. ExampleGen's cache key holds its input path, so through this path the
    same data is the same key wherever it lies. data_dir itself for a URI, or if the link cannot be made."""
    if is_uri(data_dir):
        return data_dir
    target = os.path.abspath(data_dir)
    links = os.path.join(files.user_cache_dir(), BY_CONTENT_DIR)
    name = hashlib.sha256(fingerprint.encode()).hexdigest()
    link = os.path.join(links, name)
    try:
        os.makedirs(links, exist_ok=True)
        for other in os.listdir(links):  # links to nothing, or unused for long: a run makes its own again
            path = os.path.join(links, other)
            with contextlib.suppress(FileNotFoundError):  # another run's removal
                if not os.path.exists(path) or time.time() - os.lstat(path).st_mtime > UNUSED_LINK_SECONDS:
                    os.unlink(path)
        if os.path.islink(link) and os.readlink(link) == target:
            os.utime(link, follow_symlinks=False)  # marks it used
        else:
            partial = os.path.join(links, f".{name}.{os.getpid()}")
            os.symlink(target, partial)
            os.replace(partial, link)
    except OSError:
        return data_dir
    return link


def data_dir_at(location: str) -> str:
    """The data dir a location_by_content link leads to now; any other location is itself."""
    if os.path.basename(os.path.dirname(location)) == BY_CONTENT_DIR and os.path.islink(location):
        return os.readlink(location)
    return location
