"""The real ImportSchemaGen in a one-node TFX pipeline (LocalDagRunner, ML Metadata in SQLite)."""
import hashlib
import os

from ml_metadata import metadata_store
from ml_metadata.proto import metadata_store_pb2
from tfx.orchestration.local.local_dag_runner import LocalDagRunner
from tfx.orchestration.metadata import sqlite_metadata_connection_config
from tfx.orchestration.pipeline import Pipeline
from tfx.types import standard_component_specs

from components.import_schema_gen.component import ImportSchemaGen
from components.import_schema_gen.spec import SCHEMA_SHA256_KEY

SCHEMA = 'feature { name: "label" type: INT }\n'


def run_and_read(tmp_path, schema_file):
    """Runs the pipeline; returns the ImportSchemaGen execution's state and the schema it output."""
    config = sqlite_metadata_connection_config(str(tmp_path / "metadata.sqlite"))
    LocalDagRunner().run(Pipeline(pipeline_name="schema", pipeline_root=str(tmp_path / "root"),
                                  components=[ImportSchemaGen(schema_file=str(schema_file))], enable_cache=True,
                                  metadata_connection_config=config))
    store = metadata_store.MetadataStore(config)
    execution = max(store.get_executions(), key=lambda e: e.id)
    [output] = store.get_artifacts_by_id([event.artifact_id for event in store.get_events_by_execution_ids([execution.id])
                                          if event.type == metadata_store_pb2.Event.OUTPUT])
    with open(os.path.join(output.uri, "schema.pbtxt")) as f:
        return metadata_store_pb2.Execution.State.Name(execution.last_known_state), f.read()


def test_an_edited_schema_is_imported_again_and_an_unchanged_one_is_cached(tmp_path):
    schema_file = tmp_path / "schema.pbtxt"
    schema_file.write_text(SCHEMA)
    assert run_and_read(tmp_path, schema_file) == ("COMPLETE", SCHEMA)
    assert run_and_read(tmp_path, schema_file) == ("CACHED", SCHEMA)
    edited = SCHEMA + 'feature { name: "source" type: BYTES }\n'
    schema_file.write_text(edited)
    assert run_and_read(tmp_path, schema_file) == ("COMPLETE", edited)


def test_the_fingerprint_is_of_the_local_copy_when_the_component_runs_elsewhere(tmp_path):
    local = tmp_path / "schema.pbtxt"
    local.write_text(SCHEMA)
    component = ImportSchemaGen(schema_file="/pipeline/schema/schema.pbtxt", local_schema_file=str(local))
    assert component.exec_properties[standard_component_specs.SCHEMA_FILE_KEY] == "/pipeline/schema/schema.pbtxt"
    assert component.exec_properties[SCHEMA_SHA256_KEY] == hashlib.sha256(SCHEMA.encode()).hexdigest()
