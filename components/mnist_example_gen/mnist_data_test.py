import gzip
import os
import shutil

import numpy as np
import pytest

from components.mnist_example_gen import datasets, download, mnist_data
from components.common import DataError
from tests.helpers import write_idx

TRAIN_LABEL_COUNTS = [5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265, 5851, 5949]
TEST_LABEL_COUNTS = [980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009]


def write_split_files(directory, images, labels, prefix="train", compress=True):
    ext = ".gz" if compress else ""
    write_idx(os.path.join(directory, f"{prefix}-images-idx3-ubyte{ext}"), images, mnist_data.IMAGE_MAGIC, compress)
    write_idx(os.path.join(directory, f"{prefix}-labels-idx1-ubyte{ext}"), labels, mnist_data.LABEL_MAGIC, compress)


@pytest.fixture
def copy_of_mnist(mnist_dir, tmp_path):
    for name in os.listdir(mnist_dir):
        shutil.copy(os.path.join(mnist_dir, name), tmp_path / name)
    return tmp_path


def test_reads_the_canonical_files(mnist_dir):
    images, labels = mnist_data.load_split(mnist_dir, "train")
    assert images.shape == (60000, 28, 28) and images.dtype == np.uint8
    assert np.bincount(labels).tolist() == TRAIN_LABEL_COUNTS
    images, labels = mnist_data.load_split(mnist_dir, "eval")
    assert images.shape == (10000, 28, 28)
    assert np.bincount(labels).tolist() == TEST_LABEL_COUNTS


def test_a_uri_is_read_through_tf_io_gfile(copy_of_mnist, mnist_eval):
    """file:// stands in for gs:// and s3://, which the tests do not reach: the same gfile path."""
    uri = f"file://{copy_of_mnist}"
    assert download.resolve_data_dir(datasets.MNIST, uri) == uri
    images, labels = mnist_data.load_split(uri, "eval")
    np.testing.assert_array_equal(images, mnist_eval[0])
    np.testing.assert_array_equal(labels, mnist_eval[1])
    assert mnist_data.split_files(uri, "eval") == (f"{uri}/t10k-images-idx3-ubyte.gz", f"{uri}/t10k-labels-idx1-ubyte.gz")
    (copy_of_mnist / "t10k-labels-idx1-ubyte.gz").write_bytes(b"<html>Not Found</html>")
    with pytest.raises(DataError, match=rf"^{uri}/t10k-labels-idx1-ubyte.gz: an HTML page, expected a gzip"):
        mnist_data.load_split(uri, "eval")
    os.remove(copy_of_mnist / "t10k-labels-idx1-ubyte.gz")
    with pytest.raises(DataError, match=rf"^{uri}/t10k-labels-idx1-ubyte.gz: missing"):
        mnist_data.load_split(uri, "eval")


def test_a_uri_scheme_tensorflow_cannot_read_is_named():
    with pytest.raises(DataError, match=r"^s3://bucket/mnist/t10k-images-idx3-ubyte.gz: File system scheme 's3' not implemented"):
        mnist_data.load_split("s3://bucket/mnist", "eval")


def test_reads_fashion_mnist(fashion_mnist_dir):
    images, labels = mnist_data.load_split(fashion_mnist_dir, "eval", datasets.FASHION_MNIST)
    assert images.shape == (10000, 28, 28)
    assert np.bincount(labels).tolist() == [1000] * 10


def test_mnist_files_are_not_fashion_mnist(mnist_dir):
    with pytest.raises(DataError, match="sha256 differs from the canonical fashion_mnist file"):
        mnist_data.load_split(mnist_dir, "eval", datasets.FASHION_MNIST)


