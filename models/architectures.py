"""Architectures by name: the builders. Their summaries and training recipes are in models/recipes.py.

Every builder takes the transformed image (float [N,784] in [0,1]) and returns probabilities
[N,10]. Adding an architecture is one function here, in BUILDERS, and its recipe under the same name.
"""
import tf_keras as keras
from tf_keras import layers

from models.features import IMAGE_HEIGHT, IMAGE_KEY, IMAGE_PIXELS, IMAGE_WIDTH, NUM_CLASSES

# Keras Applications accept 32x32 and up; 32x32 keeps them affordable on a CPU.
APPLICATIONS_INPUT_SIZE = 32
BATCH_NORM_MOMENTUM = 0.9


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


def mlp() -> keras.Model:
    pixels, image = _image_input()
    x = layers.Flatten()(image)
    x = layers.Dense(128, activation="relu")(x)
    outputs = layers.Dense(NUM_CLASSES, activation="softmax")(x)
    return keras.Model(pixels, outputs, name="mlp")


def cnn() -> keras.Model:
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


def cnn_bn() -> keras.Model:
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


def resnet50v2() -> keras.Model:
    return _application(keras.applications.ResNet50V2, *_image_input(), name="resnet50v2")


def mobilenetv2() -> keras.Model:
    return _application(keras.applications.MobileNetV2, *_image_input(), name="mobilenetv2")


def efficientnetb0() -> keras.Model:
    # At 32x32 its last blocks would see a 1x1 map; 64x64 keeps a 2x2 map.
    # EfficientNet rescales its input by 1/255 itself, so it gets pixels back in 0-255.
    return _application(keras.applications.EfficientNetB0, *_image_input(), name="efficientnetb0",
                        size=64, input_scale=255.0)


BUILDERS = {builder.__name__: builder for builder in (mlp, cnn, cnn_bn, resnet50v2, mobilenetv2, efficientnetb0)}


def build(name: str) -> keras.Model:
    if name not in BUILDERS:
        raise ValueError(f"unknown architecture {name!r}; choose one of {', '.join(BUILDERS)}")
    return BUILDERS[name]()
