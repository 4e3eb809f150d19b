"""The code's seams: the core imports nothing above it, and every failure a user can act
on is one kind of error with one handler per surface."""

from __future__ import annotations

import ast
import importlib
import inspect
import pkgutil
from pathlib import Path

import pytest

from search.errors import PapersearchError

REPO = Path(__file__).resolve().parent.parent
PARTS = ("search", "indexer", "web")
# Exceptions that never leave their module (a reader's bad record becomes a Reject).
INTERNAL = {"indexer.fields.BadRecord"}


def imported_modules(path: Path) -> set[str]:
    tree = ast.parse(path.read_text())
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
    return names


@pytest.mark.parametrize(
    "part, forbidden",
    [("search", ("indexer", "web", "papersearch")), ("indexer", ("web", "papersearch")),
     ("web", ("indexer", "papersearch"))],
)  # fmt: skip
def test_no_upward_imports(part, forbidden):
    """search/ is the core; indexer/ writes and web/ presents, and only the command root
    (papersearch.py) knows all three. The demo (web/demo.py) is the one page of web/ that
    indexes: it builds the sample's index before it serves it."""
    offenders = []
    for path in (REPO / part).rglob("*.py"):
        for name in imported_modules(path):
            top = name.split(".")[0]
            allowed = (
                path.relative_to(REPO).as_posix() == "web/demo.py" and name == "indexer.pipeline"
            )
            if top in forbidden and not allowed:
                offenders.append(f"{path.relative_to(REPO)} imports {name}")
    assert not offenders


def test_the_core_imports_no_flask():
    for path in (REPO / "search").rglob("*.py"):
        assert not {n for n in imported_modules(path) if n.split(".")[0] in ("flask", "werkzeug")}


def all_modules():
    for part in PARTS:
        package = importlib.import_module(part)
        yield package
        for info in pkgutil.walk_packages(package.__path__, part + "."):
            if info.name.endswith(("wsgi", "gunicorn_conf")):
                continue  # entry points that start a server when imported
            yield importlib.import_module(info.name)


def test_every_error_a_user_can_meet_is_a_papersearch_error():
    outside = []
    for module in all_modules():
        for name, value in vars(module).items():
            if (
                inspect.isclass(value)
                and issubclass(value, BaseException)
                and value.__module__ == module.__name__
                and f"{module.__name__}.{name}" not in INTERNAL
                and not issubclass(value, PapersearchError)
            ):
                outside.append(f"{module.__name__}.{name}")
    assert not outside


def test_each_error_has_a_code_and_an_http_status():
    def every(cls):
        for sub in cls.__subclasses__():
            yield sub
            yield from every(sub)

    list(all_modules())  # imported, so that every error class is defined
    for cls in every(PapersearchError):
        error = cls("message") if "message" in inspect.signature(cls).parameters else None
        if error is not None:
            assert error.code and error.code != "error", cls
            assert 400 <= error.status <= 599, cls


def test_the_web_app_has_one_error_handler(tmp_path, tiny_encoder):
    from search.settings import Settings
    from search.store import Store
    from web import create_app

    settings = Settings(home=tmp_path)
    Store.open(settings, migrate=True)
    app = create_app(settings, encoder=tiny_encoder)
    handlers = {
        (blueprint, code, kind): handler
        for blueprint, by_code in app.error_handler_spec.items()
        for code, by_kind in by_code.items()
        for kind, handler in by_kind.items()
    }
    assert list(handlers) == [(None, None, Exception)]
