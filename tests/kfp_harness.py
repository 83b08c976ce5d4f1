"""Runs a compiled KFP v2 pipeline spec (YAML) task by task, as open-source Kubeflow Pipelines'
driver and launcher run it, with local disk standing in for the bucket. A test fixture, not a
product feature.

It does what kubeflow/pipelines (7b70c7b, paths under backend/src/v2/) does, and fails loudly on
what that backend cannot run:
- Task kinds: container and importer executors only (compiler/visitor.go:125-134: "non-container
  and non-importer executor not implemented"), so a TFX Resolver fails the whole run up front, as the
  API server compiles every task when the run is created (apiserver/template/v2_template.go:156).
- Parameters (driver/resolve.go:375-497): `runtimeValue.constant` ("param runtime value spec of
  type ... not implemented" for anything else, the deprecated `constantValue` included),
  `taskOutputParameter` (the producer is looked up by its task name: "producer task, ..., not in
  tasks") and `componentInputParameter`. STRING inputs that are not strings are JSON-encoded
  (resolve.go:202-253). Artifacts: `taskOutputArtifact` only here (resolve.go:544-569).
- Output URIs `<root>/<pipeline>/<run>/<task>/<uuid>/<key>` and the executor output file
  `<task root>/output_metadata.json` (driver/driver.go:740-800).
- The launcher (component/launcher_v2.go): `{{$}}` is the ExecutorInput as JSON (1051-1074);
  parameter values come from the executor output file, else from each parameter's output file
  (484-515); the file's uri and metadata are merged into each output artifact (1188-1206).
- Caching (driver/cache.go:97-129, cacheutils/cache.go:173-229): a task with
  `cachingOptions.enableCache` is skipped when an earlier successful execution of the same pipeline
  had the same key: input artifact IDs (not their URIs or contents), input parameter values, output
  artifact specs without URIs, output parameter types, image, command and args. A hit reuses that
  execution's outputs, the same artifacts. `lifecycle.preCacheCheck` is never read (nothing in
  backend/ does).
- Importer (component/importer_launcher.go): the URI is a constant and is not checked; without
  `reimport`, an artifact of the same URI and type is reused, keeping its ID (metadata/client.go:1303-1345).

Deliberate differences: the pipeline root and artifact URIs are local paths (KFP wants gs://, s3://
or minio://; root_dag.go:115), and ML Metadata is a JSON file under the root.
"""
import collections
import hashlib
import json
import os
import subprocess
import uuid

import yaml

STORE = ".kfp-harness-metadata.json"


class NotSupportedByKfp(Exception):
    """The spec asks for something open-source KFP's backend cannot do."""


class TaskFailed(Exception):
    pass


def _store(pipeline_root: str) -> dict:
    path = os.path.join(pipeline_root, STORE)
    return json.load(open(path)) if os.path.exists(path) else {"artifacts": [], "executions": []}


def _save(pipeline_root: str, store: dict) -> None:
    with open(os.path.join(pipeline_root, STORE), "w") as f:
        json.dump(store, f, indent=1)


def _check_kinds(spec: dict) -> None:
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


def _parameter(name: str, spec: dict, parameter_type: str, run_parameters: dict, produced: dict):
    if "runtimeValue" in spec:
        if set(spec["runtimeValue"]) != {"constant"}:
            kind = next(iter(spec["runtimeValue"]))
            raise NotSupportedByKfp(f"resolving input parameter {name}: param runtime value spec of type "
                                    f"{kind} not implemented")
        value = spec["runtimeValue"]["constant"]
    elif "taskOutputParameter" in spec:
        producer = spec["taskOutputParameter"]["producerTask"]
        if producer not in produced:
            raise NotSupportedByKfp(f"resolving input parameter {name}: producer task, {producer}, not in tasks")
        value = produced[producer]["parameters"][spec["taskOutputParameter"]["outputParameterKey"]]
    elif "componentInputParameter" in spec:
        key = spec["componentInputParameter"]
        if key not in run_parameters:
            raise NotSupportedByKfp(f"parent DAG does not have input parameter {key}")
        value = run_parameters[key]
    else:
        raise NotSupportedByKfp(f"parameter spec of type {next(iter(spec))} not implemented yet")
    if "parameterExpressionSelector" in spec:
        raise NotSupportedByKfp(f"input parameter {name}: parameterExpressionSelector is beyond this harness")
    if parameter_type == "STRING" and not isinstance(value, str):
        value = json.dumps(value)
    return value


