"""Several search hosts on one PostgreSQL store: one writer, many readers.

Both layouts of docs/hosts.md: the builds on a directory every host mounts,
and the builds copied to each host after the nightly job. And the faults a
shared database brings: it restarts under load, it is misnamed, a query runs
too long.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import pytest

from indexer.pipeline import index_corpus, run
from search.base.errors import DatabaseUnavailable
from search.store import Store
from tests.helpers import REPO, free_port, sample_lines, settings_on, write_lines
from web import create_app


@pytest.fixture
def shared_postgres(postgres):
    if postgres is None:
        pytest.skip("no PostgreSQL server here (bash .ci/run starts one)")
    return postgres


def health(client) -> dict:
    return client.get("/api/v1/health").get_json()


def wait_for(condition, seconds: float = 10.0) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.1)
    return condition()


def test_replicas_on_a_shared_build_directory_switch_to_each_new_build(
    shared_postgres, tmp_path, tiny_encoder, client_on
):
    settings = settings_on("postgresql", tmp_path / "shared", shared_postgres, "replicas_shared",
                           reload_seconds=0.2)  # fmt: skip
    lines = sample_lines(700)
    index_corpus(settings, [write_lines(tmp_path / "a.jsonl", lines[:650])], encoder=tiny_encoder)
    replicas = [client_on(settings) for _ in range(2)]
    for client in replicas:
        status = health(client)
        assert status["build"]["id"] == 1 and status["papers"] == 650
        assert status["database"] == "postgresql"  # its kind: where it is, only the log says
    summary = run(settings, [write_lines(tmp_path / "b.jsonl", lines)], snapshot=True,
                  encoder=tiny_encoder)  # fmt: skip
    for client in replicas:
        assert wait_for(lambda client=client: health(client)["build"]["id"] == summary.build_id)
    answers = [c.get("/api/v1/search?q=graph+networks&k=5").get_json() for c in replicas]
    assert answers[0]["results"] == answers[1]["results"] and answers[0]["total"] == 700


def test_a_replica_that_gets_builds_by_copy_keeps_serving_until_the_file_arrives(
    shared_postgres, tmp_path, tiny_encoder
):
    writer = settings_on("postgresql", tmp_path / "writer", shared_postgres, "replicas_copy")
    lines = sample_lines(700)
    index_corpus(writer, [write_lines(tmp_path / "a.jsonl", lines[:650])], encoder=tiny_encoder)
    replica = writer.replace(home=tmp_path / "replica", reload_seconds=0.2)
    shutil.copytree(writer.builds_dir, replica.builds_dir)  # the first copy
    app = create_app(replica, encoder=tiny_encoder)
    client = app.test_client()
    assert health(client)["build"]["id"] == 1
    second = run(writer, [write_lines(tmp_path / "b.jsonl", lines)], snapshot=True,
                 encoder=tiny_encoder)  # fmt: skip
    provider = app.extensions["papersearch"]
    assert provider.refresh() is False  # published, but its file is not here yet
    assert health(client)["build"]["id"] == 1
    assert client.get("/api/v1/search?q=graph&k=3").status_code == 200
    name = f"build-{second.build_id:06d}.faiss"
    partial = replica.builds_dir / (name + ".part")  # as rsync does: a temporary name, renamed
    shutil.copyfile(writer.builds_dir / name, partial)
    partial.rename(replica.builds_dir / name)
    time.sleep(0.5)  # the index file alone is not the build: its keyword index is missing
    assert health(client)["build"]["id"] == 1
    for suffix in ("keywords", "graph"):  # the keyword index, then the citation graph
        assert health(client)["build"]["id"] == 1
        copied = f"build-{second.build_id:06d}.{suffix}"
        shutil.copytree(writer.builds_dir / copied, replica.builds_dir / (copied + ".part"))
        (replica.builds_dir / (copied + ".part")).rename(replica.builds_dir / copied)
        time.sleep(0.5)
    assert wait_for(lambda: health(client)["build"]["id"] == second.build_id)
    assert client.get("/api/v1/search?q=graph&k=3").get_json()["total"] == 700
    missing = client.get("/api/v1/papers/1/similar?k=3")  # needs vectors/ too
    assert missing.status_code == 503 and "vectors/" in missing.get_json()["error"]["message"]
    shutil.copytree(writer.vectors_dir, replica.vectors_dir)
    assert len(client.get("/api/v1/papers/1/similar?k=3").get_json()["results"]) == 3


@pytest.mark.slow
def test_the_database_restarting_under_load_gives_503s_then_recovers(
    tmp_path, tiny_encoder, client_on
):
    """A server of its own (it is restarted): requests fail cleanly while it is down, the
    health check says so, and the pool recovers by itself."""
    directory = Path(tempfile.mkdtemp(prefix="papersearch-restart-"))
    script = ["bash", str(REPO / ".ci" / "postgres")]
    port = str(free_port())  # one no other process holds (a fixed range collided)
    started = subprocess.run([*script, "start", str(directory), port], capture_output=True,
                             text=True, check=True).stdout  # fmt: skip
    url = started.split("PAPERSEARCH_TEST_POSTGRES_URL=")[1].split()[0]
    bindir = next(Path("/usr/lib/postgresql").glob("*/bin"))
    owner = ["runuser", "-u", "postgres", "--"] if os.getuid() == 0 else []
    pg_ctl = [*owner, str(bindir / "pg_ctl"), "-D", str(directory / "data"), "-w"]
    try:
        from tests.helpers import PostgresServer

        server = PostgresServer(url)
        settings = settings_on("postgresql", tmp_path / "data", server, "restart",
                               reload_seconds=0.2)  # fmt: skip
        corpus = write_lines(tmp_path / "a.jsonl", sample_lines(300))
        index_corpus(settings, [corpus], encoder=tiny_encoder)
        server.admin.dispose()
        client = client_on(settings)
        statuses: list[tuple[float, int]] = []
        stop = threading.Event()

        def load() -> None:
            urls = ["/api/v1/search?q=graph+networks", "/api/v1/search?q=graph&mode=keyword",
                    "/api/v1/papers/3"]  # fmt: skip
            while not stop.is_set():
                for path in urls:
                    statuses.append((time.monotonic(), client.get(path).status_code))

        threads = [threading.Thread(target=load) for _ in range(3)]
        for thread in threads:
            thread.start()
        time.sleep(1)
        subprocess.run([*pg_ctl, "-m", "fast", "stop"], check=True, capture_output=True)
        down = time.monotonic()
        time.sleep(2)
        outage = health(client)
        subprocess.run([*pg_ctl, "-l", str(directory / "server.log"), "start",
                        "-o", f"-p {port} -k {directory} -c listen_addresses=127.0.0.1"],
                       check=True, capture_output=True)  # fmt: skip
        up = time.monotonic()
        time.sleep(3)
        stop.set()
        for thread in threads:
            thread.join()
        assert outage["status"] == "database_unavailable" and outage["papers"] is None
        assert {code for _, code in statuses} <= {200, 503}
        assert any(code == 503 for t, code in statuses if down < t < up)
        late = [code for t, code in statuses if t > up + 1.5]
        assert late and set(late) == {200}  # recovered by itself
        assert health(client)["status"] == "ok"
    finally:
        subprocess.run([*script, "stop", str(directory)], capture_output=True)


def test_a_wrong_database_url_is_one_clear_line_without_the_password(shared_postgres, tmp_path):
    from click.testing import CliRunner

    from papersearch import main

    for url in ("postgresql+psycopg://postgres:s3cret@127.0.0.1:9/papers",
                shared_postgres.database_url("no_such_database").replace(
                    "postgres@", "postgres:s3cret@")):  # fmt: skip
        result = CliRunner().invoke(main, ["search", "x", "--database-url", url,
                                           "--home", str(tmp_path)])  # fmt: skip
        assert result.exit_code == 1
        assert result.output.startswith("Error: The database postgresql+psycopg://postgres:***@")
        assert "s3cret" not in result.output and "Traceback" not in result.output
        env = {**os.environ, "PAPERSEARCH_DATABASE_URL": url, "PAPERSEARCH_HOME": str(tmp_path)}
        server = subprocess.run([sys.executable, "-c", "import web.wsgi"], env=env,
                                capture_output=True, text=True, timeout=120)  # fmt: skip
        assert server.returncode != 0 and "DatabaseUnavailable" in server.stderr
        assert "s3cret" not in server.stderr


def test_a_slow_query_is_cancelled_by_the_statement_timeout(shared_postgres, tmp_path):
    from sqlalchemy import text

    settings = settings_on("postgresql", tmp_path / "data", shared_postgres, "timeout")
    Store.open(settings, migrate=True)
    reader = Store.open(settings.replace(statement_timeout=0.2))
    started = time.monotonic()
    with pytest.raises(DatabaseUnavailable, match="statement timeout"), reader.sessions() as s:
        s.execute(text("SELECT pg_sleep(5)"))
    assert time.monotonic() - started < 2
    writer = Store.open(settings, migrate=True)  # writers are not limited
    with writer.sessions() as session:
        session.execute(text("SELECT pg_sleep(0.5)"))
