"""Where the data comes from when no directory is given: the local cache, else a download checked
file by file against the catalogue's sha256 (components/mnist_example_gen/datasets.py)."""
import hashlib
import os
import urllib.error
import urllib.request

from components.common import DataError, is_uri
from components.files import isdir, sha256_of, user_cache_dir, write_bytes
from components.mnist_example_gen.datasets import Dataset


def has_data(data_dir: str, dataset: Dataset) -> bool:
    names = list(dataset.files) + ([dataset.npz_name] if dataset.npz_name else [])
    return any(os.path.exists(os.path.join(data_dir, n)) for n in names)


def default_cache_dir(dataset: Dataset) -> str:
    return os.path.join(user_cache_dir(), dataset.name)


def download(dataset: Dataset, dest_dir: str, base_url: str | None = None, timeout: float = 30) -> None:
    """Downloads the canonical files into dest_dir, each checked against its sha256 before it lands."""
    base_url = base_url or dataset.download_url
    for name, expected in dataset.files.items():
        final = os.path.join(dest_dir, name)
        if os.path.exists(final) and sha256_of(final) == expected:
            continue
        with urllib.request.urlopen(base_url + name, timeout=timeout) as response:
            data = response.read()
        if hashlib.sha256(data).hexdigest() != expected:
            raise DataError(f"{base_url + name}: downloaded file's sha256 differs from the canonical one")
        write_bytes(final, data)


def resolve_data_dir(dataset: Dataset, data_dir: str | None = None, download_missing: bool = True) -> str | None:
    """--data-dir / MNIST_DIR, which must exist, else the local cache, else a checked download into the
    cache; without download_missing, None instead of the download."""
    data_dir = data_dir or os.environ.get("MNIST_DIR")
    if data_dir:
        if not isdir(data_dir):
            raise DataError(f"{data_dir}: data directory does not exist")
        return data_dir if is_uri(data_dir) else os.path.abspath(data_dir)
    cache = default_cache_dir(dataset)
    if has_data(cache, dataset):
        return cache
    if not download_missing:
        return None
    try:
        download(dataset, cache)
    except (OSError, urllib.error.URLError) as e:
        raise DataError(
            f"{cache}: no {dataset.name} data and the download from {dataset.download_url} failed ({e}); "
            f"put the four canonical IDX .gz files in a directory and pass --data-dir DIR (or set MNIST_DIR)"
        ) from None
    return cache
