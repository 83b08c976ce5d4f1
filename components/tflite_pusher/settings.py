"""The TFLite Pusher's choices as plain data, without TensorFlow, for the CLI's options table."""

QUANTIZATIONS = ("none", "dynamic", "float16", "int8")
