"""Convert a SavedModel signature to TFLite, run it in LiteRT, and check it against the evaluated model.

Plain TensorFlow/LiteRT, no TFX: the Pusher's runner, `predict`, the report and the tests call these.
"""
import dataclasses
import os

import numpy as np
import tensorflow as tf
from ai_edge_litert.interpreter import Interpreter
from tensorflow.lite.tools import flatbuffer_utils

from components.common import silenced_native_stderr
from models.features import IMAGES_INPUT_KEY, TFLITE_INPUT_KEY, TFLITE_INPUT_SHAPE

MIN_FLOAT_AGREEMENT = 0.9995


def convert(saved_model_dir: str, signature_key: str, quantize: str = "none",
            representative_images: np.ndarray | None = None) -> bytes:
    """TFLite flatbuffer of a signature that takes grey uint8 images [N,28,28], with the input
    TFLITE_INPUT_SHAPE: one uint8 RGB image, averaged to grey inside (models/features.py says why).
    `int8` quantizes weights and activations with ranges measured on `representative_images`
    (grey); input stays raw uint8 pixels and output float32 probabilities in every mode, so
    clients never change."""
    loaded = tf.saved_model.load(saved_model_dir)
    signature = loaded.signatures[signature_key]

    # Converted with an open batch, so that no shape inside is folded to 1 and callers can resize.
    @tf.function(input_signature=[tf.TensorSpec([None, *TFLITE_INPUT_SHAPE[1:]], tf.uint8, name=TFLITE_INPUT_KEY)])
    def from_rgb(image):
        grey = tf.cast(tf.round(tf.reduce_mean(tf.cast(image, tf.float32), axis=3)), tf.uint8)
        return signature(**{IMAGES_INPUT_KEY: grey})

    converter = tf.lite.TFLiteConverter.from_concrete_functions([from_rgb.get_concrete_function()], loaded)
    if quantize != "none":
        converter.optimizations = [tf.lite.Optimize.DEFAULT]
    if quantize == "float16":
        converter.target_spec.supported_types = [tf.float16]
    elif quantize == "int8":
        converter.representative_dataset = lambda: ([to_model_input(image[None])] for image in representative_images)
        # Integer kernels everywhere they exist; the uint8->float casts at the input stay builtin.
        converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8, tf.lite.OpsSet.TFLITE_BUILTINS]
    return _declared_batch_of_one(converter.convert())


def _declared_batch_of_one(model: bytes) -> bytes:
    """Input and output declared with a batch of 1 (no dynamic shape signature): LiteRT.js, the
    Task Library and MediaPipe take only the declared shape. The graph itself stays batch-free."""
    flatbuffer = flatbuffer_utils.convert_bytearray_to_object(bytearray(model))
    subgraph = flatbuffer.subgraphs[0]
    for index in [*subgraph.inputs, *subgraph.outputs]:
        subgraph.tensors[index].shapeSignature = None
    return bytes(flatbuffer_utils.convert_object_to_bytearray(flatbuffer))


def to_model_input(images: np.ndarray) -> np.ndarray:
    """Grey uint8 images [N,28,28] as the .tflite takes them: R = G = B, which it averages back exactly."""
    return np.repeat(images[..., None], TFLITE_INPUT_SHAPE[-1], axis=-1)


@dataclasses.dataclass(frozen=True)
class Verification:
    tflite_accuracy: float
    reference_accuracy: float  # the evaluated (float) model's accuracy
    agreement: float | None  # share of images where TFLite and SavedModel predict the same class (float only)
    problem: str | None


def verify(tflite_model: bytes, quantize: str, images: np.ndarray, labels: np.ndarray, reference_accuracy: float,
           reference_classes: np.ndarray | None, max_accuracy_gap: float, max_quantization_drop: float) -> Verification:
    """A float model must agree with the SavedModel's class (reference_classes) on >= 99.95 % of images
    and score within max_accuracy_gap of the evaluated one; a quantized one may lose at most
    max_quantization_drop. Both limits in percentage points."""
    classes = np.argmax(predict(tflite_model, images), axis=1)
    accuracy = float(np.mean(classes == labels))
    problem, agreement = None, None
    if quantize == "none":
        agreement = float(np.mean(classes == reference_classes))
        if agreement < MIN_FLOAT_AGREEMENT:
            problem = (f"TFLite model predicts the same class as the SavedModel for only {agreement:.2%} of "
                       f"{len(labels)} eval images (needs {MIN_FLOAT_AGREEMENT:.2%}); accuracy {accuracy:.2%} "
                       f"vs {reference_accuracy:.2%} evaluated")
        elif abs(accuracy - reference_accuracy) > max_accuracy_gap / 100:
            problem = (f"TFLite accuracy {accuracy:.2%} differs from the evaluated {reference_accuracy:.2%} "
                       f"by more than {max_accuracy_gap / 100:.2%}")
    elif reference_accuracy - accuracy > max_quantization_drop / 100:
        problem = (f"{quantize} TFLite accuracy {accuracy:.2%} is more than {max_quantization_drop / 100:.2%} below "
                   f"the evaluated float accuracy {reference_accuracy:.2%}")
    return Verification(accuracy, reference_accuracy, agreement, problem)


def saved_model_classes(saved_model_dir: str, signature_key: str, images: np.ndarray) -> np.ndarray:
    """Predicted classes of the SavedModel itself, for the float parity check."""
    serve = tf.saved_model.load(saved_model_dir).signatures[signature_key]
    return np.concatenate([np.argmax(next(iter(serve(tf.constant(images[i:i + 1000])).values())).numpy(), axis=1)
                           for i in range(0, len(images), 1000)])


def predict(tflite_model: bytes, images: np.ndarray, batch_size: int = 256) -> np.ndarray:
    """Probabilities [N,10] for grey uint8 images [N,28,28], computed by LiteRT in batches (the
    declared batch of 1 is resized, as LiteRT allows)."""
    # LiteRT defaults to one thread; the parity pass scales with the CPUs (docs/performance.md).
    interpreter = Interpreter(model_content=tflite_model, num_threads=len(os.sched_getaffinity(0)))
    input_index = interpreter.get_input_details()[0]["index"]
    output_index = interpreter.get_output_details()[0]["index"]
    batches = []
    for start in range(0, len(images), batch_size):
        batch = to_model_input(images[start:start + batch_size])
        interpreter.resize_tensor_input(input_index, batch.shape)
        with silenced_native_stderr():  # the XNNPACK delegate announces itself
            interpreter.allocate_tensors()
        interpreter.set_tensor(input_index, batch)
        interpreter.invoke()
        batches.append(interpreter.get_tensor(output_index).copy())
    return np.concatenate(batches)


def accuracy(probabilities: np.ndarray, labels: np.ndarray) -> float:
    return float(np.mean(np.argmax(probabilities, axis=1) == labels))
