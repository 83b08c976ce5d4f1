"""The TFLite Pusher's choices as plain data, without TensorFlow, for the CLI's options table. Its
accuracy limits are in percentage points, as the CLI's flags are."""

QUANTIZATIONS = ("none", "dynamic", "float16", "int8")
# How far a float .tflite's accuracy may be from the evaluated model's; no flag sets it.
MAX_ACCURACY_GAP = 0.1
