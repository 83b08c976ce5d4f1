"""Spans of new data on real MNIST test digits: label folders of PNG/JPEG and IDX pairs, local and by URI."""
import gzip
import os
import uuid

import numpy as np
import pytest
import tensorflow as tf
from PIL import Image

from components.common import DataError
from components import files
from components.mnist_example_gen import handwriting, mnist_data, spans
from tests.helpers import write_idx, write_png_span


@pytest.fixture
def digits(mnist_eval):
    return mnist_eval[0][9000:9200], mnist_eval[1][9000:9200]


def test_spans_are_found_in_number_order_and_max_spans_keeps_the_newest(tmp_path, digits):
    for number in (10, 2, 0):
        write_png_span(tmp_path / "spans" / str(number), *[a[:5] for a in digits])
    assert [s.number for s in spans.find(str(tmp_path))] == [0, 2, 10]
    assert [s.source for s in spans.find(str(tmp_path), max_spans=2)] == ["span-2", "span-10"]
    assert spans.find(str(tmp_path / "no-spans-here")) == []
    (tmp_path / "spans" / "latest").mkdir()
    with pytest.raises(DataError, match=r"spans/latest: a span's name must be a non-negative integer$"):
        spans.find(str(tmp_path))
    (tmp_path / "spans" / "latest").rename(tmp_path / "spans" / "010")
    with pytest.raises(DataError, match=r"spans/010: a span's number is written without leading zeros \(10\)$"):
        spans.find(str(tmp_path))


def test_a_source_name_and_a_span_number_map_both_ways():
    assert [spans.source_of(n) for n in (0, 12)] == ["span-0", "span-12"]
    assert [spans.number_of(s) for s in ("span-0", "span-12", "mnist", "fashion_mnist", "span-x")] == [0, 12, None, None, None]


def test_label_folders_are_prepared_like_predict_and_split_by_name(tmp_path, digits):
    images, labels = digits
    write_png_span(tmp_path / "0", images[:100], labels[:100])
    write_png_span(tmp_path / "0", images[100:150], labels[100:150], first=100, suffix=".jpg")
    span = spans.Span(0, str(tmp_path / "0"))
    splits = spans.load(span)
    train, evaluation = splits["train"], splits["eval"]
    assert len(train[1]) + len(evaluation[1]) == 150 and 15 <= len(evaluation[1]) <= 45
    names = spans.file_names(span)
    expected = {name: handwriting.read_image(os.path.join(span.path, name)) for name in names}
    in_eval = [name for name in names if spans.in_eval(name)]
    np.testing.assert_array_equal(evaluation[0], np.stack([expected[name] for name in in_eval]))
    np.testing.assert_array_equal(evaluation[1], [int(name[0]) for name in in_eval])
    border = np.concatenate([train[0][:, 0], train[0][:, -1], train[0][:, :, 0], train[0][:, :, -1]], axis=1)
    assert border.max() == 0 and train[0].max() == 255  # white digits on black, as in MNIST

    write_png_span(tmp_path / "0", images[150:], labels[150:], first=150)  # the span grows
    grown = spans.load(span)
    assert set(map(bytes, evaluation[0])) <= set(map(bytes, grown["eval"][0]))  # an image never changes split


def test_idx_pairs_in_a_span_are_checked_like_base_files(tmp_path, digits):
    images, labels = digits
    span = spans.Span(3, str(tmp_path / "3"))
    os.makedirs(span.path)
    write_idx(tmp_path / "3" / "scans-images-idx3-ubyte.gz", images, mnist_data.IMAGE_MAGIC)
    write_idx(tmp_path / "3" / "scans-labels-idx1-ubyte.gz", labels, mnist_data.LABEL_MAGIC)
    splits = spans.load(span)
    assert sorted(np.concatenate([splits["train"][1], splits["eval"][1]]).tolist()) == sorted(labels.tolist())
    assert 20 <= len(splits["eval"][1]) <= 60

    labels_file = tmp_path / "3" / "scans-labels-idx1-ubyte.gz"
    write_idx(labels_file, np.where(np.arange(200) == 7, 10, labels), mnist_data.LABEL_MAGIC)
    with pytest.raises(DataError, match=rf"^{labels_file}: label 10 at index 7, labels must be 0-9$"):
        spans.load(span)
    labels_file.write_bytes(gzip.compress(b"\x00\x00\x08\x01")[:10])
    with pytest.raises(DataError, match=rf"^{labels_file}: corrupt or truncated gzip data"):
        spans.load(span)
    labels_file.unlink()
    with pytest.raises(DataError, match=rf"^{labels_file}: missing \(the labels of scans-images-idx3-ubyte.gz\)$"):
        spans.load(span)


@pytest.mark.parametrize("make, message", [
    (lambda d: (d / "4").mkdir(exist_ok=True) or (d / "4" / "x.png").write_text("not a picture"),
     r"4/x.png: not an image PIL can read \(no PNG or JPEG data\)$"),
    (lambda d: (d / "notes.txt").write_text("hello"), r"notes.txt: not part of the span layout"),
    (lambda d: (d / "4").mkdir(exist_ok=True) or (d / "4" / "x.gif").write_text("GIF89a"),
     r"4/x.gif: not a PNG or JPEG \(by its name\) in a label folder$"),
    (lambda d: write_idx(d / "a-labels-idx1-ubyte.gz", np.zeros(3, np.uint8), mnist_data.LABEL_MAGIC),
     r"a-labels-idx1-ubyte.gz: labels without their images file"),
], ids=["bad_png", "stray_file", "gif", "labels_alone"])
def test_a_bad_file_in_a_span_is_named(tmp_path, digits, make, message):
    write_png_span(tmp_path / "1", *[a[:10] for a in digits])
    make(tmp_path / "1")
    with pytest.raises(DataError, match=message):
        spans.load(spans.Span(1, str(tmp_path / "1")))


