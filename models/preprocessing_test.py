import numpy as np


def test_pixels_are_scaled_to_unit_range_by_the_analyzed_min_and_max(transform_output, mnist_train_slice):
    images, labels = mnist_train_slice
    layer = transform_output.transform_features_layer()
    out = layer({"image": images[:100].reshape(-1, 784).astype(np.int64), "label": labels[:100].astype(np.int64)})
    pixels = out["image"].numpy()
    assert pixels.shape == (100, 784)
    np.testing.assert_allclose(pixels, images[:100].reshape(-1, 784) / 255.0, atol=1e-6)
    np.testing.assert_array_equal(out["label"].numpy(), labels[:100])


def test_transform_works_without_the_label_as_at_serving_time(transform_output, mnist_train_slice):
    layer = transform_output.transform_features_layer()
    out = layer({"image": mnist_train_slice[0][:3].reshape(-1, 784).astype(np.int64)})
    assert out["image"].shape == (3, 784)
