from tfx.types import standard_artifacts

from components.baseline_evaluator.previous_blessed_model import CANDIDATE_KEY, PreviousBlessedModelStrategy


def model(artifact_id: int) -> standard_artifacts.Model:
    artifact = standard_artifacts.Model()
    artifact.id = artifact_id
    return artifact


def blessing(model_id: int, blessed: bool) -> standard_artifacts.ModelBlessing:
    # What TFX's Evaluator records on its blessing (tfx/components/evaluator/executor.py).
    artifact = standard_artifacts.ModelBlessing()
    artifact.set_int_custom_property("current_model_id", model_id)
    artifact.set_int_custom_property("blessed", int(blessed))
    return artifact


def baseline_of(candidate: int, models: list[int], blessings: list[tuple[int, bool]]) -> list[int]:
    resolved = PreviousBlessedModelStrategy().resolve_artifacts(None, {
        "model": [model(i) for i in models], "model_blessing": [blessing(*b) for b in blessings],
        CANDIDATE_KEY: [model(candidate)]})
    assert [m.id for m in resolved[CANDIDATE_KEY]] == [candidate]
    return [m.id for m in resolved["model"]]


def test_the_first_model_has_no_baseline_before_or_after_its_blessing():
    assert baseline_of(1, [1], []) == []
    assert baseline_of(1, [1], [(1, True)]) == []


def test_a_new_model_is_compared_with_the_latest_blessed_one_and_keeps_it_once_blessed_itself():
    history = [(1, True), (2, False), (3, True), (4, False)]
    assert baseline_of(5, [1, 2, 3, 4, 5], history) == [3]
    assert baseline_of(5, [1, 2, 3, 4, 5], [*history, (5, True)]) == [3]


def test_an_older_model_trained_again_from_cache_is_compared_with_the_latest_other_blessed_one():
    assert baseline_of(1, [1, 2, 3], [(1, True), (3, True)]) == [3]
