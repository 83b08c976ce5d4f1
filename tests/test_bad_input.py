"""Bad data given as --data-dir: exit 2, one line naming the file and the problem, before any
component runs (no ML Metadata written), and the serving directory untouched."""
import gzip
import os
import re
import shutil
import subprocess

import numpy as np
import pytest

from components.tflite_pusher import publish
from pipeline.config import PipelineConfig
from pipeline.exit_codes import ExitCode
from tests.helpers import BIN_DIR, SLICE_ARGS, mnist_tfx, require, snapshot, write_idx, write_png_span

IMAGES, LABELS = "t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz"


def truncated(path):
    path.write_bytes(path.read_bytes()[:100_000])


def html_page(path):
    path.write_bytes(b"<!DOCTYPE html>\n<html><body>404 Not Found</body></html>\n")


def wrong_magic(path):
    path.write_bytes(gzip.compress(b"\x00\x00\x08\x02" + gzip.decompress(path.read_bytes())[4:]))


def fewer_labels(path):
    write_idx(path, np.zeros(9999, np.uint8), 0x801)


def label_ten(path):
    write_idx(path, np.full(10000, 10, np.uint8), 0x801)


def images_32x32(path):
    write_idx(path, np.zeros((10000, 32, 32), np.uint8), 0x803)


def unreadable(path):  # root reads any file, so a directory under the name stands for it
    path.unlink()
    path.mkdir()


CASES = [
    (IMAGES, truncated, "corrupt or truncated gzip data .*; its sha256 differs from the canonical mnist file"),
    (LABELS, html_page, "an HTML page, expected a gzip-compressed IDX file; its sha256 differs"),
    (IMAGES, wrong_magic, "IDX magic 0x00000802, expected 0x00000803; its sha256 differs"),
    (LABELS, fewer_labels, "sha256 differs from the canonical mnist file"),
    (LABELS, label_ten, "sha256 differs from the canonical mnist file"),
    (IMAGES, images_32x32, "sha256 differs from the canonical mnist file"),
    (LABELS, os.unlink, "missing \\(expected train-images-idx3-ubyte.gz"),
    (IMAGES, unreadable, "cannot read \\(Is a directory\\)"),
]


@pytest.fixture
def served_output_dir(tmp_path):
    """An output dir with a model already published, which bad data must not touch."""
    output_dir = tmp_path / "out"
    publish.publish(PipelineConfig(output_dir=str(output_dir)).serving_dir, b"yesterday's model", ["0"], {"version_note": "in service"})
    return output_dir


@pytest.mark.parametrize("name, damage, message", CASES, ids=[c[1].__name__ for c in CASES])
def test_broken_file_exits_2_naming_it(mnist_dir, tmp_path, served_output_dir, name, damage, message):
    data = tmp_path / "data"
    shutil.copytree(mnist_dir, data)
    damage(data / name)
    before = snapshot(str(served_output_dir))
    result = mnist_tfx("run", "--data-dir", str(data), "--output-dir", str(served_output_dir), *SLICE_ARGS)
    assert result.returncode == ExitCode.BAD_INPUT
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1
    assert lines[0].startswith(f"mnist-tfx: {data / name}: ")
    assert re.search(message, lines[0]), lines[0]
    assert snapshot(str(served_output_dir)) == before  # no metadata.sqlite, no new version


SPAN_IMAGES, SPAN_LABELS = "spans/4/scans-images-idx3-ubyte.gz", "spans/4/scans-labels-idx1-ubyte.gz"
SPAN_CASES = [
    (SPAN_IMAGES, truncated, "corrupt or truncated gzip data"),
    (SPAN_LABELS, html_page, "an HTML page, expected a gzip-compressed IDX file"),
    (SPAN_IMAGES, wrong_magic, "IDX magic 0x00000802, expected 0x00000803"),
    (SPAN_LABELS, fewer_labels, "9999 labels for 10000 images in "),
    (SPAN_LABELS, label_ten, "label 10 at index 0, labels must be 0-9"),
    (SPAN_IMAGES, images_32x32, "images are 32x32, expected 28x28"),
    (SPAN_LABELS, os.unlink, "missing \\(the labels of scans-images-idx3-ubyte.gz\\)"),
    (SPAN_IMAGES, unreadable, "cannot read \\(Is a directory\\)"),
    ("spans/4/7/digit-0001.png", html_page, "not an image PIL can read \\(no PNG or JPEG data\\)"),
]


