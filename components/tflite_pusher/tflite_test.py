import json
import os

import numpy as np
import pytest
import tensorflow as tf
import tf_keras as keras

from components.tflite_pusher import tflite
from models import architectures, trainer


@pytest.fixture(scope="module")
def exported_model(transform_output, mnist_train_slice, tmp_path_factory):
    """An MLP trained five epochs on 2,000 real images, exported like the Trainer does."""
    keras.utils.set_random_seed(7)
    images, labels = mnist_train_slice
    pixels = transform_output.transform_features_layer()({"image": images.reshape(-1, 784).astype(np.int64)})["image"]
    model = architectures.build("mlp")
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
    model.fit(pixels, labels, epochs=5, batch_size=64, verbose=0)
    export_dir = str(tmp_path_factory.mktemp("model"))
    trainer.export(model, transform_output, export_dir)
    return export_dir


def test_tflite_model_takes_raw_uint8_and_matches_the_saved_model(exported_model, mnist_eval):
    images, labels = mnist_eval[0][:1000], mnist_eval[1][:1000]
    tflite_model = tflite.convert(exported_model, trainer.SERVING_IMAGES_SIGNATURE)
    tflite_probabilities = tflite.predict(tflite_model, images)

    serve = tf.saved_model.load(exported_model).signatures[trainer.SERVING_IMAGES_SIGNATURE]
    saved_probabilities = serve(images=tf.constant(images))[trainer.OUTPUT_KEY].numpy()
    assert tflite_probabilities.shape == (1000, 10)
    np.testing.assert_allclose(tflite_probabilities, saved_probabilities, atol=1e-4)
    assert tflite.accuracy(tflite_probabilities, labels) == tflite.accuracy(saved_probabilities, labels)
    assert tflite.accuracy(tflite_probabilities, labels) > 0.85  # five epochs on 2,000 images


def test_examples_signature_agrees_with_images_signature(exported_model, mnist_eval):
    from components.mnist_example_gen.executor import to_serialized_examples
    images, labels = mnist_eval[0][:50], mnist_eval[1][:50]
    loaded = tf.saved_model.load(exported_model)
    by_examples = loaded.signatures[trainer.SERVING_EXAMPLES_SIGNATURE](
        examples=tf.constant(list(to_serialized_examples(images, labels))))[trainer.OUTPUT_KEY]
    by_images = loaded.signatures[trainer.SERVING_IMAGES_SIGNATURE](images=tf.constant(images))[trainer.OUTPUT_KEY]
    np.testing.assert_allclose(by_examples.numpy(), by_images.numpy(), atol=1e-6)


def test_publish_writes_a_complete_version_and_moves_latest(tmp_path):
    serving = str(tmp_path / "serving")
    first = tflite.publish(serving, b"model-1", ["0", "1"], {"architecture": "mlp"})
    second = tflite.publish(serving, b"model-2", ["0", "1"], {"architecture": "mlp"})
    assert first != second
    assert os.path.realpath(os.path.join(serving, "latest")) == os.path.realpath(second)
    assert open(os.path.join(serving, "latest", "model.tflite"), "rb").read() == b"model-2"
    assert open(os.path.join(first, "labels.txt")).read() == "0\n1\n"
    metadata = json.load(open(os.path.join(second, "model.json")))
    assert metadata["architecture"] == "mlp" and metadata["tflite_bytes"] == 7
    assert sorted(os.listdir(serving)) == sorted([os.path.basename(first), os.path.basename(second), "latest"])


def test_failed_publish_leaves_no_partial_version(tmp_path):
    serving = str(tmp_path / "serving")
    tflite.publish(serving, b"model-1", ["0"], {})
    before = sorted(os.listdir(serving))
    with pytest.raises(TypeError):
        tflite.publish(serving, b"model-2", ["0"], {"not json": object()})
    assert sorted(os.listdir(serving)) == before
