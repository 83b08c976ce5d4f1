"""The raw feature contract shared by ExampleGen, Transform, Trainer and the exported model."""
IMAGE_KEY = "image"  # int64[784]: raw pixels 0-255, row-major 28x28
LABEL_KEY = "label"  # int64: class 0-9
IMAGE_HEIGHT = IMAGE_WIDTH = 28
IMAGE_PIXELS = IMAGE_HEIGHT * IMAGE_WIDTH
NUM_CLASSES = 10
