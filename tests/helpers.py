"""What the tests share besides fixtures (those are in conftest.py): the sample corpus,
settings on either store, a PostgreSQL server's databases, command-line flags, copies
of data directories, live servers, free ports and stopping what was started."""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
from pathlib import Path

from search.base.settings import Settings

REPO = Path(__file__).resolve().parent.parent
SAMPLE = REPO / "indexer" / "data" / "arxiv-sample-3000.jsonl"
SHARED_DATA = REPO.parent / "shared" / "data"
TINY_COMMIT = "0123456789abcdef0123456789abcdef01234567"


def sample_lines(n: int) -> list[str]:
    with SAMPLE.open(encoding="utf-8") as fh:
        return [next(fh) for _ in range(n)]


def write_lines(path: Path, lines: list[str]) -> Path:
    path.write_text("".join(line if line.endswith("\n") else line + "\n" for line in lines))
    return path


def install_in_hf_cache(source: Path, repo_id: str, commit: str = TINY_COMMIT) -> Path:
    """Copy a model directory into the HF cache layout as ``repo_id`` at ``main``."""
    repo_dir = Path(os.environ["HF_HUB_CACHE"]) / ("models--" + repo_id.replace("/", "--"))
    snapshot = repo_dir / "snapshots" / commit
    if snapshot.exists():
        shutil.rmtree(snapshot)
    shutil.copytree(source, snapshot)
    (repo_dir / "refs").mkdir(parents=True, exist_ok=True)
    (repo_dir / "refs" / "main").write_text(commit)
    return snapshot


class PostgresServer:
    """A PostgreSQL server the tests may create databases on (one per test, dropped after)."""

    def __init__(self, url: str) -> None:
        from sqlalchemy import create_engine

        self.url = url
        self.admin = create_engine(url, isolation_level="AUTOCOMMIT", pool_size=1)

    def database_url(self, name: str) -> str:
        from sqlalchemy import make_url

        return make_url(self.url).set(database=name).render_as_string(hide_password=False)

    def create(self, name: str, template: str | None = None) -> str:
        """A new database, empty or a copy of ``template``; its URL."""
        from sqlalchemy import text

        with self.admin.connect() as conn:
            if template is not None:  # a template may have no other connection while copied
                conn.execute(text("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                                  "WHERE datname = :name"), {"name": template})  # fmt: skip
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            copy = f' TEMPLATE "{template}"' if template else ""
            conn.execute(text(f'CREATE DATABASE "{name}"{copy}'))
        return self.database_url(name)

    def drop(self, name: str) -> None:
        from sqlalchemy import text

        with self.admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


def settings_on(backend: str, home: Path, postgres, name: str, **changes) -> Settings:
    """Settings on ``home``, with a fresh database named ``name`` on PostgreSQL."""
    if backend == "postgresql":
        return Settings(home=home, database_url=postgres.create(name), **changes)
    return Settings(home=home, **changes)


def paper_rows(settings: Settings) -> int:
    """How many rows the papers table holds, after checking the store is intact (SQLite's
    integrity check; PostgreSQL's own transactions keep it whole)."""
    from sqlalchemy import text

    from search.store.db import make_engine

    engine = make_engine(settings)
    try:
        with engine.connect() as conn:
            if engine.dialect.name == "sqlite":
                assert conn.scalar(text("PRAGMA integrity_check")) == "ok"
            return conn.scalar(text("SELECT count(*) FROM papers"))
    finally:
        engine.dispose()


def cli_args(settings: Settings) -> list[str]:
    """The command-line flags that point a command at ``settings``'s store."""
    database = ["--database-url", settings.database_url] if settings.database_url else []
    return ["--home", str(settings.home), *database]


def copy_home(template: Settings, settings: Settings, postgres=None) -> Settings:
    """A private copy of a template's data directory at ``settings.home`` (and, on
    PostgreSQL, of its database as the database ``settings`` names)."""
    shutil.copytree(template.home, settings.home)
    if settings.database_url:
        from sqlalchemy import make_url

        postgres.create(make_url(settings.database_url).database,
                        template=make_url(template.database_url).database)  # fmt: skip
    return settings


def serve_in_thread(app):
    """A live HTTP server for ``app`` on 127.0.0.1 (a context manager yielding its URL)."""
    import contextlib
    import threading

    from werkzeug.serving import make_server

    @contextlib.contextmanager
    def running():
        server = make_server("127.0.0.1", 0, app, threaded=True)
        thread = threading.Thread(target=server.serve_forever, daemon=True)
        thread.start()
        try:
            yield f"http://127.0.0.1:{server.server_port}"
        finally:
            server.shutdown()

    return running()


def free_port() -> int:
    """A loopback port no one listens on now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def stop_process_group(process: subprocess.Popen, timeout: float = 30) -> None:
    """SIGTERM to the process group of ``process`` (started with ``start_new_session``),
    SIGKILL if it lingers: servers the tests and benchmarks start leave nothing behind."""
    if process.poll() is None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=timeout)
