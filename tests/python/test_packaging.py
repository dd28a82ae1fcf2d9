"""The package installs with `pip install --no-build-isolation <source>/capi/python` (pyproject.toml)
and the installed copy is the one imported. Skipped where pip or setuptools is missing (Debian:
python3-pip, python3-setuptools); `cmake --install` is tested by tests/packaging."""

import importlib.util
import os
import shutil
import subprocess
import sys

import pytest

from conftest import WAIT

SOURCE = os.path.join(os.environ.get("MPROC_SOURCE_DIR", os.path.join(
    os.path.dirname(os.path.abspath(__file__)), "..", "..")), "capi", "python")


@pytest.mark.skipif(importlib.util.find_spec("pip") is None or
                    importlib.util.find_spec("setuptools") is None,
                    reason="pip or setuptools is not installed")
def test_pip_install_without_build_isolation(tmp_path):
    # A copy of the source: pip's in-tree build writes build/ and *.egg-info beside it.
    source = tmp_path / "source"
    shutil.copytree(SOURCE, source, ignore=shutil.ignore_patterns("__pycache__", "build",
                                                                   "*.egg-info"))
    target = tmp_path / "site"
    done = subprocess.run([sys.executable, "-m", "pip", "install", "--no-build-isolation",
                           "--no-deps", "--no-index", "--target", str(target), str(source)],
                          stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=WAIT)
    assert done.returncode == 0, done.stdout.decode()
    env = dict(os.environ, PYTHONPATH=str(target))  # MPROC_LIBRARY still names the built library
    probe = ("import mproc, os; q = mproc.Queue(); q.put(42); "
             "print(os.path.dirname(mproc.__file__), q.get())")
    out = subprocess.run([sys.executable, "-c", probe], stdout=subprocess.PIPE, timeout=WAIT,
                         env=env, cwd=str(tmp_path), check=True).stdout.decode().split()
    assert out == [str(target / "mproc"), "42"]
