"""Shared fixtures: real MNIST from $MNIST_DIR (else where a first `mnist-tfx run` downloaded it),
never downloaded in tests."""
import os

os.environ.setdefault("TF_USE_LEGACY_KERAS", "1")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np  # noqa: E402
import pytest  # noqa: E402

PROJECT_DIR = os.path.dirname(os.path.abspath(__file__))


def _data_dir(name: str, env: str) -> str:
    from components.mnist_example_gen import datasets, download
    path = os.environ.get(env) or download.default_cache_dir(datasets.DATASETS[name])
    if not os.path.isfile(os.path.join(path, "train-images-idx3-ubyte.gz")):
        pytest.fail(f"{os.path.abspath(path)}: the tests need the four canonical {name} IDX .gz files; "
                    f"set {env} to their directory", pytrace=False)
    return os.path.abspath(path)


@pytest.fixture(scope="session")
def mnist_dir() -> str:
    return _data_dir("mnist", "MNIST_DIR")


@pytest.fixture(scope="session")
def fashion_mnist_dir() -> str:
    return _data_dir("fashion_mnist", "FASHION_MNIST_DIR")


@pytest.fixture(scope="session")
def mnist_eval(mnist_dir):
    from components.mnist_example_gen import mnist_data
    return mnist_data.load_split(mnist_dir, "eval")


@pytest.fixture(scope="session")
def mnist_train_slice(mnist_dir):
    from components.mnist_example_gen import mnist_data
    images, labels = mnist_data.load_split(mnist_dir, "train")
    return np.ascontiguousarray(images[:2000]), np.ascontiguousarray(labels[:2000])


@pytest.fixture(scope="session")
def transform_output(mnist_train_slice, tmp_path_factory):
    """A real tf.Transform graph analyzed with Beam on 2,000 real training images."""
    import apache_beam as beam
    import tensorflow_transform as tft
    import tensorflow_transform.beam as tft_beam
    from apache_beam.options.pipeline_options import PipelineOptions
    from tensorflow_transform.tf_metadata import dataset_metadata, metadata_io, schema_utils
    from tfx.utils import io_utils
    from tensorflow_metadata.proto.v0 import schema_pb2

    from models.preprocessing import preprocessing_fn

    schema = io_utils.parse_pbtxt_file(os.path.join(PROJECT_DIR, "pipeline", "schema", "schema.pbtxt"),
                                       schema_pb2.Schema())
    metadata = dataset_metadata.DatasetMetadata(schema)
    images, labels = mnist_train_slice
    rows = [{"image": image.astype(np.int64), "label": int(label), "source": b"mnist"}
            for image, label in zip(images.reshape(-1, 784), labels)]
    out = str(tmp_path_factory.mktemp("transform"))
    options = PipelineOptions(["--runner=FnApiRunner", "--direct_running_mode=in_memory"])
    with beam.Pipeline(options=options) as pipeline, tft_beam.Context(temp_dir=os.path.join(out, "tmp")):
        transform_fn = (pipeline | beam.Create(rows), metadata) | tft_beam.AnalyzeDataset(preprocessing_fn)
        _ = transform_fn | tft_beam.WriteTransformFn(out)
    metadata_io.write_metadata(metadata, os.path.join(out, tft.TFTransformOutput.RAW_METADATA_DIR))
    assert schema_utils.schema_as_feature_spec(schema).feature_spec.keys() == {"image", "label", "source"}
    return tft.TFTransformOutput(out)


@pytest.fixture(scope="session")
def exported_mlp(transform_output, mnist_train_slice, tmp_path_factory):
    """An MLP trained five epochs on 2,000 real images, exported like the Trainer does."""
    import tf_keras as keras

    from models import architectures, trainer
    keras.utils.set_random_seed(7)
    images, labels = mnist_train_slice
    pixels = transform_output.transform_features_layer()({"image": images.reshape(-1, 784).astype(np.int64)})["image"]
    model = architectures.build("mlp")
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
    model.fit(pixels, labels, epochs=5, batch_size=64, verbose=0)
    export_dir = str(tmp_path_factory.mktemp("model"))
    trainer.export(model, transform_output, export_dir)
    return export_dir


@pytest.fixture(scope="session")
def kubeflow_spec(tmp_path_factory):
    """One `mnist-tfx kubeflow compile` with tests/helpers.py's KUBEFLOW_COMPILE flags, read by the
    kubeflow/ tests: (the finished process, the spec's path). Nothing may write to it."""
    from tests.helpers import compile_with_cli
    path = tmp_path_factory.mktemp("kubeflow-spec") / "pipeline.yaml"
    return compile_with_cli(path), path
