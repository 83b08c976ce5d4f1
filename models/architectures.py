"""Architectures by name, each with the training recipe its defaults come from.

Every builder takes the transformed image (float [N,784] in [0,1]) and returns probabilities
[N,10]. Adding an architecture is one function with @register(recipe...).
"""
import dataclasses
from typing import Callable

import tf_keras as keras
from tf_keras import layers

from models.features import IMAGE_HEIGHT, IMAGE_KEY, IMAGE_PIXELS, IMAGE_WIDTH, NUM_CLASSES

# Keras Applications accept 32x32 and up; 32x32 keeps them affordable on a CPU.
APPLICATIONS_INPUT_SIZE = 32
BATCH_NORM_MOMENTUM = 0.9


@dataclasses.dataclass(frozen=True)
class Recipe:
    """Defaults chosen so that a default run on full MNIST beats the seed's plain Keras results (docs/design.md)."""
    epochs: int
    batch_size: int = 128
    learning_rate: float = 1e-3  # the peak rate under one_cycle
    augment: bool = False
    lr_schedule: str = "cosine"


@dataclasses.dataclass(frozen=True)
class Architecture:
    build: Callable[[], keras.Model]
    recipe: Recipe
    summary: str


ARCHITECTURES: dict[str, Architecture] = {}


def register(**recipe):
    def add(builder):
        ARCHITECTURES[builder.__name__] = Architecture(builder, Recipe(**recipe), builder.__doc__.strip())
        return builder
    return add


def _image_input():
    pixels = keras.Input(shape=(IMAGE_PIXELS,), name=IMAGE_KEY)
    return pixels, layers.Reshape((IMAGE_HEIGHT, IMAGE_WIDTH, 1))(pixels)


def _application(application, pixels, image, name, size=APPLICATIONS_INPUT_SIZE, input_scale=1.0):
    x = layers.Resizing(size, size)(image)
    if input_scale != 1.0:
        x = layers.Rescaling(input_scale)(x)
    backbone = application(weights=None, input_shape=(size, size, 1), classes=NUM_CLASSES)
    for layer in backbone.layers:
        # MobileNetV2's 0.999 (and the default 0.99) moving-average momentum is meant for ImageNet-long
        # runs; over a few MNIST epochs the inference statistics would lag far behind the weights.
        if isinstance(layer, layers.BatchNormalization):
            layer.momentum = BATCH_NORM_MOMENTUM
    return keras.Model(pixels, backbone(x), name=name)


@register(epochs=30, batch_size=128, learning_rate=1e-3, augment=True)
def mlp() -> keras.Model:
    """The seed's MLP: Flatten, Dense 128 relu, Dense 10 softmax (101,770 parameters)."""
    pixels, image = _image_input()
    x = layers.Flatten()(image)
    x = layers.Dense(128, activation="relu")(x)
    outputs = layers.Dense(NUM_CLASSES, activation="softmax")(x)
    return keras.Model(pixels, outputs, name="mlp")


@register(epochs=15, batch_size=64, learning_rate=1e-3, augment=True)
def cnn() -> keras.Model:
    """The seed's CNN: 3 conv, 2 pool, Dense 64, Dense 10 (93,322 parameters)."""
    pixels, image = _image_input()
    x = layers.Conv2D(32, 3, activation="relu")(image)
    x = layers.MaxPooling2D()(x)
    x = layers.Conv2D(64, 3, activation="relu")(x)
    x = layers.MaxPooling2D()(x)
    x = layers.Conv2D(64, 3, activation="relu")(x)
    x = layers.Flatten()(x)
    x = layers.Dense(64, activation="relu")(x)
    outputs = layers.Dense(NUM_CLASSES, activation="softmax")(x)
    return keras.Model(pixels, outputs, name="cnn")


def _batch_norm_relu(x):
    return layers.ReLU()(layers.BatchNormalization(momentum=BATCH_NORM_MOMENTUM)(x))


@register(epochs=6, batch_size=128, learning_rate=4e-3, augment=True, lr_schedule="one_cycle")
def cnn_bn() -> keras.Model:
    """The default: 3 conv, 2 pool, Dense 128, Dense 10, batch norm after each hidden layer (243,114 parameters)."""
    pixels, image = _image_input()
    # Without biases: each batch norm's shift is one.
    x = _batch_norm_relu(layers.Conv2D(32, 5, use_bias=False)(image))
    x = layers.MaxPooling2D()(x)
    x = _batch_norm_relu(layers.Conv2D(64, 3, use_bias=False)(x))
    x = layers.MaxPooling2D()(x)
    x = _batch_norm_relu(layers.Conv2D(128, 3, use_bias=False)(x))
    x = layers.Flatten()(x)
    x = _batch_norm_relu(layers.Dense(128, use_bias=False)(x))
    outputs = layers.Dense(NUM_CLASSES, activation="softmax")(x)
    return keras.Model(pixels, outputs, name="cnn_bn")


@register(epochs=4, batch_size=128, learning_rate=1e-3)
def resnet50v2() -> keras.Model:
    """Keras Applications ResNet50V2, untrained, 1 channel at 32x32 (23,579,018 parameters)."""
    return _application(keras.applications.ResNet50V2, *_image_input(), name="resnet50v2")


@register(epochs=10, batch_size=128, learning_rate=2e-3)
def mobilenetv2() -> keras.Model:
    """Keras Applications MobileNetV2, untrained, 1 channel at 32x32 (2,270,218 parameters)."""
    return _application(keras.applications.MobileNetV2, *_image_input(), name="mobilenetv2")


@register(epochs=8, batch_size=128, learning_rate=2e-3)
def efficientnetb0() -> keras.Model:
    """Keras Applications EfficientNetB0, untrained, 1 channel at 64x64 (4,061,801 parameters)."""
    # At 32x32 its last blocks would see a 1x1 map; 64x64 keeps a 2x2 map.
    # EfficientNet rescales its input by 1/255 itself, so it gets pixels back in 0-255.
    return _application(keras.applications.EfficientNetB0, *_image_input(), name="efficientnetb0",
                        size=64, input_scale=255.0)


def build(name: str) -> keras.Model:
    if name not in ARCHITECTURES:
        raise ValueError(f"unknown architecture {name!r}; choose one of {', '.join(ARCHITECTURES)}")
    return ARCHITECTURES[name].build()