def _cache_key(executor_input: dict, component: dict, container: dict) -> str:
    outputs = executor_input["outputs"]
    key = {
        "inputArtifactNames": {k: [a["name"] for a in v["artifacts"]]
                               for k, v in executor_input["inputs"]["artifacts"].items()},
        "inputParameterValues": executor_input["inputs"]["parameterValues"],
        "outputArtifactsSpec": {k: {f: a[f] for f in ("name", "type", "metadata") if f in a}
                                for k, v in outputs["artifacts"].items() for a in v["artifacts"][:1]},
        "outputParametersSpec": {k: v["parameterType"]
                                 for k, v in component.get("outputDefinitions", {}).get("parameters", {}).items()},
        "containerSpec": {"image": container["image"], "cmdArgs": container["command"] + container["args"]},
    }
    return hashlib.sha256(json.dumps(key, sort_keys=True).encode()).hexdigest()


def _new_artifact(store: dict, uri: str, schema: str, metadata: dict) -> dict:
    artifact = {"name": str(len(store["artifacts"]) + 1), "uri": uri, "type": {"instanceSchema": schema},
                "metadata": metadata}
    store["artifacts"].append(artifact)
    return artifact


def _import(store: dict, task: str, executor: dict, component: dict) -> dict:
    importer = executor["importer"]
    if "constant" not in importer.get("artifactUri", {}):
        raise NotSupportedByKfp(f"task {task}: artifact uri not provided")
    uri, schema = importer["artifactUri"]["constant"], importer["typeSchema"]["instanceSchema"]
    metadata = importer.get("metadata", {})
    (key,) = component["outputDefinitions"]["artifacts"]
    same = [a for a in store["artifacts"] if (a["uri"], a["type"]["instanceSchema"], a["metadata"]) == (uri, schema, metadata)]
    artifact = same[-1] if same and not importer.get("reimport") else _new_artifact(store, uri, schema, metadata)
    return {"artifacts": {key: [artifact]}, "parameters": {}}


def _launch(task: str, container: dict, executor_input: dict, env: dict, cwd: str) -> dict:
    """Runs the container's command as the launcher does; returns the executor's outputs."""
    outputs = executor_input["outputs"]
    for artifacts in outputs["artifacts"].values():
        for artifact in artifacts["artifacts"]:
            os.makedirs(os.path.dirname(artifact["uri"]), exist_ok=True)
    command = [arg.replace("{{$}}", json.dumps(executor_input)) for arg in container["command"] + container["args"]]
    left = [arg for arg in command if "{{$" in arg]
    if left:
        raise NotSupportedByKfp(f"task {task}: placeholders beyond {{{{$}}}}: {left}")
    result = subprocess.run(command, env=env, cwd=cwd, capture_output=True, text=True)
    log = os.path.join(os.path.dirname(outputs["outputFile"]), "log.txt")
    with open(log, "w") as f:
        f.write(result.stdout + result.stderr)
    if result.returncode:
        raise TaskFailed(f"task {task} exited {result.returncode}:\n{result.stderr[-3000:]}")
    executor_output = json.load(open(outputs["outputFile"])) if os.path.exists(outputs["outputFile"]) else {}
    parameters = executor_output.get("parameterValues") or {
        k: open(v["outputFile"]).read() for k, v in outputs["parameters"].items()}
    artifacts = {}
    for key, provisioned in outputs["artifacts"].items():
        written = executor_output.get("artifacts", {}).get(key, {}).get("artifacts", [{}])[0]
        artifacts[key] = [{**provisioned["artifacts"][0], "uri": written.get("uri") or provisioned["artifacts"][0]["uri"],
                           "metadata": {**provisioned["artifacts"][0].get("metadata", {}), **written.get("metadata", {})}}]
    return {"artifacts": artifacts, "parameters": parameters}


