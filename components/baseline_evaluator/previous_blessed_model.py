"""The baseline of a local run: the latest blessed model other than the candidate.

TFX's LatestBlessedModelStrategy would return the candidate itself once it has been blessed and
pushed, so the next unchanged run would evaluate the model against itself and miss the cache.
Leaving the candidate out gives every rerun the baseline its first evaluation had."""
from tfx.dsl.input_resolution.strategies.latest_blessed_model_strategy import LatestBlessedModelStrategy

CANDIDATE_KEY = "candidate"


class PreviousBlessedModelStrategy(LatestBlessedModelStrategy):
    """Inputs: every `model`, every `model_blessing`, and the `candidate` (the Trainer's model), which
    is passed through: TFX expects an output for every input."""

    def resolve_artifacts(self, store, input_dict):
        candidate_ids = {model.id for model in input_dict[CANDIDATE_KEY]}
        others = {"model": [model for model in input_dict["model"] if model.id not in candidate_ids],
                  "model_blessing": input_dict["model_blessing"]}
        return {**super().resolve_artifacts(store, others), CANDIDATE_KEY: input_dict[CANDIDATE_KEY]}
