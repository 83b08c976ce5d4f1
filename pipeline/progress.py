"""What a run shows while it runs: one line per component as it starts and ends, read from the
executions that the orchestrator records in ML Metadata, and every log record kept in a file under
the output dir.

No carriage returns or cursor movement, so logs and pipes stay readable.
"""
import contextlib
import datetime
import logging
import os
import sys
import threading

from pipeline import outcome

POLL_SECONDS = 0.2
_END_MARKS = {"complete": "✓", "cached": "↺", "failed": "✗", "canceled": "✗"}


class ComponentLines(threading.Thread):
    """`▸ Trainer` when the run's execution of a component appears in ML Metadata; `✓ Trainer 12.3 s`,
    `↺ Trainer cached` or `✗ Trainer failed 3.1 s` when its state becomes final."""

    def __init__(self, metadata_path: str, stream=None):
        super().__init__(daemon=True)
        self.metadata_path, self.stream = metadata_path, stream
        self.store, self.run_id = None, None
        self.earlier_runs = set(outcome.run_ids(metadata_path)) if os.path.exists(metadata_path) else set()
        self.shown = {}  # component name -> the last state printed
        self.stopping = threading.Event()

    def _print(self, line: str) -> None:
        stream = self.stream or sys.stdout
        stream.write(line + "\n")  # one write, so a line never interleaves with the Trainer's epoch lines
        stream.flush()

    def poll(self) -> None:
        if self.store is None:
            if not os.path.exists(self.metadata_path):
                return
            self.store = outcome.open_store(self.metadata_path)
        if self.run_id is None:
            new_runs = [r for r in outcome.run_ids(self.metadata_path, self.store) if r not in self.earlier_runs]
            if not new_runs:
                return
            self.run_id = new_runs[-1]
        for component in outcome.read_run(self.metadata_path, self.run_id, self.store, with_outputs=False).components:
            shown = self.shown.get(component.name)
            if shown is None:
                self._print(f"▸ {component.name}")
            if component.state in _END_MARKS and shown not in _END_MARKS:
                mark = _END_MARKS[component.state]
                self._print(f"{mark} {component.name} cached" if component.state == "cached"
                            else f"{mark} {component.name} {'' if mark == '✓' else component.state + ' '}"
                                 f"{component.seconds:.1f} s")
            self.shown[component.name] = component.state

    def _poll_quietly(self) -> None:
        try:
            self.poll()
        except Exception:  # noqa: BLE001 - e.g. the store is being created; the next poll sees it
            logging.debug("reading ML Metadata for progress lines", exc_info=True)

    def run(self) -> None:
        while not self.stopping.wait(POLL_SECONDS):
            self._poll_quietly()

    def stop(self) -> None:
        self.stopping.set()
        self.join()
        self._poll_quietly()  # the last component's end


@contextlib.contextmanager
def component_lines(metadata_path: str, stream=None):
    """Prints the component lines of the run that starts inside the block."""
    lines = ComponentLines(metadata_path, stream)
    lines.start()
    try:
        yield
    finally:
        lines.stop()


def attach(output_dir: str, verbose: bool) -> str:
    """Sends every log record to <output_dir>/logs/<time>.log; the console gets TFX, Beam and
    TensorFlow logs only with `verbose` (else errors). Returns the log path."""
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
    for handler in (log_file, console):
        root.addHandler(handler)
    absl_logging.set_verbosity(absl_logging.INFO)
    tf_logger = logging.getLogger("tensorflow")
    tf_logger.handlers.clear()  # its own stderr handler would bypass `verbose`; the root's handlers serve it
    tf_logger.setLevel(logging.INFO)
    logging.getLogger("apache_beam").setLevel(logging.INFO)
    return log_path
