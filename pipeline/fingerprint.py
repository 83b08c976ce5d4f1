"""Fingerprints of our own source, put into the components' execution properties.

TFX caches on execution properties and inputs. Transform and Trainer get their code as dotted
names (`models.trainer.run_fn`), which do not change when the code does, so without this a
rerun after an edit to the model would silently reuse the old model.
"""
import hashlib
import os
from types import ModuleType


def source_fingerprint(*modules: ModuleType) -> str:
    """sha256 (first 16 hex digits) over the non-test .py files of the given modules or packages."""
    paths = []
    for module in modules:
        if hasattr(module, "__path__"):  # a package: every module in it
            for root, _, files in os.walk(module.__path__[0]):
                paths += [os.path.join(root, f) for f in files if f.endswith(".py") and not f.endswith("_test.py")]
        else:
            paths.append(module.__file__)
    digest = hashlib.sha256()
    for path in sorted(set(paths)):
        digest.update(os.path.basename(path).encode() + b"\0")
        with open(path, "rb") as f:
            digest.update(f.read())
    return digest.hexdigest()[:16]
