"""The data fingerprint: what the data holds, never where it lies."""
import json
import os
import shutil

import numpy as np
import pytest

from components.mnist_example_gen import spans
from components.mnist_example_gen.fingerprint import data_dir_at, data_fingerprint, location_by_content
from tests.helpers import linked_data_dir


@pytest.fixture
def cache_home(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    return tmp_path / "cache"


def one(digit):
    image = np.zeros((28, 28), np.uint8)
    image[6:22, 12:16] = 255
    return image if digit == 1 else image.T


def test_it_changes_with_a_new_span_an_edited_span_and_a_changed_base_file(mnist_dir, tmp_path, cache_home):
    (tmp_path / "data").mkdir()
    data = str(linked_data_dir(mnist_dir, tmp_path / "data"))
    seen = [data_fingerprint(data, "mnist", 0)]
    assert data_fingerprint(data, "mnist", 0) == seen[0]  # same data, same value
    assert sorted(json.loads(seen[0])["base"]) == ["t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz",
                                                   "train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz"]
    spans.add_image(os.path.join(data, "spans", "0"), 1, "one", one(1))
    seen.append(data_fingerprint(data, "mnist", 0))
    spans.add_image(os.path.join(data, "spans", "0"), 7, "seven", one(7))
    seen.append(data_fingerprint(data, "mnist", 0))
    spans.add_image(os.path.join(data, "spans", "1"), 1, "one", one(1))
    seen.append(data_fingerprint(data, "mnist", 0))
    assert [s["source"] for s in json.loads(seen[-1])["spans"]] == ["span-0", "span-1"]
    assert [s["source"] for s in json.loads(data_fingerprint(data, "mnist", 1))["spans"]] == ["span-1"]
    labels = os.path.join(data, "t10k-labels-idx1-ubyte.gz")
    os.remove(labels)  # a link: the shared file stays
    os.symlink(os.path.join(mnist_dir, "train-labels-idx1-ubyte.gz"), labels)
    seen.append(data_fingerprint(data, "mnist", 0))
    assert len(set(seen)) == len(seen)


def test_the_same_files_elsewhere_have_the_same_fingerprint_and_location_and_a_changed_byte_does_not(
        mnist_dir, tmp_path, cache_home):
    (tmp_path / "linked").mkdir()
    linked = linked_data_dir(mnist_dir, tmp_path / "linked")
    spans.add_image(str(linked / "spans" / "0"), 1, "one", one(1))
    copied = tmp_path / "copied"
    shutil.copytree(linked, copied)  # the files themselves, with new modification times
    for path in copied.rglob("*"):
        os.utime(path, ns=(10**9, 10**9))
    fingerprint = data_fingerprint(str(linked), "mnist", 0)
    assert data_fingerprint(str(copied), "mnist", 0) == fingerprint
    links = str(tmp_path / "pipeline_root" / "MnistExampleGen" / "by-content")
    location = location_by_content(str(linked), fingerprint, links)
    assert data_dir_at(location) == str(linked) and data_dir_at(str(linked)) == str(linked)
    assert location_by_content(str(copied), fingerprint, links) == location and data_dir_at(location) == str(copied)

    png = next((copied / "spans" / "0" / "1").iterdir())
    png.write_bytes(png.read_bytes()[:-1] + bytes([png.read_bytes()[-1] ^ 1]))
    changed = data_fingerprint(str(copied), "mnist", 0)
    assert changed != fingerprint and json.loads(changed)["base"] == json.loads(fingerprint)["base"]
    assert location_by_content(str(copied), changed, links) != location
    assert os.listdir(links) == [os.path.basename(location_by_content(str(copied), changed, links))]  # one link


def test_the_location_is_the_data_dir_itself_for_a_uri_or_where_no_link_can_be_made(tmp_path):
    assert location_by_content("gs://bucket/mnist", "{}", str(tmp_path)) == "gs://bucket/mnist"
    (tmp_path / "a-file").write_text("")
    assert location_by_content(str(tmp_path), "{}", str(tmp_path / "a-file" / "by-content")) == str(tmp_path)
