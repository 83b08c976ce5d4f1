import pytest

from models import architectures


@pytest.mark.parametrize("name, params", [("mlp", 101_770), ("cnn", 93_322)])
def test_parameter_counts_match_the_original_write_up(name, params):
    model = architectures.build(name)
    assert model.count_params() == params
    assert model.output_shape == (None, 10)


def test_unknown_architecture_names_the_choices():
    with pytest.raises(ValueError, match="mlp, cnn"):
        architectures.build("vgg")
