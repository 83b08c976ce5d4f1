"""Single-image latency and batch inference of a .tflite in LiteRT, as the report and the benchmarks measure them."""
import statistics
import time

from ai_edge_litert.interpreter import Interpreter

from components.common import silenced_native_stderr
from models.features import TFLITE_INPUT_SHAPE


def litert_runner(model: bytes, batch: int, threads: int = 1):
    """A function images -> probabilities on one LiteRT interpreter sized for `batch` images, which
    are given as the model takes them (tflite.to_model_input), so that conversion is not timed."""
    interpreter = Interpreter(model_content=model, num_threads=threads)
    input_index = interpreter.get_input_details()[0]["index"]
    output_index = interpreter.get_output_details()[0]["index"]
    interpreter.resize_tensor_input(input_index, [batch, *TFLITE_INPUT_SHAPE[1:]])
    with silenced_native_stderr():
        interpreter.allocate_tensors()

    def run(images):
        interpreter.set_tensor(input_index, images)
        interpreter.invoke()
        return interpreter.get_tensor(output_index)
    return run


def single_image_latency_us(call, image, runs: int, warmup: int = 50) -> float:
    """Median wall time of call(image) over `runs` calls, after warm-up."""
    for _ in range(warmup):
        call(image)
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        call(image)
        times.append(time.perf_counter() - started)
    return statistics.median(times) * 1e6
