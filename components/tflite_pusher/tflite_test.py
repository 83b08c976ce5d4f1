import numpy as np
import pytest
import tensorflow as tf

from components.tflite_pusher import tflite
from components.tflite_pusher.settings import MAX_ACCURACY_GAP, QUANTIZATIONS
from components.mnist_example_gen.examples import to_serialized_examples
from models import architectures, trainer
from models.features import IMAGES_INPUT_KEY, OUTPUT_KEY, SERVING_EXAMPLES_SIGNATURE, SERVING_IMAGES_SIGNATURE
from pipeline.config import PipelineConfig

LIMITS = {"max_accuracy_gap": MAX_ACCURACY_GAP, "max_quantization_drop": PipelineConfig().max_quantization_drop}


def test_tflite_model_takes_raw_uint8_and_matches_the_saved_model(exported_mlp, mnist_eval):
    images, labels = mnist_eval[0][:1000], mnist_eval[1][:1000]
    tflite_model = tflite.convert(exported_mlp, SERVING_IMAGES_SIGNATURE)
    tflite_probabilities = tflite.predict(tflite_model, images)

    serve = tf.saved_model.load(exported_mlp).signatures[SERVING_IMAGES_SIGNATURE]
    saved_probabilities = serve(**{IMAGES_INPUT_KEY: tf.constant(images)})[OUTPUT_KEY].numpy()
    assert tflite_probabilities.shape == (1000, 10)
    np.testing.assert_allclose(tflite_probabilities, saved_probabilities, atol=1e-4)
    assert tflite.accuracy(tflite_probabilities, labels) == tflite.accuracy(saved_probabilities, labels)
    assert tflite.accuracy(tflite_probabilities, labels) > 0.85  # five epochs on 2,000 images


def test_the_input_is_declared_as_one_rgb_image_and_a_batch_gives_the_same_answers(exported_mlp, mnist_eval):
    """LiteRT.js, the Task Library and MediaPipe check the declared shape; Python resizes it."""
    from ai_edge_litert.interpreter import Interpreter
    tflite_model = tflite.convert(exported_mlp, SERVING_IMAGES_SIGNATURE)
    interpreter = Interpreter(model_content=tflite_model)
    (image,), (probabilities,) = interpreter.get_input_details(), interpreter.get_output_details()
    assert (image["dtype"], image["shape"].tolist(), image["shape_signature"].tolist()) == (np.uint8, [1, 28, 28, 3],
                                                                                              [1, 28, 28, 3])
    assert probabilities["shape_signature"].tolist() == [1, 10]
    interpreter.allocate_tensors()
    one_at_a_time = []
    for digit in mnist_eval[0][:20]:
        interpreter.set_tensor(image["index"], tflite.to_model_input(digit[None]))
        interpreter.invoke()
        one_at_a_time.append(interpreter.get_tensor(probabilities["index"])[0].copy())
    np.testing.assert_array_equal(tflite.predict(tflite_model, mnist_eval[0][:20]), np.array(one_at_a_time))


def test_examples_signature_agrees_with_images_signature(exported_mlp, mnist_eval):
    images, labels = mnist_eval[0][:50], mnist_eval[1][:50]
    loaded = tf.saved_model.load(exported_mlp)
    by_examples = loaded.signatures[SERVING_EXAMPLES_SIGNATURE](
        examples=tf.constant(list(to_serialized_examples(images, labels, "mnist"))))[OUTPUT_KEY]
    by_images = loaded.signatures[SERVING_IMAGES_SIGNATURE](**{IMAGES_INPUT_KEY: tf.constant(images)})[OUTPUT_KEY]
    np.testing.assert_allclose(by_examples.numpy(), by_images.numpy(), atol=1e-6)


@pytest.fixture(scope="module")
def eval_slice(mnist_eval):
    return mnist_eval[0][:1000], mnist_eval[1][:1000]


@pytest.fixture(scope="module")
def reference(exported_mlp, eval_slice):
    classes = tflite.saved_model_classes(exported_mlp, SERVING_IMAGES_SIGNATURE, eval_slice[0])
    return classes, float(np.mean(classes == eval_slice[1]))


@pytest.mark.parametrize("quantize", QUANTIZATIONS)
def test_every_quantization_passes_its_parity_bound(exported_mlp, eval_slice, mnist_train_slice, reference,
                                                    quantize):
    model = tflite.convert(exported_mlp, SERVING_IMAGES_SIGNATURE, quantize,
                           representative_images=mnist_train_slice[0][:300])
    check = tflite.verify(model, quantize, *eval_slice, reference_accuracy=reference[1],
                          reference_classes=reference[0], **LIMITS)
    assert check.problem is None, check
    if quantize == "none":
        assert check.agreement >= tflite.MIN_FLOAT_AGREEMENT
    float_size = len(tflite.convert(exported_mlp, SERVING_IMAGES_SIGNATURE))
    assert len(model) < float_size * (0.35 if quantize in ("int8", "dynamic") else 0.6 if quantize == "float16" else 1.01)


def test_a_conversion_that_lost_the_trained_weights_is_refused(exported_mlp, transform_output, eval_slice,
                                                               reference, tmp_path):
    """Like the Keras 3 failure: the converted signature runs, but not with the trained weights."""
    untrained = architectures.build("mlp")
    trainer.export(untrained, transform_output, str(tmp_path / "untrained"))
    broken = tflite.convert(str(tmp_path / "untrained"), SERVING_IMAGES_SIGNATURE)
    check = tflite.verify(broken, "none", *eval_slice, reference_accuracy=reference[1],
                          reference_classes=reference[0], **LIMITS)
    assert check.problem and "predicts the same class as the SavedModel for only" in check.problem
    assert f"vs {reference[1]:.2%} evaluated" in check.problem


def test_a_quantized_model_that_drops_too_much_is_refused(exported_mlp, eval_slice, mnist_train_slice, reference):
    model = tflite.convert(exported_mlp, SERVING_IMAGES_SIGNATURE, "int8",
                           representative_images=mnist_train_slice[0][:300])
    check = tflite.verify(model, "int8", *eval_slice, reference_accuracy=reference[1] + 0.01,
                          reference_classes=None, **LIMITS)
    assert check.problem and "int8 TFLite accuracy" in check.problem and "below the evaluated float accuracy" in check.problem