def run(spec_path: str, pipeline_root: str, run_id: str, env: dict, cwd: str, run_parameters: dict | None = None
        ) -> dict[str, str]:
    """Runs every task; returns task name -> "complete" or "cached". Raises NotSupportedByKfp before
    anything runs, or TaskFailed when a task fails (later tasks then do not run, as in KFP)."""
    spec = yaml.safe_load(open(spec_path))
    if spec.get("schemaVersion") != "2.1.0":
        raise NotSupportedByKfp(f"{spec_path}: schemaVersion {spec.get('schemaVersion')} (its inputs use the "
                                "deprecated constantValue, which the driver does not resolve)")
    _check_kinds(spec)
    pipeline, tasks = spec["pipelineInfo"]["name"], spec["root"]["dag"]["tasks"]
    run_parameters = {**{k: v.get("defaultValue") for k, v in spec["root"].get("inputDefinitions", {})
                         .get("parameters", {}).items()}, **(run_parameters or {})}
    store, produced, states = _store(pipeline_root), {}, collections.OrderedDict()
    for name in _order(tasks):
        task = tasks[name]
        component = spec["components"][task["componentRef"]["name"]]
        executor = spec["deploymentSpec"]["executors"][component["executorLabel"]]
        if "importer" in executor:
            produced[name], states[name] = _import(store, name, executor, component), "complete"
            _save(pipeline_root, store)
            continue
        definitions = component.get("inputDefinitions", {})
        parameters = {k: _parameter(k, v, definitions["parameters"][k]["parameterType"], run_parameters, produced)
                      for k, v in task.get("inputs", {}).get("parameters", {}).items()}
        artifacts = {}
        for key, source in task.get("inputs", {}).get("artifacts", {}).items():
            if "taskOutputArtifact" not in source:
                raise NotSupportedByKfp(f"task {name}: input artifact {key}: {next(iter(source))} is beyond this harness")
            producer = source["taskOutputArtifact"]["producerTask"]
            artifacts[key] = {"artifacts": produced[producer]["artifacts"][source["taskOutputArtifact"]["outputArtifactKey"]]}
        task_root = os.path.join(pipeline_root, pipeline, run_id, name, str(uuid.uuid4()))
        executor_input = {
            "inputs": {"parameterValues": parameters, "artifacts": artifacts},
            "outputs": {
                "artifacts": {k: {"artifacts": [{"name": k, "uri": os.path.join(task_root, k), "type": v["artifactType"],
                                                 **({"metadata": v["metadata"]} if "metadata" in v else {})}]}
                              for k, v in component.get("outputDefinitions", {}).get("artifacts", {}).items()},
                "parameters": {k: {"outputFile": os.path.join(task_root, "parameters", k)}
                               for k in component.get("outputDefinitions", {}).get("parameters", {})},
                "outputFile": os.path.join(task_root, "output_metadata.json")}}
        container = executor["container"]
        key = _cache_key(executor_input, component, container) if task.get("cachingOptions", {}).get("enableCache") else None
        hits = [e for e in store["executions"] if key and e["cache_key"] == key and e["pipeline"] == pipeline]
        if hits:
            produced[name], states[name] = hits[-1]["outputs"], "cached"
        else:
            os.makedirs(os.path.join(task_root, "parameters"))
            outputs = _launch(name, container, executor_input, env, cwd)
            for key_, (artifact,) in outputs["artifacts"].items():
                outputs["artifacts"][key_] = [_new_artifact(store, artifact["uri"], artifact["type"].get(
                    "instanceSchema", ""), artifact.get("metadata", {}))]
            store["executions"].append({"pipeline": pipeline, "run": run_id, "task": name, "cache_key": key,
                                        "outputs": outputs})
            produced[name], states[name] = outputs, "complete"
        _save(pipeline_root, store)
    return dict(states)
