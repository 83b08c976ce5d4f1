"""Pipeline settings: one table of options serves the CLI flags and the environment variables
(`--epochs` <-> MNIST_TFX_EPOCHS, `--data-dir` <-> MNIST_DIR) that the TFX CLI runner files read.
Imports no TensorFlow, so that the CLI builds its parser at once."""
import argparse
import dataclasses
import os
import shlex

from components.mnist_example_gen.datasets import DATASETS
from components.tflite_pusher import serving_layout
from components.tflite_pusher.settings import QUANTIZATIONS
from models.recipes import DISTRIBUTIONS, LR_SCHEDULES, RECIPES, TrainingConfig

PIPELINE_NAME = "mnist-tfx"  # also a valid Kubeflow pipeline name ([a-z0-9-])
ENV_PREFIX = "MNIST_TFX_"
ENV_OVERRIDES = {"data_dir": "MNIST_DIR"}
SETUP_FILE = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "setup.py")
# Beam options that ship code to workers; without one, TFX builds a sdist of itself in /tmp per Beam component.
BEAM_DEPENDENCY_FLAGS = ("--setup_file", "--extra_package", "--requirements_file", "--sdk_container_image",
                         "--worker_harness_container_image")


def _option(default, help_text, choices=None):
    return dataclasses.field(default=default, metadata={"help": help_text, "choices": choices})


