import components.mnist_example_gen
import models
import models.preprocessing
from pipeline.fingerprint import source_fingerprint


def test_fingerprint_follows_the_source(tmp_path, monkeypatch):
    package = tmp_path / "pkg"
    package.mkdir()
    (package / "__init__.py").write_text("")
    (package / "code.py").write_text("X = 1\n")
    (package / "code_test.py").write_text("assert True\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    import pkg
    first = source_fingerprint(pkg)
    (package / "code_test.py").write_text("assert 1 == 1\n")
    assert source_fingerprint(pkg) == first  # tests do not change what runs
    (package / "code.py").write_text("X = 2\n")
    assert source_fingerprint(pkg) != first


def test_packages_and_modules_differ():
    assert source_fingerprint(models) != source_fingerprint(models.preprocessing)
    assert source_fingerprint(models) != source_fingerprint(components.mnist_example_gen)
