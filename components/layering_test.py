"""Imports only go down: no component module imports the wiring (pipeline/) or Kubeflow's layer
(kubeflow/). Tests, which sit above everything, may."""
import ast
import pathlib

COMPONENTS = pathlib.Path(__file__).parent


def test_no_component_imports_pipeline_or_kubeflow():
    upward = []
    for path in sorted(p for p in COMPONENTS.rglob("*.py") if not p.name.endswith("_test.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            names = ([alias.name for alias in node.names] if isinstance(node, ast.Import)
                     else [node.module or ""] if isinstance(node, ast.ImportFrom) else [])
            upward += [f"{path.relative_to(COMPONENTS.parent)}:{node.lineno}: {name}" for name in names
                       if name.split(".")[0] in ("pipeline", "kubeflow")]
    assert not upward, upward
