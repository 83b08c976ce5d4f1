import os

import numpy as np

from components.data_fingerprint.fingerprint import data_fingerprint
from components.mnist_example_gen import spans
from tests.helpers import linked_data_dir


def test_the_fingerprint_changes_with_a_new_span_an_edited_span_and_a_changed_base_file(mnist_dir, tmp_path):
    data = str(linked_data_dir(mnist_dir, tmp_path))
    seen = [data_fingerprint(data, "mnist", 0)]
    assert data_fingerprint(data, "mnist", 0) == seen[0]  # same data, same value
    digit = np.zeros((28, 28), np.uint8)
    digit[6:22, 12:16] = 255
    spans.add_image(os.path.join(data, "spans", "0"), 1, "one", digit)
    seen.append(data_fingerprint(data, "mnist", 0))
    spans.add_image(os.path.join(data, "spans", "0"), 7, "seven", digit.T)
    seen.append(data_fingerprint(data, "mnist", 0))
    spans.add_image(os.path.join(data, "spans", "1"), 1, "one", digit)
    seen.append(data_fingerprint(data, "mnist", 0))
    assert data_fingerprint(data, "mnist", 1) != seen[-1]  # --max-spans 1 reads span 1 only
    labels = os.path.join(data, "t10k-labels-idx1-ubyte.gz")
    os.remove(labels)  # a link: the shared file stays
    os.symlink(os.path.join(mnist_dir, "train-labels-idx1-ubyte.gz"), labels)
    seen.append(data_fingerprint(data, "mnist", 0))
    assert len(set(seen)) == len(seen)
