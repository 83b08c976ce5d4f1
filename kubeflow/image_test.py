"""The Kubeflow image (kubeflow/Dockerfile), checked without a registry or a daemon: it installs the
versions the local venv resolved (constraints.txt), those versions exist for its Python and glibc
on the package index, and it carries every module the compiled spec names."""
import ast
import json
import os
import re
import shutil
import subprocess
import sys

import yaml
from packaging.requirements import Requirement
from packaging.specifiers import SpecifierSet
from packaging.utils import canonicalize_name

from kubeflow import spec

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DOCKERFILE = open(os.path.join(REPO, "kubeflow", "Dockerfile")).read()
IMAGE_PYTHON = "3.11"
IMAGE_GLIBC = 41  # Debian 13 "trixie", the base image's OS
# Pins with no wheel on the index, so the image builds them: pure Python, except pyfarmhash, which is
# C and is why the Dockerfile installs gcc for the build.
BUILT_FROM_SOURCE = {"google-apitools", "kfp-server-api", "rouge-score", "pyfarmhash"}


def pins() -> dict[str, str]:
    lines = open(os.path.join(REPO, "constraints.txt")).read().splitlines()
    return dict(line.split("==") for line in lines if line and not line.startswith("#"))


def copied_by_dockerfile() -> set[str]:
    return {path for line in re.findall(r"^COPY (.+)$", DOCKERFILE, re.M) for path in line.split()[:-1]}


def setup_requirements() -> tuple[list[Requirement], str]:
    """install_requires and every extra, read from setup.py's source (not the installed metadata)."""
    call = next(node for node in ast.walk(ast.parse(open(os.path.join(REPO, "setup.py")).read()))
                if isinstance(node, ast.Call) and getattr(node.func, "id", "") == "setup")
    keywords = {keyword.arg: ast.literal_eval(keyword.value) for keyword in call.keywords
                if keyword.arg in ("install_requires", "extras_require", "python_requires")}
    extras = [line for lines in keywords["extras_require"].values() for line in lines]
    return [Requirement(line) for line in keywords["install_requires"] + extras], keywords["python_requires"]


def test_constraints_are_what_the_venv_resolved():
    result = subprocess.run([sys.executable, os.path.join(REPO, "scripts", "lock.py"), "--check"],
                            capture_output=True, text=True)
    assert result.returncode == 0, f"{result.stdout}run `.venv/bin/python scripts/lock.py` after changing the venv"


def test_every_requirement_of_setup_py_is_met_by_its_pin():
    locked = pins()
    requirements, python_requires = setup_requirements()
    for requirement in requirements:
        name = canonicalize_name(requirement.name)
        assert name in locked, f"{name} is in setup.py but not in constraints.txt"
        assert requirement.specifier.contains(locked[name], prereleases=True), (str(requirement), locked[name])
    assert SpecifierSet(python_requires).contains(IMAGE_PYTHON + ".0")
    assert re.search(rf"^FROM python:{IMAGE_PYTHON}-slim-trixie$", DOCKERFILE, re.M)


def test_every_pin_exists_for_the_image_python_and_glibc(tmp_path):
    """pip resolves constraints.txt for CPython 3.11 on manylinux up to glibc 2.41 against the index,
    installing nothing."""
    platforms = [f"--platform=manylinux_2_{minor}_x86_64" for minor in range(17, IMAGE_GLIBC + 1)]
    report = tmp_path / "report.json"
    result = subprocess.run(
        [sys.executable, "-m", "pip", "install", "--dry-run", "--ignore-installed", "--no-deps", "--quiet",
         *platforms, "--platform=manylinux2014_x86_64", "--python-version", IMAGE_PYTHON, "--implementation", "cp",
         "--abi", "cp" + IMAGE_PYTHON.replace(".", ""), "--abi", "abi3", "--abi", "none",
         "--target", str(tmp_path / "target"), "--report", str(report),
         "-r", os.path.join(REPO, "constraints.txt")], capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr[-3000:]
    resolved = {canonicalize_name(item["metadata"]["name"]): (item["metadata"]["version"], item["download_info"]["url"])
                for item in json.load(open(report))["install"]}
    assert {name: version for name, (version, _) in resolved.items()} == pins()
    assert {name for name, (_, url) in resolved.items() if not url.endswith(".whl")} == BUILT_FROM_SOURCE
    for name in ("ml-metadata", "tensorflow-data-validation"):
        assert re.search(r"manylinux_2_39_x86_64\.whl$", resolved[name][1]), resolved[name][1]


def test_the_dockerfile_installs_the_locked_project_where_the_spec_looks():
    assert re.search(rf"^WORKDIR {spec.IMAGE_SOURCE_DIR}$", DOCKERFILE, re.M)
    packages = {"pipeline", "components", "models", "kubeflow"}  # setup.py's find_packages(include=...)
    assert {"constraints.txt", "setup.py", *packages, "mnist_tfx.py"} <= copied_by_dockerfile()  # and its py_modules
    assert "pip install --no-cache-dir -c constraints.txt -e ." in DOCKERFILE
    assert "--no-deps -c constraints.txt tflite-support" in DOCKERFILE


def test_every_module_the_compiled_spec_names_imports_from_a_clean_install(kubeflow_spec, tmp_path):
    """The project built as a wheel from what the Dockerfile copies, installed alone into an empty
    directory; the entrypoint and each executor class and user function the spec names import from
    there, not from this checkout."""
    compiled = yaml.safe_load(open(kubeflow_spec[1]))
    paths = {args[args.index("--executor_class_path") + 1]
             for executor in compiled["deploymentSpec"]["executors"].values() if "container" in executor
             for args in [executor["container"]["args"]]}
    paths |= {parameter["runtimeValue"]["constant"] for task in compiled["root"]["dag"]["tasks"].values()
              for name, parameter in task.get("inputs", {}).get("parameters", {}).items()
              if name in ("run_fn", "preprocessing_fn")}
    assert {"models.trainer.run_fn", "models.preprocessing.preprocessing_fn"} <= paths
    commands = {" ".join(executor["container"]["command"]) for executor in compiled["deploymentSpec"]["executors"].values()
                if "container" in executor}
    assert commands == {"python -m kubeflow.entrypoint"}
    paths |= {"kubeflow.entrypoint.main", "mnist_tfx.main"}  # and the console script's
    context = tmp_path / "context"
    context.mkdir()
    for path in copied_by_dockerfile():
        source = os.path.join(REPO, path)
        if os.path.isdir(source):
            shutil.copytree(source, context / path, ignore=shutil.ignore_patterns("__pycache__"))
        else:
            shutil.copy(source, context / path)
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "--no-build-isolation",
                    "-w", str(tmp_path / "wheel"), str(context)], check=True, capture_output=True, timeout=300)
    (wheel,) = os.listdir(tmp_path / "wheel")
    subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--target",
                    str(tmp_path / "site"), str(tmp_path / "wheel" / wheel)], check=True, capture_output=True)
    check = ("import importlib, sys\n"
             "for path in sys.argv[2:]:\n"
             "    module, _, name = path.rpartition('.')\n"
             "    getattr(importlib.import_module(module), name)\n"
             "    source = sys.modules[module].__file__\n"
             "    assert module.startswith('tfx.') or source.startswith(sys.argv[1]), (path, source)\n")
    result = subprocess.run([sys.executable, "-c", check, str(tmp_path / "site"), *sorted(paths)],
                            cwd=tmp_path, capture_output=True, text=True, timeout=600,
                            env={**os.environ, "PYTHONPATH": str(tmp_path / "site")})
    assert result.returncode == 0, result.stderr[-3000:]
