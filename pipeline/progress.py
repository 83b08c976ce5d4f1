"""What a run shows while it runs: one line per component as it starts and ends, read from the
orchestrators' own log records, and every log record kept in a file under the output dir.

No carriage returns or cursor movement, so logs and pipes stay readable.
"""
import datetime
import logging
import os
import re
import sys
import time

_STARTED = re.compile(r"^(?:node|Component) (\S+) is running\.$")  # BeamDagRunner, LocalDagRunner
_FINISHED = re.compile(r"^(?:node|Component) (\S+) is finished\.$")
_CACHED = re.compile(r"^A cached execution \d+ is used\.$")  # the launcher, in the node's thread


class ComponentLines(logging.Handler):
    """`▸ Trainer` when a component starts; `✓ Trainer 12.3 s` or `↺ Trainer cached` when it ends."""

    def __init__(self, stream=None):
        super().__init__(logging.INFO)
        self.stream = stream
        self.running = {}  # thread -> [node, start time, cached]

    def _print(self, line: str) -> None:
        print(line, file=self.stream or sys.stdout, flush=True)

    def emit(self, record: logging.LogRecord) -> None:
        message = record.getMessage()
        if started := _STARTED.match(message):
            self.running[record.thread] = [started.group(1), time.monotonic(), False]
            self._print(f"▸ {started.group(1)}")
        elif _CACHED.match(message) and record.thread in self.running:
            self.running[record.thread][2] = True
        elif finished := _FINISHED.match(message):
            node, started_at, cached = self.running.pop(record.thread, [finished.group(1), time.monotonic(), False])
            self._print(f"↺ {node} cached" if cached else f"✓ {node} {time.monotonic() - started_at:.1f} s")


def attach(output_dir: str, verbose: bool) -> str:
    """Sends every log record to <output_dir>/logs/<time>.log and component lines to stdout; the
    console gets TFX, Beam and TensorFlow logs only with `verbose` (else errors). Returns the log path."""
    from absl import logging as absl_logging
    logs_dir = os.path.join(output_dir, "logs")
    os.makedirs(logs_dir, exist_ok=True)
    stamp = datetime.datetime.now(datetime.timezone.utc).strftime("%Y%m%d-%H%M%S")
    log_path = os.path.join(logs_dir, f"run-{stamp}-{os.getpid()}.log")
    log_file = logging.FileHandler(log_path)
    log_file.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s %(filename)s:%(lineno)d] %(message)s"))
    console = logging.StreamHandler(sys.stderr)
    console.setLevel(logging.INFO if verbose else logging.ERROR)
    console.setFormatter(logging.Formatter("%(levelname).1s %(name)s %(filename)s:%(lineno)d] %(message)s"))
    root = logging.getLogger()
    root.setLevel(logging.INFO)
    for handler in root.handlers[:]:  # e.g. a logging.basicConfig() made by a library on import
        root.removeHandler(handler)
    for handler in (log_file, ComponentLines(), console):
        root.addHandler(handler)
    absl_logging.set_verbosity(absl_logging.INFO)
    tf_logger = logging.getLogger("tensorflow")
    tf_logger.handlers.clear()  # its own stderr handler would bypass `verbose`; the root's handlers serve it
    tf_logger.setLevel(logging.INFO)
    logging.getLogger("apache_beam").setLevel(logging.INFO)
    return log_path
