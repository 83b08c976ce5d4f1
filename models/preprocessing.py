"""tf.Transform preprocessing: pixels scaled to [0, 1] by the data's own min and max.

The analyzer's constants end up in the transform graph, which the Trainer embeds in every
exported model, so clients always feed raw uint8 pixels.
"""
import tensorflow as tf
import tensorflow_transform as tft

from models.features import IMAGE_KEY, LABEL_KEY


def preprocessing_fn(inputs):
    pixels = tf.cast(inputs[IMAGE_KEY], tf.float32)
    return {
        IMAGE_KEY: tft.scale_to_0_1(pixels, elementwise=False),
        LABEL_KEY: inputs[LABEL_KEY],
    }
