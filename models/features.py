"""The model contract shared by ExampleGen, Transform, Trainer, Evaluator, Pusher and clients of the
exported model: feature keys, image size, classes, signature names and the output key."""
IMAGE_KEY = "image"  # int64[784]: raw pixels 0-255, row-major 28x28
LABEL_KEY = "label"  # int64: class 0-9
SOURCE_KEY = "source"  # bytes: where an example came from, the base dataset's name ("mnist") or "span-<N>"
IMAGE_HEIGHT = IMAGE_WIDTH = 28
IMAGE_PIXELS = IMAGE_HEIGHT * IMAGE_WIDTH
NUM_CLASSES = 10

SERVING_EXAMPLES_SIGNATURE = "serving_default"  # serialized tf.Examples, for TFMA
SERVING_IMAGES_SIGNATURE = "serving_images"  # uint8 [N,28,28] raw pixels, converted to TFLite
IMAGES_INPUT_KEY = "images"  # the input of SERVING_IMAGES_SIGNATURE
OUTPUT_KEY = "probabilities"  # float32 [N,10] from both signatures
# The .tflite takes one uint8 RGB image and averages it to grey: the Task Library's and MediaPipe's
# image classifiers accept only batch 1 and RGB, LiteRT.js only the declared shape (docs/android.md).
TFLITE_INPUT_KEY = "image"
TFLITE_INPUT_SHAPE = (1, IMAGE_HEIGHT, IMAGE_WIDTH, 3)
