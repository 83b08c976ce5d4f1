"""TFLite Metadata inside the .tflite, as Android's ML Model Binding, the TFLite Task Library and
MediaPipe Tasks read it: name, version, author, license, the input image with its value range and
(identity) normalization, and the output's labels zipped into the file as TENSOR_AXIS_LABELS.

Written with tflite-support's own metadata writers. tflite-support 0.4.4 declares protobuf<4,
but these submodules import no protobuf code, so setup installs it with --no-deps (docs/android.md).
"""
import io
import json
import tempfile
import zipfile

from tensorflow_lite_support.metadata import metadata_schema_py_generated as metadata_fb
from tensorflow_lite_support.metadata.python import metadata
from tensorflow_lite_support.metadata.python.metadata_writers import metadata_info, metadata_writer, writer_utils

from components.tflite_pusher import serving_layout

ZIP_TIME = (1980, 1, 1, 0, 0, 0)  # the earliest a zip entry can hold


def add_metadata(model: bytes, labels: list[str], name: str, description: str, version: str, author: str,
                 license_: str) -> bytes:
    """The same model with its metadata and labels.txt packed in."""
    general = metadata_info.GeneralMd(name=name, version=version, description=description, author=author or None,
                                      licenses=license_ or None)
    image = metadata_info.InputImageTensorMd(
        name="image", description="a 28x28 image like the training data's (MNIST: a white digit on black), "
                                  "pixels 0-255; the model averages R, G and B to grey and normalizes inside",
        norm_mean=[0.0], norm_std=[1.0], color_space_type=metadata_fb.ColorSpaceType.RGB,
        tensor_type=writer_utils.get_input_tensor_types(model)[0])
    with tempfile.TemporaryDirectory() as tmp:
        labels_path = serving_layout.labels_path(tmp)  # packed under the name it has beside the model
        with open(labels_path, "w") as f:
            f.write("\n".join(labels) + "\n")
        probabilities = metadata_info.ClassificationTensorMd(
            name="probabilities", description="the probability of each class; class i is line i of labels.txt",
            label_files=[metadata_info.LabelFileMd(file_path=labels_path)],
            tensor_type=writer_utils.get_output_tensor_types(model)[0])
        writer = metadata_writer.MetadataWriter.create_from_metadata_info(
            model_buffer=model, general_md=general, input_md=[image], output_md=[probabilities],
            associated_files=[labels_path])
        return _with_fixed_zip_times(writer.populate())


def _with_fixed_zip_times(model: bytes) -> bytes:
    """The packed files zipped again, as the writer appends them, but stamped ZIP_TIME instead of
    the current time: the same model then gives the same bytes."""
    with zipfile.ZipFile(io.BytesIO(model)) as packed:
        entries = [(info, packed.read(info)) for info in packed.infolist()]
    rezipped = io.BytesIO(model[:min(info.header_offset for info, _ in entries)])
    rezipped.seek(0, io.SEEK_END)
    with zipfile.ZipFile(rezipped, "a") as archive:
        for info, data in entries:
            archive.writestr(zipfile.ZipInfo(info.filename, date_time=ZIP_TIME), data, compress_type=info.compress_type)
    return rezipped.getvalue()


def read_metadata(model: bytes) -> dict:
    """The metadata as the standard reader (tflite-support's MetadataDisplayer) gives it, plus the
    packed files' contents."""
    displayer = metadata.MetadataDisplayer.with_model_buffer(model)
    return {"metadata": json.loads(displayer.get_metadata_json()),
            "files": {name: displayer.get_associated_file_buffer(name).decode()
                      for name in displayer.get_packed_associated_file_list()}}


if __name__ == "__main__":  # python -m components.tflite_pusher.metadata model.tflite
    import sys
    with open(sys.argv[1], "rb") as f:
        print(json.dumps(read_metadata(f.read()), indent=2))
