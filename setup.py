"""mnist-tfx: a TFX pipeline that trains an MNIST classifier and ships it as TFLite."""
from setuptools import find_packages, setup

setup(
    name="mnist-tfx",
    version="0.1.0",
    description="TFX pipeline: MNIST -> validated, normalized, trained, gated -> verified TFLite model",
    python_requires=">=3.11,<3.12",
    packages=find_packages(include=["pipeline", "pipeline.*", "components", "components.*", "models", "models.*", "kubeflow", "kubeflow.*"]),
    py_modules=["mnist_tfx"],  # the entry point over both CLIs
    install_requires=[
        "tfx==1.21.0",
        "tf-keras>=2.21,<2.22",
        "tensorboard>=2.20",
        "ai-edge-litert>=2.0",
        "kfp>=2.6,<2.17",
        "matplotlib>=3.8",  # the report's figures
    ],
    extras_require={"test": ["pytest>=8", "pytest-timeout",
                             "scikit-learn>=1.3"]},  # its bundled digits: a second, real source of handwriting
    entry_points={"console_scripts": ["mnist-tfx=mnist_tfx:main"]},
)
