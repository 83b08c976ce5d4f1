"""The command of every TFX task on Kubeflow Pipelines: TFX's own entrypoint
(kubeflow_v2_run_executor), handed the ExecutorInput in the form TFX reads rather than the form
open-source KFP's driver sends. Each difference, with the KFP source that causes it, is in
docs/kubeflow.md; the spec passes `--task` and the component's own outputs (kubeflow/spec.py).

    python -m kubeflow.entrypoint --task NAME --json_serialized_outputs_spec_args JSON \\
        --executor_class_path ... --json_serialized_invocation_args {{$}} \\
        --json_serialized_inputs_spec_args JSON [beam args]

What it cannot turn into TFX's form is one line naming the task and the field, then exit 1.
"""
import argparse
import json
import sys

TASK_FLAG = "--task"
OUTPUTS_SPEC_FLAG = "--json_serialized_outputs_spec_args"
INVOCATION_FLAG = "--json_serialized_invocation_args"
INPUTS_SPEC_FLAG = "--json_serialized_inputs_spec_args"
# Custom properties KFP's launcher adds to every artifact it records (metadata/client.go).
KFP_METADATA_KEYS = ("display_name", "store_session_info")
# KFP stores a list or struct value as a struct with one of these keys (metadata/converter.go,
# StructValueToMLMDValue) and reads it back still wrapped (toRuntimeArtifact).
KFP_WRAPPERS = ("list", "struct")


class Unusable(Exception):
    """The ExecutorInput has something this entrypoint cannot turn into TFX's form."""


def _has_type(artifact: dict) -> bool:
    artifact_type = artifact.get("type") or {}
    return bool(artifact_type.get("schemaTitle") or artifact_type.get("instanceSchema"))


def unwrap_metadata(metadata: dict) -> dict:
    """An artifact's metadata as TFX wrote it: without KFP's own keys, lists and structs unwrapped."""
    unwrapped = {}
    for key, value in metadata.items():
        if key in KFP_METADATA_KEYS:
            continue
        if isinstance(value, dict) and len(value) == 1 and next(iter(value)) in KFP_WRAPPERS:
            value = next(iter(value.values()))
        unwrapped[key] = value
    return unwrapped


def adapt(task: str, executor_input: dict, inputs_spec: dict, outputs_spec: dict) -> dict:
    """executor_input with each input typed as the inputs spec declares where KFP left the type
    empty, KFP's metadata in TFX's form, and only the outputs the component defines."""
    for key, listed in executor_input.get("inputs", {}).get("artifacts", {}).items():
        declared = inputs_spec.get("artifacts", {}).get(key, {}).get("artifactType")
        for artifact in listed.get("artifacts", []):
            if not _has_type(artifact):
                if not declared:
                    raise Unusable(f"task {task}: inputs.artifacts.{key}: no type, and the inputs spec declares none")
                artifact["type"] = declared
            artifact["metadata"] = unwrap_metadata(artifact.get("metadata", {}))
    outputs = executor_input.get("outputs", {})
    if "outputFile" not in outputs:
        raise Unusable(f"task {task}: outputs.outputFile: missing")
    provided = outputs.get("artifacts", {})
    for key in outputs_spec.get("artifacts", {}):
        if not provided.get(key, {}).get("artifacts"):
            raise Unusable(f"task {task}: outputs.artifacts.{key}: the component defines it, KFP provided no URI")
    # The rest (executor-logs) is the launcher's to write and record.
    outputs["artifacts"] = {key: provided[key] for key in outputs_spec.get("artifacts", {})}
    return executor_input


def _parse(argv: list[str]) -> tuple[argparse.Namespace, list[str]]:
    """Our flags and TFX's; the rest are Beam's, passed on as TFX's entrypoint passes them."""
    parser = argparse.ArgumentParser(prog="python -m kubeflow.entrypoint", add_help=False, allow_abbrev=False)
    parser.add_argument(TASK_FLAG, default="?")
    for flag in (OUTPUTS_SPEC_FLAG, INPUTS_SPEC_FLAG, INVOCATION_FLAG, "--executor_class_path"):
        parser.add_argument(flag, default=None)
    return parser.parse_known_args(argv)


def _json(args: argparse.Namespace, flag: str) -> dict:
    text = getattr(args, flag.removeprefix("--"))
    if text is None:
        raise Unusable(f"task {args.task}: {flag}: missing")
    try:
        return json.loads(text)
    except json.JSONDecodeError as e:
        raise Unusable(f"task {args.task}: {flag}: not JSON ({e})") from None


def main(argv: list[str]) -> int:
    """1 for an ExecutorInput it cannot adapt; otherwise TFX runs, and absl's app exits with its outcome."""
    args, beam_args = _parse(argv)
    try:
        if not args.executor_class_path:
            raise Unusable(f"task {args.task}: --executor_class_path: missing")
        executor_input = adapt(args.task, _json(args, INVOCATION_FLAG), _json(args, INPUTS_SPEC_FLAG),
                               _json(args, OUTPUTS_SPEC_FLAG))
    except Unusable as e:
        print(f"mnist-tfx kubeflow entrypoint: {e}", file=sys.stderr)
        return 1
    from absl import app
    from tfx.orchestration.kubeflow.v2.container import kubeflow_v2_run_executor
    parsed = argparse.Namespace(executor_class_path=args.executor_class_path,
                                json_serialized_invocation_args=json.dumps(executor_input),
                                json_serialized_inputs_spec_args=args.json_serialized_inputs_spec_args)
    # absl's app initialises its flags and logging, and exits, as TFX's own `__main__` does.
    app.run(lambda _: kubeflow_v2_run_executor.main((parsed, beam_args)), argv=[sys.argv[0]])


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
