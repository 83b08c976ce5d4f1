"""The datasets the pipeline reads: their canonical files with sha256, where they download from, their
labels, and which files hold each of the pipeline's splits."""
from dataclasses import dataclass


@dataclass(frozen=True)
class Dataset:
    name: str
    files: dict  # canonical file name -> sha256
    download_url: str
    labels: tuple
    npz_name: str | None = None


MNIST = Dataset(
    name="mnist",
    files={
        "train-images-idx3-ubyte.gz": "440fcabf73cc546fa21475e81ea370265605f56be210a4024d2ca8f203523609",
        "train-labels-idx1-ubyte.gz": "3552534a0a558bbed6aed32b30c495cca23d567ec52cac8be1a0730e8010255c",
        "t10k-images-idx3-ubyte.gz": "8d422c7b0a1c1c79245a5bcf07fe86e33eeafee792b84584aec276f5a2dbc4e6",
        "t10k-labels-idx1-ubyte.gz": "f7ae60f92e00ec6debd23a6088c31dbd2371eca3ffa0defaefb259924204aec6",
    },
    download_url="https://storage.googleapis.com/cvdf-datasets/mnist/",
    labels=tuple(str(d) for d in range(10)),
    npz_name="mnist.npz",
)
FASHION_MNIST = Dataset(
    name="fashion_mnist",
    files={
        "train-images-idx3-ubyte.gz": "3aede38d61863908ad78613f6a32ed271626dd12800ba2636569512369268a84",
        "train-labels-idx1-ubyte.gz": "a04f17134ac03560a47e3764e11b92fc97de4d1bfaf8ba1a3aa29af54cc90845",
        "t10k-images-idx3-ubyte.gz": "346e55b948d973a97e58d2351dde16a484bd415d4595297633bb08f03db6a073",
        "t10k-labels-idx1-ubyte.gz": "67da17c76eaffca5446c3361aaab5c3cd6d1c2608764d35dfb1850b086bf8dd5",
    },
    download_url="https://storage.googleapis.com/tensorflow/tf-keras-datasets/",
    labels=("T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
            "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"),
)
DATASETS = {d.name: d for d in (MNIST, FASHION_MNIST)}

# Split name in the pipeline -> file prefix of the canonical IDX files / key suffix in mnist.npz.
SPLIT_SOURCES = {"train": ("train", "train"), "eval": ("t10k", "test")}


def describe_expected(dataset: Dataset) -> str:
    names = ", ".join(dataset.files)
    npz = f", or {dataset.npz_name}" if dataset.npz_name else ""
    return f"expected {names}{npz}"
