"""Runs a compiled KFP v2 pipeline spec task by task with the rules of open-source Kubeflow
Pipelines' backend, each ported into one function below that cites the Go function it mirrors
(kubeflow/pipelines 7b70c7b, KFP 2.17.0; paths under backend/src/v2/ unless named otherwise;
argo-workflows v4.0.8, the version KFP pins). A test fixture, not a product feature.

It refuses what the API server refuses before a run exists (task names, executor kinds, schema,
the pipeline root), builds each task's ExecutorInput as the driver does (empty input types, the
launcher's `executor-logs` output, metadata as ML Metadata stores it), then downloads the inputs,
runs the command and records the outputs as the launcher does, with KFP's cache key and importer.

The stand-ins, and nothing else: the object store is a local directory, which every rule sees as
gs://BUCKET/...; ML Metadata is a JSON file in it; a pod is a subprocess with its own download
directory. tests/test_kubeflow_e2e.py holds a negative control: TFX's stock entrypoint fails here
as it fails on real clusters (tensorflow/tfx#7768).
"""
import collections
import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import uuid

import yaml

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
STORE = ".kfp-harness-metadata.json"
BUCKET = "harness-bucket"  # the name the rules see the local directory under, as gs://BUCKET
EXECUTOR_LOGS = "executor-logs"
OUTPUT_PARAMETERS_DIR = "/tmp/kfp/outputs"


class NotSupportedByKfp(Exception):
    """The backend refuses the spec, or a task of it, before anything runs."""


class TaskFailed(Exception):
    pass


class Bucket:
    """The local directory standing in for gs://BUCKET."""

    def __init__(self, directory: str):
        self.directory = os.path.abspath(directory)

    def as_remote(self, uri: str) -> str:
        """uri (a local path, or file:// of one) as the rules see it."""
        path = uri.removeprefix("file://")
        if path == self.directory or path.startswith(self.directory + os.sep):
            return f"gs://{BUCKET}" + path[len(self.directory):]
        return uri

    def as_local(self, remote: str) -> str:
        return self.directory + remote.removeprefix(f"gs://{BUCKET}")


def pod_environment() -> dict:
    """What a pod of kubeflow/Dockerfile's image has: its ENV lines, this venv's python as `python`."""
    dockerfile = open(os.path.join(REPO, "kubeflow", "Dockerfile")).read()
    image_env = dict(re.findall(r"^ENV (\w+)=(\S+)$", dockerfile, re.M))
    return {**os.environ, **image_env, "PATH": os.path.dirname(sys.executable) + os.pathsep + os.environ["PATH"]}


# --- Run creation: the API server compiles the run to an Argo Workflow and validates it --------

# argo-workflows workflow/validate/validate.go: workflowFieldNameFmt, workflowFieldMaxLength.
ARGO_NAME = re.compile(r"^[a-zA-Z0-9][-a-zA-Z0-9]*$")
ARGO_NAME_MAX = 128


def check_task_names(tasks: dict) -> None:
    """compiler/argocompiler/dag.go (workflowCompiler.task): each task key becomes an Argo task
    name unchanged, with a `<name>-driver` task beside it; apiserver/resource/resource_manager.go
    (CreateRun) runs Argo's ValidateWorkflow on it, whose validateWorkflowFieldNames takes only
    ARGO_NAME, at most 128 characters, and no leading digit with `depends`, which KFP always sets."""
    for name in sorted(tasks):
        for argo_name in (name, f"{name}-driver"):
            if not ARGO_NAME.match(argo_name) or len(argo_name) > ARGO_NAME_MAX or argo_name[0].isdigit():
                raise NotSupportedByKfp(
                    f"Failed to validate workflow: templates.root.tasks.name: '{argo_name}' is invalid: name must "
                    "consist of alpha-numeric characters or '-', and must start with an alpha-numeric character")


