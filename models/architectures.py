"""Architectures by name. Each builder takes the transformed image (float [N,784] in [0,1])."""
import tf_keras as keras
from tf_keras import layers

from models.features import IMAGE_HEIGHT, IMAGE_KEY, IMAGE_PIXELS, IMAGE_WIDTH, NUM_CLASSES

ARCHITECTURES = {}


def register(builder):
    ARCHITECTURES[builder.__name__] = builder
    return builder


def _image_input():
    pixels = keras.Input(shape=(IMAGE_PIXELS,), name=IMAGE_KEY)
    return pixels, layers.Reshape((IMAGE_HEIGHT, IMAGE_WIDTH, 1))(pixels)


@register
def mlp() -> keras.Model:
    """The original write-up's MLP: 101,770 parameters."""
    pixels, image = _image_input()
    x = layers.Flatten()(image)
    x = layers.Dense(128, activation="relu")(x)
    outputs = layers.Dense(NUM_CLASSES, activation="softmax")(x)
    return keras.Model(pixels, outputs, name="mlp")


@register
def cnn() -> keras.Model:
    """The original write-up's CNN: 93,322 parameters."""
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


def build(name: str) -> keras.Model:
    if name not in ARCHITECTURES:
        raise ValueError(f"unknown architecture {name!r}; choose one of {', '.join(ARCHITECTURES)}")
    return ARCHITECTURES[name]()
