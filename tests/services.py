"""Real servers the service tests start and always stop: Redis (Debian's redis-server),
gunicorn replicas with web/gunicorn_conf.py, and HAProxy with deploy/haproxy.cfg."""

from __future__ import annotations

import contextlib
import http.client
import os
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from search.base.settings import Settings
from tests.helpers import REPO, free_port
from tests.helpers import stop_process_group as stop

START_SECONDS = 120  # a replica loads the model and the index before it answers


def need(program: str) -> str:
    path = shutil.which(program)
    if path is None:
        pytest.skip(f"{program} is not installed (bash .ci/run installs it)")
    return path


def get(host: str, port: int, path: str, headers: dict | None = None, source: str | None = None):
    """(status, headers, body) of one GET, from ``source`` (a loopback address) if given;
    the headers ignore case (HAProxy sends them in lower case)."""
    connection = http.client.HTTPConnection(
        host, port, timeout=30, source_address=(source, 0) if source else None
    )
    try:
        connection.request("GET", path, headers=headers or {})
        response = connection.getresponse()
        return response.status, response.headers, response.read()
    finally:
        connection.close()


def wait_until_healthy(port: int, process: subprocess.Popen, what: str) -> None:
    deadline = time.monotonic() + START_SECONDS
    while True:
        try:
            if get("127.0.0.1", port, "/api/v1/health")[0] == 200:
                return
        except OSError:
            pass
        if process.poll() is not None or time.monotonic() > deadline:
            raise RuntimeError(f"{what} did not start (exit {process.poll()})")
        time.sleep(0.3)


@contextlib.contextmanager
def redis_server(directory: Path) -> Iterator[str]:
    """A throwaway Redis on a loopback port; its URL."""
    port = free_port()
    process = subprocess.Popen(
        [need("redis-server"), "--port", str(port), "--bind", "127.0.0.1", "--save", "",
         "--appendonly", "no", "--dir", str(directory)],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 30
        while True:
            with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 1):
                break
            if time.monotonic() > deadline or process.poll() is not None:
                raise RuntimeError("redis-server did not start")
            time.sleep(0.1)
        yield f"redis://127.0.0.1:{port}"
    finally:
        stop(process)


@contextlib.contextmanager
def gunicorn_replica(settings: Settings, log: Path, workers: int = 2, **env) -> Iterator[int]:
    """A gunicorn server of ``settings`` (the environment's PAPERSEARCH_* plus ``env``) on a
    loopback port; its port. Its stderr (the log lines) goes to ``log``."""
    port = free_port()
    variables = {**os.environ, "PAPERSEARCH_HOME": str(settings.home),
                 "PAPERSEARCH_BIND": f"127.0.0.1:{port}", "PAPERSEARCH_WORKERS": str(workers),
                 "PAPERSEARCH_THREADS": "4", **env}  # fmt: skip
    if settings.database_url:
        variables["PAPERSEARCH_DATABASE_URL"] = settings.database_url
    variables.pop("PROMETHEUS_MULTIPROC_DIR", None)  # each server makes its own
    with log.open("wb") as sink:
        process = subprocess.Popen(
            [sys.executable, "-m", "gunicorn", "-c", "python:web.gunicorn_conf", "web.wsgi:app"],
            cwd=REPO, env=variables, stdout=sink, stderr=sink, start_new_session=True,
        )  # fmt: skip
    try:
        wait_until_healthy(port, process, f"gunicorn on port {port}")
        yield port
    finally:
        stop(process)


@contextlib.contextmanager
def haproxy(replica_ports: list[int]) -> Iterator[int]:
    """HAProxy with deploy/haproxy.cfg in front of two replicas on loopback; its port."""
    port = free_port()
    env = {**os.environ, "PAPERSEARCH_LB_BIND": f"127.0.0.1:{port}"}
    for number, replica in enumerate(replica_ports, start=1):
        env[f"PAPERSEARCH_REPLICA_{number}"] = f"127.0.0.1:{replica}"
    process = subprocess.Popen(
        [need("haproxy"), "-f", str(REPO / "deploy" / "haproxy.cfg")], env=env,
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True,
    )  # fmt: skip
    try:
        wait_until_healthy(port, process, "HAProxy")
        yield port
    finally:
        stop(process)