@dataclasses.dataclass(frozen=True)
class PipelineConfig:
    output_dir: str = _option("out", "artifacts, ML Metadata (SQLite) and serving/ go here")
    data_dir: str = _option("", "directory with the four IDX .gz files or mnist.npz "
                                "(default: $MNIST_DIR, then ~/.cache/mnist-tfx/<dataset>, then a checked download)")
    dataset: str = _option("mnist", "which dataset the files hold", tuple(DATASETS))
    arch: str = _option("cnn_bn", "model architecture", tuple(RECIPES))
    epochs: int = _option(0, "training epochs (0: the architecture's recipe, see `mnist-tfx run --help`)")
    batch_size: int = _option(0, "training batch size (0: the recipe's)")
    learning_rate: float = _option(0.0, "Adam learning rate, the peak under one_cycle (0: the recipe's)")
    lr_schedule: str = _option("auto", "learning rate schedule over the run (auto: the recipe's)",
                               ("auto", *LR_SCHEDULES))
    augment: str = _option("auto", "random small shifts, rotations and zooms of training images "
                                   "(auto: the recipe's choice)", ("auto", "on", "off"))
    patience: int = _option(0, "stop after N epochs without a lower validation loss (0: run every epoch); "
                               "the epoch with the lowest validation loss is kept either way")
    validation_fraction: float = _option(0.1, "share of the training split held out for validation "
                                              "(early stopping, best epoch); the eval split is never used")
    seed: int = _option(42, "random seed for initialization, shuffling and augmentation")
    distribution: str = _option("auto", "tf.distribute strategy (auto: all GPUs when several, else one device; "
                                        "multi_worker: MultiWorkerMirroredStrategy from TF_CONFIG)", DISTRIBUTIONS)
    in_memory_gb: float = _option(1.0, "the Trainer holds the transformed training split in memory up to this many GB; "
                                       "a larger one is sorted on local disk and streamed, giving the same model "
                                       "(0: always stream)")
    accuracy_threshold: float = _option(0.98, "the Evaluator blesses the model only at or above this eval accuracy")
    max_regression: float = _option(0.0, "percentage points of eval accuracy the model may lose against the last "
                                          "blessed model (0: must not be worse)")
    quantize: str = _option("none", "TFLite quantization; int8 calibrates on 300 training images", QUANTIZATIONS)
    max_quantization_drop: float = _option(0.3, "percentage points a quantized model may lose against the evaluated "
                                                "float model before the push is refused")
    keep_versions: int = _option(0, "keep only the newest N pushed versions (0: keep all; latest is never pruned)")
    model_author: str = _option("", "author written into the .tflite's TFLite Metadata and model.json")
    model_license: str = _option("", "license written into the .tflite's TFLite Metadata and model.json, "
                                     "e.g. Apache-2.0")
    max_train_examples: int = _option(0, "use only the first N training images of the base dataset (0: all)")
    max_eval_examples: int = _option(0, "use only the first N test images of the base dataset (0: all)")
    max_spans: int = _option(0, "read only the newest N spans of new data under DATA_DIR/spans/ (0: all)")
    runner: str = _option("beam", "TFX orchestrator", ("beam", "local"))
    direct_running_mode: str = _option("in_memory", "mode of Beam's local runner (FnApiRunner) for the components' Beam jobs "
                                       "(in_memory is the fastest on full MNIST, see docs/performance.md)",
                                       ("in_memory", "multi_threading", "multi_processing"))
    beam_workers: int = _option(0, "Beam local runner workers when not in_memory (0: one per CPU core)")
    beam_args: str = _option("", "more Apache Beam options for the components' Beam jobs, e.g. "
                                 "'--runner=FlinkRunner --flink_master=HOST:8081'; a --runner replaces the "
                                 "local runner and its settings")

    def __post_init__(self):
        problems = [f"{name}={getattr(self, name)} must be >= 0" for name in (
            "epochs", "batch_size", "learning_rate", "patience", "max_train_examples", "max_eval_examples", "max_spans",
            "max_regression", "max_quantization_drop", "keep_versions", "beam_workers", "in_memory_gb") if getattr(self, name) < 0]
        if not 0 <= self.accuracy_threshold <= 1:
            problems.append(f"accuracy_threshold={self.accuracy_threshold} must be between 0 and 1")
        if not 0 < self.validation_fraction < 1:
            problems.append(f"validation_fraction={self.validation_fraction} must be between 0 and 1, exclusive")
        for field in dataclasses.fields(self):
            choices = field.metadata["choices"]
            if choices and getattr(self, field.name) not in choices:
                problems.append(f"{field.name}={getattr(self, field.name)!r} must be one of {', '.join(choices)}")
        if problems:
            raise ValueError("; ".join(problems))

    def training(self) -> dict:
        """The Trainer's settings: flags where given, else the architecture's recipe."""
        recipe = RECIPES[self.arch]
        config = TrainingConfig(
            arch=self.arch, epochs=self.epochs or recipe.epochs, batch_size=self.batch_size or recipe.batch_size,
            learning_rate=self.learning_rate or recipe.learning_rate,
            lr_schedule=recipe.lr_schedule if self.lr_schedule == "auto" else self.lr_schedule,
            patience=self.patience, validation_fraction=self.validation_fraction,
            augment=recipe.augment if self.augment == "auto" else self.augment == "on",
            seed=self.seed, distribution=self.distribution, in_memory_gb=self.in_memory_gb)
        return dataclasses.asdict(config)

    @property
    def pipeline_root(self) -> str:
        return os.path.join(self.output_dir, "pipeline_root")

    @property
    def metadata_path(self) -> str:
        return os.path.join(self.output_dir, "metadata.sqlite")

    @property
    def serving_dir(self) -> str:
        return serving_layout.serving_dir_in(self.output_dir)

    def beam_pipeline_args(self, setup_file: str = SETUP_FILE) -> list[str]:
        """setup_file: this project's setup.py where the Beam jobs run, staged for remote runners."""
        extra = shlex.split(self.beam_args)
        if not any(arg.startswith(BEAM_DEPENDENCY_FLAGS) for arg in extra):
            extra.append(f"--setup_file={setup_file}")
        if any(arg.startswith("--runner") for arg in extra):
            return extra
        # The engine behind Beam's DirectRunner, named, since DirectRunner first tries to download Prism.
        args = ["--runner=FnApiRunner", f"--direct_running_mode={self.direct_running_mode}"]
        if self.direct_running_mode != "in_memory":
            args.append(f"--direct_num_workers={self.beam_workers or os.cpu_count()}")
        return args + extra


def env_name(field_name: str) -> str:
    return ENV_OVERRIDES.get(field_name, ENV_PREFIX + field_name.upper())


def add_flags(parser: argparse.ArgumentParser, exclude=()) -> None:
    """A flag per option, but those named in exclude (field names)."""
    for field in dataclasses.fields(PipelineConfig):
        if field.name in exclude:
            continue
        choices = field.metadata["choices"]
        parser.add_argument("--" + field.name.replace("_", "-"), type=type(field.default), default=field.default,
                            choices=choices, metavar=None if choices else field.name.upper(),
                            help=f"{field.metadata['help']} ("
                                 + (f"default: {field.default!r}; " if field.default != "" else "")
                                 + f"env {env_name(field.name)})")


def from_env(environ=os.environ) -> PipelineConfig:
    """A config from MNIST_TFX_* variables (and MNIST_DIR); unset ones keep their defaults."""
    values = {}
    for field in dataclasses.fields(PipelineConfig):
        raw = environ.get(env_name(field.name))
        if raw is not None:
            try:
                values[field.name] = type(field.default)(raw)
            except ValueError:
                raise ValueError(f"{env_name(field.name)}={raw!r}: expected {type(field.default).__name__}") from None
    return PipelineConfig(**values)