def check_executors(spec: dict) -> None:
    """compiler/visitor.go (Accept): container and importer executors only, so a TFX Resolver fails
    the whole run when it is created."""
    for name, task in spec["root"]["dag"]["tasks"].items():
        component = spec["components"][task["componentRef"]["name"]]
        if "dag" in component:
            raise NotSupportedByKfp(f"task {name}: sub-DAGs are beyond this harness")
        executor = spec["deploymentSpec"]["executors"][component["executorLabel"]]
        if not {"container", "importer"} & set(executor):
            raise NotSupportedByKfp(f"error processing component name={name!r}: executor(label="
                                    f"{component['executorLabel']!r}): non-container and non-importer executor "
                                    "not implemented")
        for field in ("triggerPolicy", "iteratorPolicy", "parameterIterator", "artifactIterator"):
            if field in task:
                raise NotSupportedByKfp(f"task {name}: {field} is beyond this harness")


def check_schema(spec: dict) -> None:
    """apiserver/template/v2_template.go: 2.1.0, whose parameters are `runtimeValue.constant`."""
    if spec.get("schemaVersion") != "2.1.0":
        raise NotSupportedByKfp(f"schemaVersion {spec.get('schemaVersion')}: its inputs use the deprecated "
                                "constantValue, which the driver does not resolve")


# objectstore/config.go: bucketPattern and the schemes ParseBucketPathToConfig accepts.
BUCKET_PATTERN = re.compile(r"(^[a-z][a-z0-9]+:///?)([^/?]+)(/[^?]*)?(\?.+)?$")
OBJECT_STORE_SCHEMES = ("gs://", "s3://", "minio://", "mem://")


def check_pipeline_root(root: str) -> None:
    """driver/root_dag.go (RootDAG) -> config/env.go (GetStoreSessionInfo): minio, s3 or gs only."""
    if not BUCKET_PATTERN.match(root) or not root.startswith(("gs://", "s3://", "minio://")):
        raise NotSupportedByKfp(f"parse bucket config failed: unsupported Cloud bucket: {root!r}")


def check_importer_uri(uri: str) -> None:
    """component/importer_launcher.go (ImportSpecToMLMDArtifact) -> objectstore/config.go
    (ParseProviderFromPath). The URI's existence is never checked."""
    if not BUCKET_PATTERN.match(uri) or not uri.startswith(OBJECT_STORE_SCHEMES):
        raise NotSupportedByKfp("failed to execute importer component: failed to create MLMD artifact from "
                                f"ImporterSpec: no provider scheme found in artifact URI: {uri}")


# --- ML Metadata, as the launcher records artifacts and the driver reads them back -------------

def to_mlmd_custom_properties(metadata: dict, output_name: str | None, session_info: str) -> dict:
    """metadata/converter.go (toMLMDArtifact, StructValueToMLMDValue) and metadata/client.go
    (RecordArtifact): every key a custom property; numbers doubles, bools ints, lists and structs
    wrapped; null an error; display_name (not for imports) and store_session_info added."""
    properties = {}
    for key, value in metadata.items():
        if isinstance(value, bool):
            properties[key] = {"int_value": int(value)}
        elif isinstance(value, (int, float)):
            properties[key] = {"double_value": float(value)}
        elif isinstance(value, str):
            properties[key] = {"string_value": value}
        elif isinstance(value, list):
            properties[key] = {"struct_value": {"list": value}}
        elif isinstance(value, dict):
            properties[key] = {"struct_value": {"struct": value}}
        else:
            raise TaskFailed(f"failed to convert RuntimeArtifact to MLMD artifact: unknown/unsupported value type "
                             f"{type(value).__name__} (metadata key {key!r})")
    if output_name is not None:
        properties.setdefault("display_name", {"string_value": output_name})
    properties.setdefault("store_session_info", {"string_value": session_info})
    return properties


