"""`mnist-tfx`: the local commands (pipeline/cli.py) and the Kubeflow ones (kubeflow/cli.py) under one
parser. The only module that imports both CLIs; neither imports the other."""
import argparse
import logging
import os
import sys

from kubeflow import cli as kubeflow_cli
from pipeline import cli as pipeline_cli
from pipeline.exit_codes import help_epilog


def build_parser() -> argparse.ArgumentParser:
    """Builds without TensorFlow; each command's `handler` runs it, after _quiet_logs unless it sets
    imports_tensorflow=False."""
    parser = argparse.ArgumentParser(prog="mnist-tfx", description="Trains an MNIST classifier with TFX and ships "
                                     "it as TFLite, locally or on Kubeflow Pipelines.", epilog=help_epilog(),
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.set_defaults(imports_tensorflow=True, verbose=False)
    commands = parser.add_subparsers(dest="command", required=True)
    pipeline_cli.add_commands(commands)
    kubeflow_cli.add_commands(commands)
    return parser


def _quiet_logs() -> None:
    """Errors only from TF, TFX and Beam until pipeline.progress takes over (`run -v` keeps all their
    logs). Called before TF is imported."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")  # inherited by Beam worker processes too
    from absl import logging as absl_logging
    absl_logging.set_verbosity(absl_logging.ERROR)
    for name in ("apache_beam", "tensorflow"):
        logging.getLogger(name).setLevel(logging.ERROR)
    # TensorFlow's C++ start-up lines ignore TF_CPP_MIN_LOG_LEVEL, so its import writes to /dev/null.
    from components.common import silenced_native_stderr
    with silenced_native_stderr():
        import tensorflow  # noqa: F401


def main(argv=None) -> int:
    args = build_parser().parse_args(argv)
    if args.imports_tensorflow and not args.verbose:
        _quiet_logs()
    return args.handler(args)


if __name__ == "__main__":
    sys.exit(main())
