import numpy as np
import pytest

from models import architectures
from models.recipes import RECIPES

PARAMETERS = {"mlp": 101_770, "cnn": 93_322, "cnn_bn": 243_114, "resnet50v2": 23_579_018, "mobilenetv2": 2_270_218,
              "efficientnetb0": 4_061_801}


def test_every_architecture_has_a_recipe_and_its_summary_counts_its_parameters():
    assert list(architectures.BUILDERS) == list(RECIPES)
    assert {name: f"({count:,} parameters)" in RECIPES[name].summary for name, count in PARAMETERS.items()} == {
        name: True for name in RECIPES}


@pytest.mark.parametrize("name", PARAMETERS)
def test_parameter_counts_and_output(name):
    model = architectures.build(name)
    assert model.count_params() == PARAMETERS[name]
    probabilities = model(np.random.default_rng(0).random((2, 784), dtype=np.float32)).numpy()
    assert probabilities.shape == (2, 10)
    np.testing.assert_allclose(probabilities.sum(axis=1), 1.0, rtol=1e-5)


def test_unknown_architecture_names_the_choices():
    with pytest.raises(ValueError, match="mlp, cnn, cnn_bn, resnet50v2, mobilenetv2, efficientnetb0"):
        architectures.build("vgg")