def to_runtime_artifact(artifact: dict) -> dict:
    """metadata/client.go (GetOutputArtifactsByExecutionId: `Schema: ""`, then ToRuntimeArtifact)
    and converter.go (toRuntimeArtifact): name is the MLMD id, the type an empty instanceSchema,
    every custom property in metadata with ints as numbers and structs as stored."""
    return {"name": str(artifact["id"]), "uri": artifact["uri"], "type": {"instanceSchema": ""},
            "metadata": {key: float(value["int_value"]) if "int_value" in value else next(iter(value.values()))
                         for key, value in artifact["custom_properties"].items()}}


# --- Driver: a task's inputs and outputs --------------------------------------------------------

def resolve_parameter(name: str, spec: dict, parameter_type: str, run_parameters: dict, produced: dict):
    """driver/resolve.go (resolveInputParameter): `runtimeValue.constant` only, a producer looked up
    by task name, STRING inputs that are not strings JSON-encoded."""
    if "runtimeValue" in spec:
        if set(spec["runtimeValue"]) != {"constant"}:
            raise NotSupportedByKfp(f"resolving input parameter {name}: param runtime value spec of type "
                                    f"{next(iter(spec['runtimeValue']))} not implemented")
        value = spec["runtimeValue"]["constant"]
    elif "taskOutputParameter" in spec:
        producer = spec["taskOutputParameter"]["producerTask"]
        if producer not in produced:
            raise NotSupportedByKfp(f"resolving input parameter {name}: producer task, {producer}, not in tasks")
        value = produced[producer]["parameters"][spec["taskOutputParameter"]["outputParameterKey"]]
    elif "componentInputParameter" in spec:
        if spec["componentInputParameter"] not in run_parameters:
            raise NotSupportedByKfp(f"parent DAG does not have input parameter {spec['componentInputParameter']}")
        value = run_parameters[spec["componentInputParameter"]]
    else:
        raise NotSupportedByKfp(f"parameter spec of type {next(iter(spec))} not implemented yet")
    if "parameterExpressionSelector" in spec:
        raise NotSupportedByKfp(f"input parameter {name}: parameterExpressionSelector is beyond this harness")
    return json.dumps(value) if parameter_type == "STRING" and not isinstance(value, str) else value


def provision_outputs(task_root: str, component: dict, publish_logs: bool) -> dict:
    """driver/driver.go (provisionOutputs): a URI under the task root for each output artifact, and
    `executor-logs` of schemaTitle system.Artifact when logs are published (the API server's
    PUBLISH_LOGS, "true" unless set otherwise: compiler/argocompiler/container.go, publishLogsArg);
    output parameter files at /tmp/kfp/outputs/<name>; the executor output file in the task root.
    component/launcher_v2.go (qualifyExecutorLogsURI) appends the retry index to the logs' URI."""
    definitions = dict(component.get("outputDefinitions", {}).get("artifacts", {}))
    if publish_logs:
        definitions[EXECUTOR_LOGS] = {"artifactType": {"schemaTitle": "system.Artifact"}}
    artifacts = {key: {"artifacts": [{"name": key, "uri": os.path.join(task_root, key) + ("-0" if key == EXECUTOR_LOGS else ""),
                                      "type": definition["artifactType"],
                                      **({"metadata": definition["metadata"]} if "metadata" in definition else {})}]}
                 for key, definition in definitions.items()}
    return {"artifacts": artifacts,
            "parameters": {key: {"outputFile": os.path.join(OUTPUT_PARAMETERS_DIR, key)}
                           for key in component.get("outputDefinitions", {}).get("parameters", {})},
            "outputFile": os.path.join(task_root, "output_metadata.json")}