def test_reads_keras_npz_with_the_same_content(mnist_dir, mnist_eval, tmp_path):
    train_images, train_labels = mnist_data.load_split(mnist_dir, "train")
    np.savez(tmp_path / "mnist.npz", x_train=train_images[:100], y_train=train_labels[:100],
             x_test=mnist_eval[0], y_test=mnist_eval[1])
    images, labels = mnist_data.load_split(str(tmp_path), "eval")
    np.testing.assert_array_equal(images, mnist_eval[0])
    np.testing.assert_array_equal(labels, mnist_eval[1])
    assert mnist_data.split_files(str(tmp_path), "train") == (str(tmp_path / "mnist.npz"),)


def test_non_canonical_names_are_read_without_checksum(mnist_train_slice, tmp_path):
    images, labels = mnist_train_slice
    write_split_files(tmp_path, images[:50], labels[:50], compress=False)
    loaded, _ = mnist_data.load_split(str(tmp_path), "train")
    np.testing.assert_array_equal(loaded, images[:50])


@pytest.mark.parametrize("damage, message", [
    (lambda p: p.write_bytes(p.read_bytes()[:5000]), "corrupt or truncated gzip data .*; its sha256 differs"),
    (lambda p: p.write_bytes(b"<!DOCTYPE html><html>Not Found</html>"), "an HTML page, expected a gzip"),
    (lambda p: p.write_bytes(gzip.compress(b"\x00\x00\x08\x01" + bytes(100))), "IDX magic 0x00000801, expected 0x00000803"),
])
@pytest.mark.parametrize("read", [mnist_data.load_split, mnist_data.check_split])
def test_broken_canonical_file_is_named_with_its_problem(copy_of_mnist, damage, message, read):
    path = copy_of_mnist / "t10k-images-idx3-ubyte.gz"
    damage(path)
    with pytest.raises(DataError, match=message) as error:
        read(str(copy_of_mnist), "eval")
    assert str(error.value).startswith(str(path))


@pytest.mark.parametrize("read", [mnist_data.load_split, mnist_data.check_split])
def test_valid_but_altered_canonical_file_fails_its_checksum(copy_of_mnist, mnist_eval, read):
    write_idx(copy_of_mnist / "t10k-labels-idx1-ubyte.gz", (mnist_eval[1] + 1) % 10, mnist_data.LABEL_MAGIC)
    with pytest.raises(DataError, match="t10k-labels-idx1-ubyte.gz: sha256 differs"):
        read(str(copy_of_mnist), "eval")


def test_the_check_of_canonical_files_is_their_checksum(mnist_dir, monkeypatch):
    monkeypatch.setattr(mnist_data, "load_split", None)  # the canonical files are not decoded
    for split in datasets.SPLIT_SOURCES:
        mnist_data.check_split(mnist_dir, split)


@pytest.mark.parametrize("make, message", [
    (lambda i, l: (i, l[:-1]), "99 labels for 100 images"),
    (lambda i, l: (i, np.where(np.arange(100) == 7, 10, l)), "label 10 at index 7"),
    (lambda i, l: (np.zeros((100, 32, 32)), l), "images are 32x32, expected 28x28"),
])
def test_inconsistent_files_are_refused(mnist_train_slice, tmp_path, make, message):
    images, labels = make(mnist_train_slice[0][:100], mnist_train_slice[1][:100])
    write_split_files(tmp_path, images, labels, compress=False)
    for read in (mnist_data.load_split, mnist_data.check_split):
        with pytest.raises(DataError, match=message):
            read(str(tmp_path), "train")


def test_missing_or_empty_inputs_say_what_is_expected(copy_of_mnist, tmp_path):
    os.remove(copy_of_mnist / "train-labels-idx1-ubyte.gz")
    with pytest.raises(DataError, match="train-labels-idx1-ubyte.gz: missing"):
        mnist_data.load_split(str(copy_of_mnist), "train")
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(DataError, match="no mnist data .expected train-images-idx3-ubyte.gz"):
        mnist_data.load_split(str(empty), "train")
    with pytest.raises(DataError, match="does not exist"):
        download.resolve_data_dir(datasets.MNIST, str(tmp_path / "nowhere"))
