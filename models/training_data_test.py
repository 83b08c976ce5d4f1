import numpy as np
import pytest

from models import training_data


@pytest.fixture
def examples(mnist_train_slice):
    images = mnist_train_slice[0][:1000].reshape(-1, 784).astype(np.float32) / 255
    return images, np.arange(1000, dtype=np.int64)  # the label names the image, to follow it


def batches(images, labels, size):
    return [(images[i:i + size], labels[i:i + size]) for i in range(0, len(labels), size)]


def test_canonical_order_is_the_same_whatever_order_the_examples_came_in_and_wherever_they_are_held(
        examples, tmp_path):
    images, labels = examples
    shuffled = np.random.default_rng(0).permutation(len(labels))
    in_memory = training_data.canonical(batches(images, labels, 300), 1e9, str(tmp_path))
    again = training_data.canonical(batches(images[shuffled], labels[shuffled], 128), 1e9, str(tmp_path))
    spilled = training_data.canonical(batches(images[shuffled], labels[shuffled], 128), 500_000, str(tmp_path))
    assert isinstance(in_memory, training_data.InMemory) and isinstance(spilled, training_data.OnDisk)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["canonical"]  # the buckets are gone once sorted
    for data in (again, spilled):
        assert data.count == 1000
        for got, expected in zip(data.read(0, 1000), in_memory.read(0, 1000)):
            np.testing.assert_array_equal(got, expected)
    assert sorted(in_memory.labels) == list(range(1000)) and not np.array_equal(in_memory.labels, labels)
    np.testing.assert_array_equal(in_memory.images, images[in_memory.labels])
    np.testing.assert_array_equal(spilled.read(200, 203)[1], in_memory.labels[200:203])


def test_each_epoch_visits_every_example_once_in_a_new_order_the_same_from_memory_or_disk(
        examples, tmp_path, monkeypatch):
    monkeypatch.setattr(training_data, "SHARD_EXAMPLES", 128)  # several shards, and chunks across them
    images, labels = examples
    in_memory = training_data.canonical(batches(images, labels, 256), 1e9, str(tmp_path))
    on_disk = training_data.canonical(batches(images, labels, 256), 0, str(tmp_path))
    orders = []
    for epoch in range(2):
        chunks = list(training_data.epoch_chunks(in_memory, 100, 1000, 96, seed=7, epoch=epoch))
        assert [len(y) for _, y in chunks] == [96] * 9 + [900 - 9 * 96]
        order = np.concatenate([y for _, y in chunks])
        assert sorted(order) == sorted(in_memory.labels[100:])  # the validation slice [0, 100) is never trained on
        np.testing.assert_array_equal(np.concatenate([x for x, _ in chunks]), images[order])
        from_disk = list(training_data.epoch_chunks(on_disk, 100, 1000, 96, seed=7, epoch=epoch))
        np.testing.assert_array_equal(np.concatenate([y for _, y in from_disk]), order)
        orders.append(order)
    assert (orders[0] != orders[1]).mean() > 0.9
    other_seed = np.concatenate([y for _, y in training_data.epoch_chunks(in_memory, 100, 1000, 96, seed=8, epoch=0)])
    assert (orders[0] != other_seed).mean() > 0.9