@pytest.mark.parametrize("name, damage, message", SPAN_CASES, ids=[c[1].__name__ for c in SPAN_CASES])
def test_broken_file_in_a_span_exits_2_naming_it(mnist_dir, mnist_eval, tmp_path, served_output_dir, name, damage,
                                                  message):
    """The same one line as for a base file, naming the span's file, before any component runs."""
    data = tmp_path / "data"
    data.mkdir()
    for base_file in os.listdir(mnist_dir):
        os.symlink(os.path.join(mnist_dir, base_file), data / base_file)
    span = data / "spans" / "4"
    span.mkdir(parents=True)
    write_idx(data / SPAN_IMAGES, mnist_eval[0], 0x803)
    write_idx(data / SPAN_LABELS, mnist_eval[1], 0x801)
    write_png_span(span, mnist_eval[0][:1], np.array([7]), first=1)
    damage(data / name)
    before = snapshot(str(served_output_dir))
    result = mnist_tfx("run", "--data-dir", str(data), "--output-dir", str(served_output_dir), *SLICE_ARGS)
    assert result.returncode == ExitCode.BAD_INPUT, result.stderr[-3000:]
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"mnist-tfx: {data / name}: "), lines
    assert re.search(message, lines[0]), lines[0]
    assert snapshot(str(served_output_dir)) == before


def test_non_canonical_files_with_inconsistent_content_are_named(mnist_train_slice, tmp_path, served_output_dir):
    """Under non-canonical names there is no checksum, so the content checks speak."""
    images, labels = mnist_train_slice
    for prefix in ("train", "t10k"):
        write_idx(tmp_path / f"{prefix}-images.idx3-ubyte.gz", images[:100], 0x803)
        write_idx(tmp_path / f"{prefix}-labels.idx1-ubyte.gz", np.where(np.arange(100) == 4, 10, labels[:100]), 0x801)
    result = mnist_tfx("run", "--data-dir", str(tmp_path), "--output-dir", str(served_output_dir), *SLICE_ARGS)
    assert result.returncode == ExitCode.BAD_INPUT
    assert result.stderr.strip() == (f"mnist-tfx: {tmp_path / 'train-labels.idx1-ubyte.gz'}: label 10 at index 4, "
                                     "labels must be 0-9")


def test_output_dir_problems_exit_2_before_any_work(mnist_dir, tmp_path):
    result = mnist_tfx("run", "--data-dir", mnist_dir, "--output-dir", str(tmp_path / "missing" / "out"))
    assert result.returncode == ExitCode.BAD_INPUT
    assert result.stderr.strip() == f"mnist-tfx: {tmp_path / 'missing' / 'out'}: parent directory " \
                                    f"{tmp_path / 'missing'} does not exist"
    assert not (tmp_path / "missing").exists()


@pytest.mark.parametrize("output_name", ["out", ""], ids=["parent_read_only", "output_dir_read_only"])
def test_read_only_output_dir_exits_2_before_any_work(mnist_dir, tmp_path, output_name):
    """On a read-only file system, which even root cannot write: a tmpfs mounted read-only in a
    private mount namespace."""
    mount_point = tmp_path / "read_only"
    mount_point.mkdir()
    output_dir = str(mount_point / output_name)  # "" names the mount point itself
    command = (f"mount -t tmpfs -o ro tmpfs {mount_point} && exec {BIN_DIR}/mnist-tfx run "
               f"--data-dir {mnist_dir} --output-dir {output_dir}")
    unshare = require("unshare", "it comes with util-linux: `apt-get install util-linux`")
    result = subprocess.run([unshare, "--map-root-user", "--mount", "sh", "-c", command], capture_output=True,
                            text=True, timeout=300, env=os.environ)
    assert result.returncode == ExitCode.BAD_INPUT, result.stderr[-3000:]
    assert result.stderr.strip() == f"mnist-tfx: {output_dir}: cannot write to {mount_point} (Read-only file system)"
