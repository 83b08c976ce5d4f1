"""ImportSchemaGen: TFX's, with the schema's sha256 in its cache key, so an edited schema is imported again."""
from tfx import types
from tfx.components.schema_gen.import_schema_gen import component as tfx_import_schema_gen
from tfx.dsl.components.base import base_component
from tfx.types import standard_artifacts

from components.files import sha256_of
from components.import_schema_gen.spec import ImportSchemaGenSpec


class ImportSchemaGen(tfx_import_schema_gen.ImportSchemaGen):
    SPEC_CLASS = ImportSchemaGenSpec

    def __init__(self, schema_file: str, local_schema_file: str | None = None):
        """schema_file: the path where the component runs; local_schema_file: the same file here, to
        fingerprint (on Kubeflow the first is inside the image)."""
        spec = ImportSchemaGenSpec(schema_file=schema_file, schema_sha256=sha256_of(local_schema_file or schema_file),
                                   schema=types.Channel(type=standard_artifacts.Schema))
        base_component.BaseComponent.__init__(self, spec=spec)