def cache_key(executor_input: dict, component: dict, container: dict) -> str:
    """cacheutils/cache.go (GenerateCacheKey): input artifact names (MLMD ids, not URIs or contents),
    input parameter values, output artifact specs without URIs (executor-logs included), output
    parameter types, and the image string, command and args; driver/cache.go (getFingerPrint) passes
    the image as the spec spells it, never its digest."""
    key = {
        "inputArtifactNames": {k: [a["name"] for a in v["artifacts"]]
                               for k, v in executor_input["inputs"]["artifacts"].items()},
        "inputParameterValues": executor_input["inputs"]["parameterValues"],
        "outputArtifactsSpec": {k: {f: a[f] for f in ("name", "type", "metadata") if f in a}
                                for k, v in executor_input["outputs"]["artifacts"].items() for a in v["artifacts"]},
        "outputParametersSpec": {k: v["parameterType"]
                                 for k, v in component.get("outputDefinitions", {}).get("parameters", {}).items()},
        "containerSpec": {"image": container["image"], "cmdArgs": container["command"] + container.get("args", [])},
    }
    return hashlib.sha256(json.dumps(key, sort_keys=True).encode()).hexdigest()


# --- Launcher ------------------------------------------------------------------------------------

def local_path_for_uri(remote: str) -> str | None:
    """component/launcher_v2.go (LocalPathForURI): gs:// under /gcs, minio:// under /minio, s3://
    under /s3; downloadArtifacts skips any other scheme with a warning."""
    for scheme, mount in (("gs://", "/gcs/"), ("minio://", "/minio/"), ("s3://", "/s3/")):
        if remote.startswith(scheme):
            return mount + remote.removeprefix(scheme)
    return None


def download_inputs(executor_input: dict, bucket: Bucket, pod_dir: str) -> int:
    """component/launcher_v2.go (downloadArtifacts) and objectstore/object_store.go (DownloadBlob,
    isBlobKeyUnderPrefix): before the command runs, every object whose key is the input's URI or
    lies below it is copied to the pod's disk, an importer's whole directory included; no object is
    no error. Returns the bytes copied."""
    copied = 0
    for listed in executor_input["inputs"]["artifacts"].values():
        for artifact in listed["artifacts"]:
            remote = bucket.as_remote(artifact["uri"])
            local = local_path_for_uri(remote)
            if local is None:
                continue
            prefix = bucket.as_local(remote).rstrip("/")
            sources = [prefix] if os.path.isfile(prefix) else [
                os.path.join(d, f) for d, _, files in os.walk(prefix) for f in files]
            for source in sources:
                target = os.path.normpath(os.path.join(pod_dir, local.lstrip("/"), os.path.relpath(source, prefix)))
                os.makedirs(os.path.dirname(target), exist_ok=True)
                shutil.copyfile(source, target)
                copied += os.path.getsize(source)
    return copied


def execute(task: str, container: dict, executor_input: dict, env: dict, cwd: str) -> dict:
    """component/launcher_v2.go (execute): prepareOutputFolders, `{{$}}` replaced by the
    ExecutorInput as JSON, then the command; getExecutorOutputFile reads the executor output
    (none: empty), parameters from it or else from each parameter's file; uploadOutputArtifacts
    merges its uri and metadata into each provisioned artifact (mergeRuntimeArtifacts), leaving
    executor-logs to the launcher."""
    outputs = executor_input["outputs"]
    shutil.rmtree(OUTPUT_PARAMETERS_DIR, ignore_errors=True)  # a new pod's /tmp
    for parameter in outputs["parameters"].values():
        os.makedirs(os.path.dirname(parameter["outputFile"]), exist_ok=True)
    for listed in outputs["artifacts"].values():
        for artifact in listed["artifacts"]:
            os.makedirs(os.path.dirname(artifact["uri"]), exist_ok=True)
    command = [arg.replace("{{$}}", json.dumps(executor_input)) for arg in container["command"] + container.get("args", [])]
    left = [arg for arg in command if "{{$" in arg]
    if left:
        raise NotSupportedByKfp(f"task {task}: placeholders beyond {{{{$}}}}: {left}")
    result = subprocess.run(command, env=env, cwd=cwd, capture_output=True, text=True)
    logs = outputs["artifacts"].get(EXECUTOR_LOGS)
    with open(logs["artifacts"][0]["uri"] if logs else os.path.join(os.path.dirname(outputs["outputFile"]), "log.txt"),
              "w") as f:
        f.write(result.stdout + result.stderr)
    if result.returncode:
        raise TaskFailed(f"task {task} exited {result.returncode}:\n{result.stderr[-3000:]}")
    written = json.load(open(outputs["outputFile"])) if os.path.exists(outputs["outputFile"]) else {}
    parameters = written.get("parameterValues") or {
        key: open(parameter["outputFile"]).read() for key, parameter in outputs["parameters"].items()}
    artifacts = {}
    for key, listed in outputs["artifacts"].items():
        provisioned = listed["artifacts"][0]
        ours = {} if key == EXECUTOR_LOGS else written.get("artifacts", {}).get(key, {}).get("artifacts", [{}])[0]
        artifacts[key] = {**provisioned, "uri": ours.get("uri") or provisioned["uri"],
                          "metadata": {**provisioned.get("metadata", {}), **ours.get("metadata", {})}}
    return {"artifacts": artifacts, "parameters": parameters}


