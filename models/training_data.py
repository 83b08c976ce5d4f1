"""The training split in canonical order, and each epoch's order over it: the same examples in the
same order whether the split is held in memory or, when it exceeds the memory limit, sorted on local
disk and read back a shard at a time.

- Canonical order: sorted by a hash of each example's content, so the same data gives the same model
  in whatever order ExampleGen wrote it. A split over the limit is spilled into BUCKETS files by the
  hash's first byte, and each bucket is sorted alone: the buckets in turn are the same sorted order.
- An epoch: the training range is cut into shards of SHARD_EXAMPLES consecutive examples in that
  order (each a random sample of the split, since the order is a hash's), the shards are visited in
  a shuffled order and each is shuffled within, from a generator seeded by (seed, epoch).

Only plain reads touch the files (no memory map, whose pages count in the process's memory).
"""
import dataclasses
import hashlib
import os
from typing import Iterator

import numpy as np

from models.features import IMAGE_PIXELS

SHARD_EXAMPLES = 65536  # about 200 MB of float32 images: the most an epoch holds at once from disk
BUCKETS = 256
RECORD = np.dtype([("key", ">u8"), ("label", "<i8"), ("image", "<f4", (IMAGE_PIXELS,))])


def content_keys(images: np.ndarray, labels: np.ndarray) -> np.ndarray:
    """Each example's sort key: 8 bytes of blake2b over its image and label, as a big-endian uint64."""
    return np.array([int.from_bytes(hashlib.blake2b(image.tobytes() + label.tobytes(), digest_size=8).digest(), "big")
                     for image, label in zip(images, labels)], np.uint64)


@dataclasses.dataclass
class InMemory:
    images: np.ndarray  # float32 [N, IMAGE_PIXELS]
    labels: np.ndarray  # int64 [N]

    @property
    def count(self) -> int:
        return len(self.labels)

    def read(self, start: int, stop: int) -> tuple[np.ndarray, np.ndarray]:
        return self.images[start:stop], self.labels[start:stop]


@dataclasses.dataclass
class OnDisk:
    """The split as records of RECORD in canonical order, in one local file."""
    path: str
    count: int

    def read(self, start: int, stop: int) -> tuple[np.ndarray, np.ndarray]:
        records = np.fromfile(self.path, RECORD, count=stop - start, offset=start * RECORD.itemsize)
        return records["image"], records["label"]


def canonical(batches, memory_limit_bytes: float, spill_dir: str) -> InMemory | OnDisk:
    """The (images, labels) batches in canonical order: in memory while they fit memory_limit_bytes,
    else sorted on local disk under spill_dir."""
    held, size = [], 0
    batches = iter(batches)
    for images, labels in batches:
        held.append((images, labels, content_keys(images, labels)))
        size += images.nbytes + labels.nbytes
        if size > memory_limit_bytes:
            return _sorted_on_disk(_spilled(held, batches), spill_dir)
    return _sorted_in_memory(held)


def _spilled(held: list, rest) -> Iterator[tuple[np.ndarray, np.ndarray, np.ndarray]]:
    """The batches held so far, each let go once yielded, then the rest, with their keys."""
    while held:
        yield held.pop(0)
    for images, labels in rest:
        yield images, labels, content_keys(images, labels)


def _sorted_in_memory(held: list) -> InMemory:
    keys = np.concatenate([k for _, _, k in held]) if held else np.zeros(0, np.uint64)
    position = np.empty(len(keys), np.int64)  # where each example goes in the sorted order
    position[np.argsort(keys, kind="stable")] = np.arange(len(keys))
    images = np.empty((len(keys), IMAGE_PIXELS), np.float32)
    labels = np.empty(len(keys), np.int64)
    start = 0
    while held:  # each batch is scattered into place and let go, so the split is held about once
        batch_images, batch_labels, _ = held.pop(0)
        stop = start + len(batch_labels)
        images[position[start:stop]], labels[position[start:stop]] = batch_images, batch_labels
        start = stop
    return InMemory(images, labels)


def _sorted_on_disk(batches, spill_dir: str) -> OnDisk:
    buckets = [os.path.join(spill_dir, f"bucket-{b:03d}") for b in range(BUCKETS)]
    for images, labels, keys in batches:
        records = np.empty(len(keys), RECORD)
        records["key"], records["label"], records["image"] = keys, labels, images
        records = records[np.argsort(keys >> np.uint64(56), kind="stable")]
        ends = np.searchsorted(records["key"] >> np.uint64(56), np.arange(1, BUCKETS + 1), side="left")
        for bucket, first, last in zip(buckets, [0, *ends[:-1]], ends):
            if last > first:
                with open(bucket, "ab") as f:
                    records[first:last].tofile(f)
    path, count = os.path.join(spill_dir, "canonical"), 0
    with open(path, "wb") as out:
        for bucket in buckets:
            if os.path.exists(bucket):
                records = np.fromfile(bucket, RECORD)
                records[np.argsort(records["key"], kind="stable")].tofile(out)
                count += len(records)
                os.remove(bucket)
    return OnDisk(path, count)


def in_order(data: InMemory | OnDisk, start: int, stop: int, chunk: int) -> Iterator[tuple[np.ndarray, np.ndarray]]:
    """data[start:stop] in canonical order, in chunks (the validation slice)."""
    for first in range(start, stop, chunk):
        yield data.read(first, min(first + chunk, stop))


def epoch_chunks(data: InMemory | OnDisk, start: int, stop: int, chunk: int, seed: int,
                 epoch: int) -> Iterator[tuple[np.ndarray, np.ndarray]]:
    """data[start:stop] in this epoch's order (module docstring), in chunks of `chunk` examples."""
    rng = np.random.default_rng([seed, epoch])
    pending, pending_count = [], 0
    for first in rng.permutation(np.arange(start, stop, SHARD_EXAMPLES)):
        images, labels = data.read(first, min(first + SHARD_EXAMPLES, stop))
        order = rng.permutation(len(labels))
        taken = 0
        while taken < len(order):
            take = order[taken:taken + chunk - pending_count]
            pending.append((images[take], labels[take]))
            pending_count += len(take)
            taken += len(take)
            if pending_count == chunk:
                yield _joined(pending)
                pending, pending_count = [], 0
    if pending:
        yield _joined(pending)


def _joined(pieces: list) -> tuple[np.ndarray, np.ndarray]:
    if len(pieces) == 1:
        return pieces[0]
    return np.concatenate([images for images, _ in pieces]), np.concatenate([labels for _, labels in pieces])
