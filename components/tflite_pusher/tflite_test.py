import hashlib
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
    assert not os.path.exists(tflite.staging_dir(serving))


def test_publish_clears_what_a_killed_publish_left_in_staging(tmp_path):
    serving = str(tmp_path / "serving")
    tflite.publish(serving, b"model-1", ["0"], {})
    half_written = os.path.join(tflite.staging_dir(serving), "20260101-000000")
    os.makedirs(half_written)
    open(os.path.join(half_written, "model.tflite"), "wb").write(b"half")
    second = tflite.publish(serving, b"model-2", ["0"], {})
    assert not os.path.exists(tflite.staging_dir(serving))
    assert sorted(os.listdir(serving)) == sorted([*tflite.versions(serving), "latest"])
    assert os.path.realpath(os.path.join(serving, "latest")) == os.path.realpath(second)


@pytest.fixture(scope="module")
def eval_slice(mnist_eval):
    return mnist_eval[0][:1000], mnist_eval[1][:1000]


@pytest.fixture(scope="module")
def reference(exported_model, eval_slice):
    classes = tflite.saved_model_classes(exported_model, trainer.SERVING_IMAGES_SIGNATURE, eval_slice[0])
    return classes, float(np.mean(classes == eval_slice[1]))


@pytest.mark.parametrize("quantize", tflite.QUANTIZATIONS)
def test_every_quantization_passes_its_parity_bound(exported_model, eval_slice, mnist_train_slice, reference,
                                                    quantize):
    model = tflite.convert(exported_model, trainer.SERVING_IMAGES_SIGNATURE, quantize,
                           representative_images=mnist_train_slice[0][:300])
    check = tflite.verify(model, quantize, *eval_slice, reference_accuracy=reference[1],
                          reference_classes=reference[0])
    assert check.problem is None, check
    if quantize == "none":
        assert check.agreement >= tflite.MIN_FLOAT_AGREEMENT
    float_size = len(tflite.convert(exported_model, trainer.SERVING_IMAGES_SIGNATURE))
    assert len(model) < float_size * (0.35 if quantize in ("int8", "dynamic") else 0.6 if quantize == "float16" else 1.01)


def test_a_conversion_that_lost_the_trained_weights_is_refused(exported_model, transform_output, eval_slice,
                                                               reference, tmp_path):
    """Like the Keras 3 failure: the converted signature runs, but not with the trained weights."""
    untrained = architectures.build("mlp")
    trainer.export(untrained, transform_output, str(tmp_path / "untrained"))
    broken = tflite.convert(str(tmp_path / "untrained"), trainer.SERVING_IMAGES_SIGNATURE)
    check = tflite.verify(broken, "none", *eval_slice, reference_accuracy=reference[1],
                          reference_classes=reference[0])
    assert check.problem and "predicts the same class as the SavedModel for only" in check.problem
    assert f"vs {reference[1]:.2%} evaluated" in check.problem


def test_a_quantized_model_that_drops_too_much_is_refused(exported_model, eval_slice, mnist_train_slice, reference):
    model = tflite.convert(exported_model, trainer.SERVING_IMAGES_SIGNATURE, "int8",
                           representative_images=mnist_train_slice[0][:300])
    check = tflite.verify(model, "int8", *eval_slice, reference_accuracy=reference[1] + 0.01,
                          max_quantization_drop=0.003)
    assert check.problem and "int8 TFLite accuracy" in check.problem and "below the evaluated float accuracy" in check.problem


def test_keep_versions_prunes_the_oldest_but_never_latest(tmp_path):
    serving = str(tmp_path / "serving")
    published = [tflite.publish(serving, f"model-{i}".encode(), ["0"], {}, keep_versions=2) for i in range(4)]
    assert tflite.versions(serving) == [os.path.basename(p) for p in published[-2:]]
    assert os.path.realpath(os.path.join(serving, "latest")) == os.path.realpath(published[-1])


def test_publish_to_an_object_store_writes_model_json_last_then_the_latest_pointer(tmp_path):
    """A URI takes the object-store path through tf.io.gfile: file:// here stands in for gs:// and
    s3://, which this machine cannot reach."""
    serving = f"file://{tmp_path}/serving"
    saved_model = tmp_path / "saved_model"
    (saved_model / "variables").mkdir(parents=True)
    (saved_model / "saved_model.pb").write_bytes(b"graph")
    (saved_model / "variables" / "variables.index").write_bytes(b"index")
    tflite.publish(serving, b"model-1", ["0", "1"], {})
    killed = os.path.join(serving, "20990101-000000")  # a publish killed before model.json
    tf.io.gfile.makedirs(killed)
    tf.io.gfile.GFile(os.path.join(killed, "model.tflite"), "wb").write(b"half")
    assert len(tflite.versions(serving)) == 1
    second = tflite.publish(serving, b"model-2", ["0", "1"], {}, saved_model_dir=str(saved_model), keep_versions=1)
    assert tflite.versions(serving) == [os.path.basename(second)]
    assert not tf.io.gfile.exists(killed)
    assert tf.io.gfile.GFile(os.path.join(serving, "LATEST")).read() == os.path.basename(second) + "\n"
    assert tflite.latest_metadata(serving)["tflite_sha256"] == hashlib.sha256(b"model-2").hexdigest()
    assert tf.io.gfile.GFile(os.path.join(second, "saved_model", "variables", "variables.index"), "rb").read() == b"index"
    assert tf.io.gfile.GFile(os.path.join(second, "labels.txt")).read() == "0\n1\n"
    assert sorted(os.listdir(tmp_path / "serving")) == sorted(["LATEST", os.path.basename(second)])  # no symlink
