"""What a run did, read back from ML Metadata: each component's state, time and settings, the
gate's verdict and the push."""
import dataclasses
import datetime
import json

from ml_metadata.metadata_store import metadata_store
from ml_metadata.proto import metadata_store_pb2
from tfx.types import standard_component_specs

from components.tflite_pusher.spec import NOT_PUSHED_REASON_KEY

PIPELINE_RUN_CONTEXT = "pipeline_run"
_STATES = {metadata_store_pb2.Execution.COMPLETE: "complete", metadata_store_pb2.Execution.CACHED: "cached",
           metadata_store_pb2.Execution.FAILED: "failed", metadata_store_pb2.Execution.RUNNING: "running",
           metadata_store_pb2.Execution.CANCELED: "canceled", metadata_store_pb2.Execution.NEW: "new"}


@dataclasses.dataclass
class ComponentRun:
    name: str
    state: str
    seconds: float
    outputs: dict  # output key -> list of artifact custom properties (dicts)
    properties: dict  # the execution's properties (the component's settings)
    started: float  # seconds since the epoch


@dataclasses.dataclass
class RunOutcome:
    run_id: str
    components: list

    def component(self, name: str) -> ComponentRun | None:
        return next((c for c in self.components if c.name == name), None)

    def output(self, component: str, key: str) -> dict:
        """The first artifact of that output (its uri and custom properties), or {}."""
        run = self.component(component)
        return ((run.outputs.get(key) or [{}]) if run else [{}])[0]

    @property
    def started(self) -> datetime.datetime:
        return datetime.datetime.fromtimestamp(min(c.started for c in self.components), datetime.timezone.utc)

    @property
    def training(self) -> dict:
        trainer = self.component("Trainer")
        return json.loads(trainer.properties.get(standard_component_specs.CUSTOM_CONFIG_KEY) or "{}") if trainer else {}

    @property
    def blessed(self) -> bool | None:
        blessing = self.output("Evaluator", "blessing")
        return bool(blessing["blessed"]) if "blessed" in blessing else None

    @property
    def pushed(self) -> dict:
        """The push's properties (pushed_version, pushed_destination, tflite_accuracy) if it pushed, else {}."""
        pushed = self.output("TFLitePusher", standard_component_specs.PUSHED_MODEL_KEY)
        return pushed if pushed.get("pushed") == 1 else {}

    @property
    def not_pushed_reason(self) -> str:
        pushed_model = self.output("TFLitePusher", standard_component_specs.PUSHED_MODEL_KEY)
        return pushed_model.get(NOT_PUSHED_REASON_KEY, "the Pusher did not run")


def open_store(metadata_path: str, read_only: bool = True) -> metadata_store.MetadataStore:
    config = metadata_store_pb2.ConnectionConfig()
    config.sqlite.filename_uri = metadata_path
    config.sqlite.connection_mode = (metadata_store_pb2.SqliteMetadataSourceConfig.READONLY if read_only
                                     else metadata_store_pb2.SqliteMetadataSourceConfig.READWRITE_OPENCREATE)
    return metadata_store.MetadataStore(config)


def _value(value: metadata_store_pb2.Value):
    kind = value.WhichOneof("value")
    return getattr(value, kind) if kind in ("int_value", "double_value", "string_value") else None


def run_ids(metadata_path: str, store=None) -> list[str]:
    """Run ids, oldest first."""
    contexts = (store or open_store(metadata_path)).get_contexts_by_type(PIPELINE_RUN_CONTEXT)
    return [c.name for c in sorted(contexts, key=lambda c: c.create_time_since_epoch)]


def read_run(metadata_path: str, run_id: str | None = None, store=None, with_outputs: bool = True) -> RunOutcome:
    """The given run, or the latest one; without outputs it is a cheaper read of the components' states."""
    store = store or open_store(metadata_path)
    run_id = run_id or run_ids(metadata_path, store)[-1]
    context = store.get_context_by_type_and_name(PIPELINE_RUN_CONTEXT, run_id)
    execution_types = {t.id: t.name for t in store.get_execution_types()}
    components = []
    for execution in sorted(store.get_executions_by_context(context.id), key=lambda e: e.create_time_since_epoch):
        outputs = {}
        events = [e for e in store.get_events_by_execution_ids([execution.id])
                  if e.type == metadata_store_pb2.Event.OUTPUT] if with_outputs else []
        artifacts = {a.id: a for a in store.get_artifacts_by_id([e.artifact_id for e in events])} if events else {}
        for event in events:
            key = event.path.steps[0].key if event.path.steps else ""
            properties = {k: _value(v) for k, v in artifacts[event.artifact_id].custom_properties.items()}
            outputs.setdefault(key, []).append({"uri": artifacts[event.artifact_id].uri, **properties})
        components.append(ComponentRun(
            name=execution_types[execution.type_id].rsplit(".", 1)[-1],
            state=_STATES.get(execution.last_known_state, "unknown"),
            seconds=(execution.last_update_time_since_epoch - execution.create_time_since_epoch) / 1000,
            outputs=outputs,
            properties={k: _value(v) for k, v in execution.custom_properties.items()},
            started=execution.create_time_since_epoch / 1000))
    return RunOutcome(run_id=run_id, components=components)
