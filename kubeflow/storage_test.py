import pytest

from kubeflow import storage

GS = ("gs://bucket/mnist-tfx", "gs://bucket/mnist", "gs://bucket/mnist-tfx/serving")


@pytest.mark.parametrize("pipeline_root, data_uri, serving_uri, says", [
    ("/mnt/artifacts", GS[1], GS[2], "--pipeline-root /mnt/artifacts: KFP writes artifacts only to gs://, s3://, "
                                     "minio://;"),
    ("s3://bucket/root", GS[1], GS[2], "--pipeline-root s3://bucket/root: TensorFlow"),
    (GS[0], "s3://bucket/mnist", GS[2], "--data-uri s3://bucket/mnist: TensorFlow"),
    (GS[0], GS[1], "/mnt/serving", "--serving-uri /mnt/serving: KFP imports the baseline only from"),
    (GS[0], GS[1], "minio://bucket/serving", "--serving-uri minio://bucket/serving: TensorFlow"),
])
def test_a_location_a_run_could_not_use_is_named_with_its_flag_and_the_fix(pipeline_root, data_uri, serving_uri,
                                                                         says):
    with pytest.raises(ValueError) as refusal:
        storage.check(pipeline_root, data_uri, serving_uri)
    assert str(refusal.value).startswith(says) and str(refusal.value).endswith(storage.HOW_TO)
    assert "\n" not in str(refusal.value)


def test_gs_and_a_mounted_data_dir_pass_and_the_serving_uri_may_default():
    storage.check(*GS)
    storage.check(GS[0], "/mnt/mnist", "")


def test_tensorflow_here_opens_gs_but_not_s3():
    """If a TensorFlow file system for s3:// ever loads, the refusal and the docs must change."""
    assert "gs" in storage.tensorflow_schemes() and "s3" not in storage.tensorflow_schemes()
