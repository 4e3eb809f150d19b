"""The wheel holds what the clone holds: every package, its data files, and modules that
import from the wheel alone (an editable install, as the tests otherwise use, cannot tell).
``.ci/wheel-smoke`` then installs that wheel in a clean virtual environment and runs it."""

from __future__ import annotations

import shutil
import subprocess
import sys
import sysconfig
import zipfile
from pathlib import Path

import pytest

from tests.helpers import REPO

LAYERS = ("search", "indexer", "web", "migrations")
DATA = ("indexer/data/arxiv-sample-3000.jsonl", "migrations/script.py.mako",
        "web/templates/search.html", "web/static/style.css")  # fmt: skip


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    """The wheel, built from a copy of the clone (setuptools would reuse a stale build/)."""
    source, out = tmp_path_factory.mktemp("source") / "papersearch", tmp_path_factory.mktemp("dist")
    shutil.copytree(REPO, source, ignore=shutil.ignore_patterns(
        ".git", ".venv", "build", "*.egg-info", "__pycache__", "papersearch-*", "tests", "bench",
    ))  # fmt: skip
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "--no-build-isolation",
         "-w", str(out), str(source)],
        check=True, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    return next(out.glob("papersearch-*.whl"))


def source_modules() -> set[str]:
    """Every module of the layers in the clone, as a path in the wheel."""
    found = {"papersearch.py"}
    for layer in LAYERS:
        for path in (REPO / layer).rglob("*.py"):
            if "__pycache__" not in path.parts:
                found.add(path.relative_to(REPO).as_posix())
    return found


def test_the_wheel_holds_every_module_and_data_file_of_the_clone(wheel):
    names = set(zipfile.ZipFile(wheel).namelist())
    missing = sorted(source_modules() - names)
    assert not missing, f"modules the wheel lacks: {missing}"
    assert not [d for d in DATA if d not in names], "data files the wheel lacks"


def test_every_module_imports_from_the_wheel_alone(wheel, tmp_path):
    """Unpacked and put first on the path of an interpreter that reads no .pth file (so the
    editable install's finder is off) and does not start in the clone."""
    root = tmp_path / "unpacked"
    zipfile.ZipFile(wheel).extractall(root)
    modules = sorted(
        name.removesuffix(".py").removesuffix("/__init__").replace("/", ".")
        for name in zipfile.ZipFile(wheel).namelist()
        if name.endswith(".py") and not name.startswith("migrations/")  # Alembic runs those
    )
    modules.remove("web.wsgi")  # gunicorn's entry point opens the data directory on import
    script = (
        "import importlib, sys\n"
        f"sys.path[:0] = [{str(root)!r}, {sysconfig.get_paths()['purelib']!r}]\n"
        f"for name in {modules!r}:\n"
        "    module = importlib.import_module(name)\n"
        f"    assert module.__file__.startswith({str(root)!r}), module.__file__\n"
    )
    done = subprocess.run([sys.executable, "-S", "-c", script], cwd=tmp_path,
                          capture_output=True, text=True, timeout=300)  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
