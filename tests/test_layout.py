"""The code's seams: the core imports nothing above it, and every failure a user can act
on is one kind of error with one handler per surface."""

from __future__ import annotations

import ast
import importlib
import inspect
import pkgutil
from pathlib import Path

from search.base.errors import ERROR_CODES, PapersearchError

REPO = Path(__file__).resolve().parent.parent
PARTS = ("search", "indexer", "web")
# Exceptions that never leave their module (a reader's bad record becomes a Reject).
# Raised and caught inside one reader, never met by a user: a record's reject reason, and
# the PubMed reader's stop (the file's reject).
INTERNAL = {"indexer.fields.BadRecord", "indexer.readers.pubmed.NotArticles"}


def imported_modules(path: Path) -> set[str]:
    tree = ast.parse(path.read_text())
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
    return names


# Which layer may import which: the map of the code. A layer imports itself and the
# layers listed for it, nothing else (no exemptions). Read downwards: search.base is
# the ground, the command root (papersearch.py) knows every part.
SEARCH_BELOW_ENGINE = {"search.base", "search.query", "search.model", "search.ann",
                       "search.keyword_index", "search.graph", "search.store",
                       "search.ranking", "search.answers", "search.pdf",
                       "search.authors", "search.alerts", "search.shards"}  # fmt: skip
LAYERS: dict[str, set[str]] = {
    "search.base": set(),
    "search.query": {"search.base"},
    "search.model": {"search.base"},
    "search.ann": {"search.base"},
    "search.pdf": {"search.base"},
    "search.keyword_index": {"search.base", "search.query"},
    "search.graph": {"search.base", "search.query"},
    "search.authors": {"search.base", "search.query"},
    "search.store": {
        "search.base",
        "search.query",
        "search.model",
        "search.keyword_index",
        "search.graph",
    },  # fmt: skip
    "search.ranking": {"search.base", "search.store"},
    "search.answers": {
        "search.base",
        "search.query",
        "search.store",
        "search.ranking",
        "search.authors",
    },  # fmt: skip
    # Alerts: subscriptions, their mails and digests; given the engine by their callers.
    "search.alerts": {"search.base", "search.query", "search.store", "search.answers"},
    # Shards served on Ray Serve: the replicas and the calls to them (given the indexes).
    "search.shards": {
        "search.base",
        "search.query",
        "search.ann",
        "search.keyword_index",
        "search.store",
    },  # fmt: skip
    "search.engine": SEARCH_BELOW_ENGINE,
    "search.cli": SEARCH_BELOW_ENGINE | {"search.engine"},
    # The write path uses the whole core (and the commands' shared options).
    "indexer": SEARCH_BELOW_ENGINE | {"search.engine", "search.cli"},
    # The web presents what the engine answers: it never reads the store or an index.
    "web": {
        "search.base",
        "search.query",
        "search.model",
        "search.answers",
        "search.authors",
        "search.alerts",
        "search.pdf",
        "search.engine",
        "search.cli",
    },  # fmt: skip
    "migrations": {"search.base", "search.query", "search.store"},
    "papersearch": {"search.base", "search.cli", "indexer", "web"},
}
OURS = ("search", "indexer", "web", "migrations", "papersearch")


def layer_of(module: str) -> str:
    """``search.store.papers`` → ``search.store``; ``web.api`` → ``web``."""
    parts = module.split(".")
    return ".".join(parts[:2]) if parts[0] == "search" else parts[0]


def module_name(path: Path) -> str:
    return ".".join(path.relative_to(REPO).with_suffix("").parts).removesuffix(".__init__")


def our_files():
    yield REPO / "papersearch.py"
    for part in ("search", "indexer", "web", "migrations"):
        yield from (REPO / part).rglob("*.py")


def test_every_module_belongs_to_a_layer_of_the_table():
    search_layers = {layer_of(module_name(p)) for p in (REPO / "search").rglob("*.py")}
    assert search_layers - {"search"} == {layer for layer in LAYERS if layer.startswith("search.")}
    assert [p.name for p in (REPO / "search").glob("*.py")] == ["__init__.py"]  # no loose modules


def layer_offenders(modules) -> list[str]:
    """The imports of ``modules`` ((module name, path) pairs) that break the table."""
    offenders = []
    for name, path in modules:
        importer = layer_of(name)
        for imported_name in imported_modules(path):
            if imported_name.split(".")[0] not in OURS:
                continue
            imported = layer_of(imported_name)
            if imported != importer and imported not in LAYERS[importer]:
                offenders.append(f"{name} ({importer}) imports {imported_name} ({imported})")
    return offenders


def test_each_layer_imports_only_the_layers_below_it():
    assert not layer_offenders((module_name(path), path) for path in our_files())


def test_the_layer_check_sees_an_upward_import(tmp_path):
    """The check above, shown to fail: a store module importing the engine is reported,
    one importing the base layer is not."""
    leak, fine = tmp_path / "leak.py", tmp_path / "fine.py"
    leak.write_text("from search.engine import SearchEngine\n")
    fine.write_text("from search.base.errors import PapersearchError\n")
    assert layer_offenders([("search.store.leak", leak), ("search.store.fine", fine)]) == [
        "search.store.leak (search.store) imports search.engine (search.engine)"
    ]


