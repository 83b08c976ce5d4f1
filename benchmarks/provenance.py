"""Where, when and on what code a benchmark result was measured, as its JSON records it and as the
Markdown rendered from that JSON states it.

    {"date": "2026-12-01T10:36:12Z", "commit": "b2900c9 + uncommitted changes",
     "machine": {"cpu": "AMD EPYC", "cores": 2, "gpus": 0, "os": ..., "platform": ..., "glibc": "2.41",
                 "python": "3.11.7", "tensorflow": "2.21.0", "tfx": "1.21.0", "beam": "2.77.0"}}

Results measured before the scripts recorded this carry "from_git_history": true: their date and
commit are those of the commit that recorded them, their machine fields those its Markdown stated.
"""
import datetime
import json
import os
import platform
import subprocess

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
RESULTS_DIR = "benchmarks/results/"  # rewriting results is not a change to the code that measured them
MACHINE_FIELDS = (  # key, how the description shows its value
    ("cpu", "{}".format), ("cores", "{} CPU cores".format),
    ("gpus", lambda n: "no GPU" if not n else f"{n} GPU{'s' if n > 1 else ''}"),
    ("os", "{}".format), ("platform", "{}".format), ("glibc", "glibc {} as Python sees it".format),
    ("python", "Python {}".format), ("tensorflow", "TensorFlow {}".format), ("tfx", "TFX {}".format),
    ("beam", "Beam {}".format))


def _git(*args: str) -> str:
    return subprocess.run(["git", *args], cwd=REPO, capture_output=True, text=True, check=True).stdout


def commit() -> str:
    """The short HEAD, and whether tracked files outside benchmarks/results differ from it."""
    changed = [line[3:] for line in _git("status", "--porcelain").splitlines() if not line.startswith("??")]
    dirty = any(not path.split(" -> ")[-1].strip('"').startswith(RESULTS_DIR) for path in changed)
    return _git("rev-parse", "--short", "HEAD").strip() + (" + uncommitted changes" if dirty else "")


def _cpu_model() -> str:
    with open("/proc/cpuinfo") as f:
        return next((line.split(":", 1)[1].strip() for line in f if line.startswith("model name")),
                    platform.machine())


def _os_name() -> str:
    try:
        return platform.freedesktop_os_release()["PRETTY_NAME"]
    except OSError:
        return platform.system()


def machine() -> dict:
    import apache_beam
    import tensorflow as tf
    import tfx
    return {"cpu": _cpu_model(), "cores": os.cpu_count(), "gpus": len(tf.config.list_physical_devices("GPU")),
            "os": _os_name(), "platform": platform.platform(), "glibc": platform.libc_ver()[1],
            "python": platform.python_version(), "tensorflow": tf.__version__, "tfx": tfx.__version__,
            "beam": apache_beam.__version__}


def record() -> dict:
    """This run's provenance; take it when the measurement ends."""
    now = datetime.datetime.now(datetime.timezone.utc)
    return {"date": now.strftime("%Y-%m-%dT%H:%M:%SZ"), "commit": commit(), "machine": machine()}


def describe_machine(machine: dict) -> str:
    return ", ".join(show(machine[key]) for key, show in MACHINE_FIELDS if key in machine)


def date(provenance: dict) -> str:
    """UTC, to the minute."""
    return provenance["date"].replace("T", " ")[:16]


def describe(provenance: dict) -> str:
    """One paragraph for a result measured in one run."""
    if provenance.get("from_git_history"):
        when = (f"Recorded by commit {provenance['commit']} on {date(provenance)} UTC (filled in from git history: "
                "the run ended before that commit)")
    else:
        when = f"Measured on {date(provenance)} UTC at commit {provenance['commit']}"
    return f"{when}. Machine: {describe_machine(provenance['machine'])}."


def save(results, json_path: str) -> None:
    """Writes a script's results, provenance included, as the JSON its Markdown is rendered from."""
    os.makedirs(os.path.dirname(json_path), exist_ok=True)
    with open(json_path, "w") as f:
        json.dump(results, f, indent=2)
        f.write("\n")


def measured_or_saved(json_path: str, report_only: bool, measure) -> dict:
    """measure()'s results, saved whole to json_path; with report_only, those saved there before."""
    if report_only:
        with open(json_path) as f:
            return json.load(f)
    results = measure()
    save(results, json_path)
    return results