# --- The run ------------------------------------------------------------------------------------

def _order(tasks: dict) -> list[str]:
    """Producers before consumers (dependentTasks lists them all)."""
    done, order = set(), []
    while len(order) < len(tasks):
        ready = sorted(n for n, t in tasks.items() if n not in done and set(t.get("dependentTasks", [])) <= done)
        if not ready:
            raise NotSupportedByKfp(f"cycle or unknown dependency among {sorted(set(tasks) - done)}")
        order += ready
        done |= set(ready)
    return order


class Metadata:
    """ML Metadata for the harness: artifacts and executions in a JSON file beside the bucket."""

    def __init__(self, bucket: Bucket):
        self.path = os.path.join(bucket.directory, STORE)
        self.data = json.load(open(self.path)) if os.path.exists(self.path) else {"artifacts": [], "executions": []}

    def save(self) -> None:
        with open(self.path, "w") as f:
            json.dump(self.data, f, indent=1)

    def record(self, uri: str, schema: str, custom_properties: dict, pipeline: str) -> dict:
        artifact = {"id": len(self.data["artifacts"]) + 1, "uri": uri, "schema": schema,
                    "custom_properties": custom_properties, "pipeline": pipeline}
        self.data["artifacts"].append(artifact)
        return artifact

    def find_import(self, uri: str, schema: str, custom_properties: dict, pipeline: str) -> dict | None:
        """metadata/client.go (FindMatchedArtifact, matchedArtifactOrNot): same URI and type, every
        custom property equal, in the same pipeline's context."""
        for artifact in self.data["artifacts"]:
            if ((artifact["uri"], artifact["schema"], artifact["pipeline"]) == (uri, schema, pipeline)
                    and all(artifact["custom_properties"].get(k) == v for k, v in custom_properties.items())):
                return artifact
        return None


def import_artifact(metadata: Metadata, bucket: Bucket, task: str, executor: dict, pipeline: str) -> dict:
    """component/importer_launcher.go (Execute, findOrNewArtifactToImport, ImportSpecToMLMDArtifact)."""
    importer = executor["importer"]
    if "constant" not in importer.get("artifactUri", {}):
        raise NotSupportedByKfp(f"task {task}: artifact uri not provided")
    uri = importer["artifactUri"]["constant"]
    check_importer_uri(bucket.as_remote(uri))
    scheme = bucket.as_remote(uri).split("://")[0]
    properties = to_mlmd_custom_properties(importer.get("metadata", {}), None,
                                           json.dumps({"Provider": scheme, "Params": {"fromEnv": "true"}}))
    schema = importer["typeSchema"]["instanceSchema"]
    found = None if importer.get("reimport") else metadata.find_import(uri, schema, properties, pipeline)
    return found or metadata.record(uri, schema, properties, pipeline)


