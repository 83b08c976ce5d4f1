"""The MNIST TFX DAG. This module only wires components; settings come from PipelineConfig."""
import os

# Modules rather than `tfx.v1`, whose import also loads every cloud extension.
from tfx.components import Evaluator, StatisticsGen, Trainer, Transform
from tfx.dsl.components.common.importer import IMPORT_RESULT_KEY, Importer
from tfx.dsl.components.common.resolver import Resolver
from tfx.dsl.input_resolution.strategies.latest_blessed_model_strategy import LatestBlessedModelStrategy
from tfx.orchestration.pipeline import Pipeline
from tfx.proto import trainer_pb2
from tfx.types import Channel, standard_artifacts

import components.mnist_example_gen
import components.tflite_pusher
import models

from components.baseline_evaluator.previous_blessed_model import CANDIDATE_KEY, PreviousBlessedModelStrategy
from components.baseline_evaluator.component import BaselineEvaluator
from components.data_fingerprint.component import DataFingerprint
from components.import_schema_gen.component import ImportSchemaGen
from components.mnist_example_gen.component import MnistExampleGen
from components.mnist_example_gen.datasets import DATASETS
from components.strict_example_validator.component import StrictExampleValidator
from components.tflite_pusher import serving_layout
from components.tflite_pusher.component import TFLitePusher
from pipeline.config import PIPELINE_NAME, SETUP_FILE, PipelineConfig
from components.baseline_evaluator.evaluation import eval_config
from pipeline.fingerprint import source_fingerprint

SCHEMA_FILE = os.path.join(os.path.dirname(__file__), "schema", "schema.pbtxt")
BASELINE_IMPORTER = "BaselineImporter"


def create_pipeline(config: PipelineConfig, pipeline_root: str, serving_dir: str, schema_file: str = SCHEMA_FILE,
                    metadata_connection_config=None, setup_file: str = SETUP_FILE, on_kubeflow: bool = False,
                    keep_resolver: bool = False) -> Pipeline:
    """The DAG. schema_file and setup_file are paths where the components run.

    on_kubeflow: no TFX driver runs there, so a DataFingerprint task fingerprints the data; and,
    unless keep_resolver (Vertex AI Pipelines), the baseline is the serving directory brought in by
    an Importer, since open-source Kubeflow cannot run a Resolver."""
    dataset = DATASETS[config.dataset]
    code_versions = {"code_version": source_fingerprint(models)}
    # On Kubeflow: what ExampleGen's driver resolves locally, the data fingerprint it reads and is cached by.
    data_fingerprint = DataFingerprint(config.data_dir, config.dataset, config.max_spans) if on_kubeflow else None
    # Reads the MNIST files (checksums verified) into `train` and `eval` tf.Examples.
    example_gen = MnistExampleGen(data_dir=config.data_dir, dataset=config.dataset,
                                  max_train_examples=config.max_train_examples,
                                  max_eval_examples=config.max_eval_examples, max_spans=config.max_spans,
                                  code_version=source_fingerprint(components.mnist_example_gen),
                                  data_fingerprint=data_fingerprint.value if data_fingerprint else None)
    # Imports the curated schema: 784 pixels in 0-255, label in 0-9 with every digit present
    # (this repository's copy, wherever the component runs).
    schema_gen = ImportSchemaGen(schema_file=schema_file, local_schema_file=SCHEMA_FILE)
    # Computes statistics of both splits (the schema marks the label categorical, so digits are counted).
    statistics_gen = StatisticsGen(examples=example_gen.outputs["examples"],
                                   schema=schema_gen.outputs["schema"])
    # Fails the run on any anomaly against the schema, before anything is trained.
    example_validator = StrictExampleValidator(statistics=statistics_gen.outputs["statistics"],
                                               schema=schema_gen.outputs["schema"])
    # Analyzes the pixel range; the resulting graph is embedded in every exported model.
    transform = Transform(examples=example_gen.outputs["examples"],
                          schema=schema_gen.outputs["schema"],
                          preprocessing_fn="models.preprocessing.preprocessing_fn",
                          materialize=False, disable_statistics=True,
                          custom_config=code_versions)
    transform.add_upstream_node(example_validator)
    # Trains the chosen architecture on the `train` split only.
    training = config.training()
    trainer = Trainer(run_fn="models.trainer.run_fn",
                      examples=example_gen.outputs["examples"],
                      transform_graph=transform.outputs["transform_graph"],
                      schema=schema_gen.outputs["schema"],
                      train_args=trainer_pb2.TrainArgs(splits=["train"]),
                      eval_args=trainer_pb2.EvalArgs(splits=["eval"], num_steps=0),
                      custom_config={**training, **code_versions})
    # Finds the last blessed model, the baseline the new one must not fall behind.
    if on_kubeflow and not keep_resolver:
        # The serving directory's LATEST file (a fixed URI) as a Model; BaselineEvaluator takes the
        # version it names. KFP's launcher downloads every input whole, so this is a pointer, not the
        # directory of every version. The id is an Argo task name: letters, digits and '-' only.
        baseline = Importer(source_uri=os.path.join(serving_dir, serving_layout.LATEST_FILE),
                            artifact_type=standard_artifacts.Model).with_id(BASELINE_IMPORTER)
        baseline_model, evaluator_class = baseline.outputs[IMPORT_RESULT_KEY], BaselineEvaluator
    else:
        # Locally never the candidate itself, so an unchanged rerun after a push is a full cache hit;
        # Vertex AI Pipelines compiles only TFX's own strategies.
        strategy, candidate = ((LatestBlessedModelStrategy, {}) if on_kubeflow else
                               (PreviousBlessedModelStrategy, {CANDIDATE_KEY: trainer.outputs["model"]}))
        baseline = Resolver(strategy_class=strategy, model=Channel(type=standard_artifacts.Model),
                            model_blessing=Channel(type=standard_artifacts.ModelBlessing), **candidate
                            ).with_id("latest_blessed_model_resolver")
        baseline_model, evaluator_class = baseline.outputs["model"], Evaluator
    # Scores the model on `eval` (overall, per digit, per source) and blesses it if it passes both gates.
    evaluator = evaluator_class(
        examples=example_gen.outputs["examples"], model=trainer.outputs["model"], baseline_model=baseline_model,
        example_splits=["eval"],
        eval_config=eval_config(config.accuracy_threshold, config.max_regression, config.dataset)).with_id("Evaluator")
    # If blessed: converts to TFLite, checks it on `eval` in LiteRT against the evaluated model, publishes it.
    pusher = TFLitePusher(model=trainer.outputs["model"], model_blessing=evaluator.outputs["blessing"],
                          evaluation=evaluator.outputs["evaluation"], examples=example_gen.outputs["examples"],
                          serving_dir=serving_dir, quantize=config.quantize,
                          max_quantization_drop=config.max_quantization_drop,
                          keep_versions=config.keep_versions,
                          custom_config={"architecture": config.arch, "dataset": config.dataset,
                          "labels": list(dataset.labels), "training": training,
                          "author": config.model_author, "license": config.model_license,
                          "pusher_code_version": source_fingerprint(components.tflite_pusher),
                          **code_versions})
    return Pipeline(
        pipeline_name=PIPELINE_NAME,
        pipeline_root=pipeline_root,
        components=[c for c in (data_fingerprint, example_gen, statistics_gen, schema_gen, example_validator, transform, trainer,
                                baseline, evaluator, pusher) if c],
        enable_cache=True,
        metadata_connection_config=metadata_connection_config,
        beam_pipeline_args=config.beam_pipeline_args(setup_file),
    )
