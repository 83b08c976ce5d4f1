"""Each architecture's name, one-line summary and training recipe, and the settings the Trainer takes:
plain data without TensorFlow, so that the CLI lists and checks them at once. The builders are in
models/architectures.py, under the same names."""
import dataclasses

LR_SCHEDULES = ("one_cycle", "cosine", "constant")
DISTRIBUTIONS = ("auto", "default", "mirrored", "multi_worker")


@dataclasses.dataclass(frozen=True)
class Recipe:
    """Defaults chosen so that a default run on full MNIST beats the original write-up's plain Keras results (docs/design.md)."""
    summary: str
    epochs: int
    batch_size: int
    learning_rate: float  # the peak rate under one_cycle
    augment: bool
    lr_schedule: str


RECIPES = {
    "mlp": Recipe("The original write-up's MLP: Flatten, Dense 128 relu, Dense 10 softmax (101,770 parameters).",
                  epochs=30, batch_size=128, learning_rate=1e-3, augment=True, lr_schedule="cosine"),
    "cnn": Recipe("The original write-up's CNN: 3 conv, 2 pool, Dense 64, Dense 10 (93,322 parameters).",
                  epochs=15, batch_size=64, learning_rate=1e-3, augment=True, lr_schedule="cosine"),
    "cnn_bn": Recipe("3 conv, 2 pool, Dense 128, Dense 10, batch norm after each hidden layer (243,114 parameters).",
                     epochs=6, batch_size=128, learning_rate=4e-3, augment=True, lr_schedule="one_cycle"),
    "resnet50v2": Recipe("Keras Applications ResNet50V2, untrained, 1 channel at 32x32 (23,579,018 parameters).",
                         epochs=4, batch_size=128, learning_rate=1e-3, augment=False, lr_schedule="cosine"),
    "mobilenetv2": Recipe("Keras Applications MobileNetV2, untrained, 1 channel at 32x32 (2,270,218 parameters).",
                          epochs=10, batch_size=128, learning_rate=2e-3, augment=False, lr_schedule="cosine"),
    "efficientnetb0": Recipe("Keras Applications EfficientNetB0, untrained, 1 channel at 64x64 "
                             "(4,061,801 parameters).",
                             epochs=8, batch_size=128, learning_rate=2e-3, augment=False, lr_schedule="cosine"),
}


@dataclasses.dataclass(frozen=True)
class TrainingConfig:
    """Every field given: PipelineConfig.training() fills them from the flags and the recipe."""
    arch: str
    epochs: int
    batch_size: int
    learning_rate: float
    lr_schedule: str
    patience: int  # epochs without a lower validation loss before stopping; 0: never stop early
    validation_fraction: float
    augment: bool
    seed: int
    distribution: str
    in_memory_gb: float  # a larger transformed training split is sorted on local disk and streamed

    @classmethod
    def from_custom_config(cls, custom_config: dict | None) -> "TrainingConfig":
        known = {f.name for f in dataclasses.fields(cls)}
        return cls(**{k: v for k, v in (custom_config or {}).items() if k in known})
