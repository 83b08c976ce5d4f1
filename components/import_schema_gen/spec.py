"""ImportSchemaGen's keys: TFX's, plus the schema's sha256.

TFX caches ImportSchemaGen on the schema's path alone, so after an edit to the schema (or an
upgrade of mnist-tfx) a rerun in the same output dir would validate against the old one; the
sha256 among the execution properties makes an edited schema a new cache key.
"""
from tfx.types import standard_component_specs
from tfx.types.component_spec import ExecutionParameter

SCHEMA_SHA256_KEY = "schema_sha256"


class ImportSchemaGenSpec(standard_component_specs.ImportSchemaGenSpec):
    PARAMETERS = {**standard_component_specs.ImportSchemaGenSpec.PARAMETERS,
                  SCHEMA_SHA256_KEY: ExecutionParameter(type=str)}