def imports_of(path: Path, ours: set[str]) -> set[str]:
    """Our modules a file imports, anywhere in it (``from package import module`` names the
    module, not the package)."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        names = []
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module:
            names = [f"{node.module}.{alias.name}" if f"{node.module}.{alias.name}" in ours
                     else node.module for alias in node.names]  # fmt: skip
        for name in names:
            parts = name.split(".")
            prefix = next((".".join(parts[:n]) for n in range(len(parts), 0, -1)
                           if ".".join(parts[:n]) in ours), None)  # fmt: skip
            if prefix is not None:
                found.add(prefix)
    return found


def import_cycles(modules: dict[str, Path]) -> list[list[str]]:
    """The groups of modules that import each other, directly or not (Tarjan's strongly
    connected components of the import graph)."""
    graph = {name: imports_of(path, set(modules)) - {name} for name, path in modules.items()}
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    cycles: list[list[str]] = []

    def visit(module: str) -> None:
        index[module] = low[module] = len(index)
        stack.append(module)
        for imported in graph[module]:
            if imported not in index:
                visit(imported)
                low[module] = min(low[module], low[imported])
            elif imported in stack:
                low[module] = min(low[module], index[imported])
        if low[module] == index[module]:
            group = stack[stack.index(module) :]
            del stack[stack.index(module) :]
            if len(group) > 1:
                cycles.append(sorted(group))

    for module in graph:
        if module not in index:
            visit(module)
    return cycles


def test_no_modules_import_each_other():
    """The engine and its recommendations did, through a mixin typed as the engine."""
    assert not import_cycles({module_name(path): path for path in our_files()})


def test_the_cycle_check_sees_modules_importing_each_other(tmp_path):
    one, two = tmp_path / "one.py", tmp_path / "two.py"
    one.write_text("from web import two\n")
    two.write_text("if False:\n    import web.one\n")
    assert import_cycles({"web.one": one, "web.two": two}) == [["web.one", "web.two"]]


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


def error_codes_named_in_code() -> dict[str, list[str]]:
    """code → where: each ``code = "..."`` of an error class, and each string literal a
    raise site passes as an error's code (its second argument, or ``code=``)."""
    named: dict[str, list[str]] = {}
    for path in our_files():
        for node in ast.walk(ast.parse(path.read_text())):
            values = []
            if isinstance(node, ast.Assign) and isinstance(node.targets[0], ast.Name | ast.Tuple):
                target = node.targets[0]
                names = [target] if isinstance(target, ast.Name) else target.elts
                given = (
                    [node.value]
                    if isinstance(target, ast.Name)
                    else getattr(node.value, "elts", [])
                )
                pairs = zip(names, given, strict=False)
                values = [v for n, v in pairs if getattr(n, "id", "") == "code"]
            elif isinstance(node, ast.Call):
                name = getattr(node.func, "id", getattr(node.func, "attr", ""))
                if name.endswith(("Error", "Request", "__init__")):
                    values = node.args[1:2] + [k.value for k in node.keywords if k.arg == "code"]
            for value in values:
                if isinstance(value, ast.Constant) and isinstance(value.value, str):
                    named.setdefault(value.value, []).append(f"{module_name(path)}:{node.lineno}")
    return named


def test_every_error_code_raised_is_in_the_registry():
    named = error_codes_named_in_code()
    assert {"invalid_parameter", "empty_query", "rate_limited", "already_running"} <= set(named)
    assert {code: where for code, where in named.items() if code not in ERROR_CODES} == {}


def test_each_error_has_a_code_and_an_http_status():
    def every(cls):
        for sub in cls.__subclasses__():
            yield sub
            yield from every(sub)

    list(all_modules())  # imported, so that every error class is defined
    for cls in every(PapersearchError):
        error = cls("message") if "message" in inspect.signature(cls).parameters else None
        if error is not None:
            assert error.code in ERROR_CODES, cls
            assert error.status == ERROR_CODES[error.code].status, cls


def test_the_web_app_has_one_error_handler(tmp_path, tiny_encoder):
    from search.base.settings import Settings
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


MAX_MODULE_LINES = 450
MAX_FUNCTION_LINES = 60  # a function past this is steps that want names


def test_modules_and_functions_stay_short():
    """Small modules and functions that fit on a screen (bench scripts aside)."""
    long = []
    for path in our_files():
        if path.is_relative_to(REPO / "migrations"):
            continue
        source = path.read_text()
        if source.count("\n") > MAX_MODULE_LINES:
            long.append(f"{module_name(path)}: {source.count(chr(10))} lines")
        for node in ast.walk(ast.parse(source)):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                lines = node.end_lineno - node.lineno + 1
                if lines > MAX_FUNCTION_LINES:
                    long.append(f"{module_name(path)}.{node.name}: {lines} lines")
    assert not long