def run(spec_path: str, bucket_dir: str, run_id: str, env: dict, cwd: str, publish_logs: bool = True,
        run_parameters: dict | None = None) -> dict:
    """Runs every task of the spec, whose pipeline root lies in bucket_dir. Returns
    {"states": task -> "complete" | "cached", "downloaded": task -> bytes its launcher copied}.
    Raises NotSupportedByKfp before anything runs, or TaskFailed when a task fails (later tasks
    then do not run, as in KFP)."""
    spec = yaml.safe_load(open(spec_path))
    bucket = Bucket(bucket_dir)
    check_schema(spec)
    check_executors(spec)  # the API server compiles the run (v2_template.go), then validates it
    check_task_names(spec["root"]["dag"]["tasks"])
    root = spec["defaultPipelineRoot"]
    check_pipeline_root(bucket.as_remote(root))
    pipeline, tasks = spec["pipelineInfo"]["name"], spec["root"]["dag"]["tasks"]
    run_parameters = {**{k: v.get("defaultValue") for k, v in spec["root"].get("inputDefinitions", {})
                         .get("parameters", {}).items()}, **(run_parameters or {})}
    session_info = json.dumps({"Provider": "gs", "Params": {"fromEnv": "true"}})
    metadata, produced = Metadata(bucket), {}
    result = {"states": collections.OrderedDict(), "downloaded": {}}
    for name in _order(tasks):
        task = tasks[name]
        component = spec["components"][task["componentRef"]["name"]]
        executor = spec["deploymentSpec"]["executors"][component["executorLabel"]]
        if "importer" in executor:
            artifact = import_artifact(metadata, bucket, name, executor, pipeline)
            (key,) = component["outputDefinitions"]["artifacts"]
            produced[name] = {"artifacts": {key: artifact}, "parameters": {}}
            result["states"][name] = "complete"
            metadata.save()
            continue
        definitions = component.get("inputDefinitions", {})
        parameters = {k: resolve_parameter(k, v, definitions["parameters"][k]["parameterType"], run_parameters,
                                           produced)
                      for k, v in task.get("inputs", {}).get("parameters", {}).items()}
        artifacts = {}
        for key, source in task.get("inputs", {}).get("artifacts", {}).items():
            if "taskOutputArtifact" not in source:
                raise NotSupportedByKfp(f"task {name}: input artifact {key}: {next(iter(source))} is beyond this harness")
            upstream = produced[source["taskOutputArtifact"]["producerTask"]]["artifacts"]
            artifacts[key] = {"artifacts": [to_runtime_artifact(upstream[source["taskOutputArtifact"]["outputArtifactKey"]])]}
        task_root = os.path.join(root, pipeline, run_id, name, str(uuid.uuid4()))
        executor_input = {"inputs": {"parameterValues": parameters, "artifacts": artifacts},
                          "outputs": provision_outputs(task_root, component, publish_logs)}
        container = executor["container"]
        key = cache_key(executor_input, component, container) if task.get("cachingOptions", {}).get("enableCache") else None
        hits = [e for e in metadata.data["executions"] if key and e["cache_key"] == key and e["pipeline"] == pipeline]
        if hits:  # driver/container.go: the launcher pod is skipped, the outputs are the same artifacts
            produced[name], result["states"][name] = hits[-1]["outputs"], "cached"
            continue
        with tempfile.TemporaryDirectory(prefix=f"pod-{name}-") as pod_dir:
            result["downloaded"][name] = download_inputs(executor_input, bucket, pod_dir)
            outputs = execute(name, container, executor_input, env, cwd)
        recorded = {}
        for output_key, artifact in outputs["artifacts"].items():
            schema = artifact["type"].get("instanceSchema") or f"title: {artifact['type']['schemaTitle']}"
            recorded[output_key] = metadata.record(
                artifact["uri"], schema, to_mlmd_custom_properties(artifact.get("metadata", {}), output_key,
                                                                   session_info), pipeline)
        produced[name] = {"artifacts": recorded, "parameters": outputs["parameters"]}
        metadata.data["executions"].append({"pipeline": pipeline, "run": run_id, "task": name, "cache_key": key,
                                            "outputs": produced[name]})
        result["states"][name] = "complete"
        metadata.save()
    return result
