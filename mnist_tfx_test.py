"""Imports only go down, models/ < components/ < pipeline/ < kubeflow/ < mnist_tfx.py, and only the entry
point imports the two CLIs. Tests, which sit above everything, may import anything."""
import ast
import pathlib
import subprocess
import sys

ROOT = pathlib.Path(__file__).parent
LAYERS = ["models", "components", "pipeline", "kubeflow", "mnist_tfx"]
CLIS = {"pipeline.cli", "kubeflow.cli"}


def project_imports() -> list[tuple[str, str, str]]:
    """(layer, where, module) for every import of a project module by a module that is not a test."""
    paths = [ROOT / "mnist_tfx.py", *(path for layer in LAYERS[:-1] for path in sorted((ROOT / layer).rglob("*.py")))]
    found = []
    for path in (p for p in paths if not p.name.endswith("_test.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module:  # `from pipeline import cli` imports pipeline.cli
                names = [node.module, *(f"{node.module}.{alias.name}" for alias in node.names)]
            else:
                continue
            where = f"{path.relative_to(ROOT)}:{node.lineno}"
            found += [(path.relative_to(ROOT).parts[0].removesuffix(".py"), where, name) for name in names
                      if name.split(".")[0] in LAYERS]
    return found


def test_imports_only_go_down():
    upward = [f"{where}: {name}" for layer, where, name in project_imports()
              if LAYERS.index(name.split(".")[0]) > LAYERS.index(layer)]
    assert not upward, upward


def test_only_the_entry_point_imports_a_cli():
    assert [f"{where}: {name}" for layer, where, name in project_imports()
            if name in CLIS and layer != "mnist_tfx"] == []
    assert CLIS <= {name for layer, _, name in project_imports() if layer == "mnist_tfx"}


def test_the_parser_builds_without_tensorflow_and_serve_runs_without_it():
    check = ("import mnist_tfx, sys\n"
             "args = mnist_tfx.build_parser().parse_args(['serve'])\n"
             "print(args.imports_tensorflow, sorted({'tensorflow', 'tfx', 'kfp'} & set(sys.modules)))\n")
    result = subprocess.run([sys.executable, "-c", check], capture_output=True, text=True, timeout=60, cwd=ROOT)
    assert (result.returncode, result.stdout) == (0, "False []\n"), result.stderr[-3000:]