def test_an_empty_span_or_a_file_in_its_place_is_named(tmp_path):
    (tmp_path / "spans" / "5").mkdir(parents=True)
    (tmp_path / "spans" / "6").write_text("a file where a span belongs")
    empty, not_a_directory = spans.find(str(tmp_path))
    with pytest.raises(DataError, match=rf"^{tmp_path}/spans/5: holds no images"):
        spans.load(empty)
    with pytest.raises(DataError, match=rf"^{tmp_path}/spans/6: cannot list \(Not a directory\)$"):
        spans.load(not_a_directory)


def test_a_span_reads_the_same_through_a_uri(tmp_path, digits):
    """file:// goes through tf.io.gfile, as gs:// would (which the tests do not reach)."""
    write_png_span(tmp_path / "spans" / "0", *[a[:40] for a in digits])
    local, = spans.find(str(tmp_path))
    remote, = spans.find(f"file://{tmp_path}")
    assert remote.path == f"file://{tmp_path}/spans/0"
    for split in ("train", "eval"):
        for a, b in zip(spans.load(local)[split], spans.load(remote)[split]):
            np.testing.assert_array_equal(a, b)
    assert spans.fingerprints([local]) == spans.fingerprints([remote])


def test_the_fingerprint_follows_names_and_contents(tmp_path, digits):
    write_png_span(tmp_path / "0", *[a[:10] for a in digits])
    span = spans.Span(0, str(tmp_path / "0"))
    before = spans.fingerprints([span])
    assert spans.fingerprints([span]) == before
    name = spans.file_names(span)[0]
    os.rename(tmp_path / "0" / name, tmp_path / "0" / name.replace("digit", "moved"))
    assert spans.fingerprints([span]) != before


def test_add_image_on_an_object_store_writes_one_whole_object_under_its_final_name(digits):
    """ram://, TensorFlow's in-memory file system, stands in for gs://. It can rename, and it shows a
    file from its first write rather than on close, so it cannot show that an upload is atomic. It
    shows what the code controls: the image lands whole under its final name with nothing beside it,
    no temporary object (on an object store a rename is a copy and a delete), and a write that fails
    leaves nothing."""
    images, labels = digits
    data = f"ram://spans-test-{uuid.uuid4().hex}"
    path = spans.add_image(os.path.join(data, "spans", "0"), int(labels[0]), "drawn", images[0])
    assert path == f"{data}/spans/0/{labels[0]}/drawn.png"
    (span,) = spans.find(data)
    assert files.listdir(span.path) == [str(labels[0])]
    assert files.listdir(os.path.join(span.path, str(labels[0]))) == ["drawn.png"]
    (split,) = [split for split in spans.load(span).values() if len(split[1])]
    np.testing.assert_array_equal(split[0], [handwriting.to_mnist(Image.fromarray(images[0]))])
    assert split[1].tolist() == [labels[0]]

    folder = os.path.join(data, "spans", "1", "5")
    tf.io.gfile.makedirs(os.path.join(folder, "taken.png"))  # a directory where the image would go
    with pytest.raises(OSError, match=rf"^{folder}/taken.png: cannot write \(.*is a directory"):
        spans.add_image(os.path.join(data, "spans", "1"), 5, "taken", images[1])
    assert files.listdir(folder) == ["taken.png"] and not files.listdir(os.path.join(folder, "taken.png"))


def test_check_decodes_a_span_once_per_content_and_checks_the_layout_every_time(tmp_path, digits, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    write_png_span(tmp_path / "data" / "spans" / "0", *[a[:10] for a in digits])
    write_png_span(tmp_path / "data" / "spans" / "1", *[a[10:20] for a in digits])
    decoded, load = [], spans.load
    monkeypatch.setattr(spans, "load", lambda span: decoded.append(span.number) or load(span))
    spans.check(spans.find(str(tmp_path / "data")))
    spans.check(spans.find(str(tmp_path / "data")))
    assert decoded == [0, 1]
    write_png_span(tmp_path / "data" / "spans" / "1", *[a[20:21] for a in digits], first=20)  # span 1 grows
    spans.check(spans.find(str(tmp_path / "data")))
    assert decoded == [0, 1, 1]
    (tmp_path / "data" / "spans" / "0" / "notes.txt").write_text("hello")
    with pytest.raises(DataError, match=r"spans/0/notes.txt: not part of the span layout"):
        spans.check(spans.find(str(tmp_path / "data")))
    (tmp_path / "data" / "spans" / "0" / "notes.txt").unlink()
    bad = tmp_path / "data" / "spans" / "1" / "3" / "drawn.png"
    bad.parent.mkdir(exist_ok=True)
    bad.write_text("not a picture")
    with pytest.raises(DataError, match=r"spans/1/3/drawn.png: not an image PIL can read"):
        spans.check(spans.find(str(tmp_path / "data")))
    with pytest.raises(DataError, match=r"spans/1/3/drawn.png: not an image PIL can read"):
        spans.check(spans.find(str(tmp_path / "data")))  # a span that failed is read again
