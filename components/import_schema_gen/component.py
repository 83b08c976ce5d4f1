"""ImportSchemaGen: TFX's, with the schema's sha256 among its execution properties.

TFX caches ImportSchemaGen on the schema's path alone, so after an edit to the schema (or an
upgrade of mnist-tfx) a rerun in the same output dir would validate against the old one.
"""
from tfx import types
from tfx.components.schema_gen.import_schema_gen import component as tfx_import_schema_gen
from tfx.dsl.components.base import base_component
from tfx.types import standard_artifacts, standard_component_specs
from tfx.types.component_spec import ExecutionParameter

from components.files import sha256_of

SCHEMA_SHA256_KEY = "schema_sha256"


class ImportSchemaGenSpec(standard_component_specs.ImportSchemaGenSpec):
    PARAMETERS = {**standard_component_specs.ImportSchemaGenSpec.PARAMETERS,
                  SCHEMA_SHA256_KEY: ExecutionParameter(type=str)}


class ImportSchemaGen(tfx_import_schema_gen.ImportSchemaGen):
    SPEC_CLASS = ImportSchemaGenSpec

    def __init__(self, schema_file: str, local_schema_file: str | None = None):
        """schema_file: the path where the component runs; local_schema_file: the same file here, to
        fingerprint (on Kubeflow the first is inside the image)."""
        spec = ImportSchemaGenSpec(schema_file=schema_file, schema_sha256=sha256_of(local_schema_file or schema_file),
                                   schema=types.Channel(type=standard_artifacts.Schema))
        base_component.BaseComponent.__init__(self, spec=spec)
