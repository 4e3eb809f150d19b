"""Faults between real hosts: bench/hosts.py's five network namespaces (PostgreSQL, two
replicas, HAProxy, a client), short phases, the tiny model. Root, ip(8), nft(8), HAProxy
and PostgreSQL are needed (bash .ci/run has them); the namespaces are removed even when
the run fails."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from tests.helpers import REPO

pytestmark = pytest.mark.slow


def test_faults_between_hosts_meet_their_goals(tmp_path, tiny_model_dirs):
    """tiny_model_dirs: the tiny model in the HF cache the hosts load it from."""
    sys.path.insert(0, str(REPO / "bench"))
    from netns import PREFIX, missing_tools

    if missing_tools():
        pytest.skip(f"this machine lacks {', '.join(missing_tools())}")
    out = tmp_path / "hosts.json"
    bench = subprocess.Popen(
        [sys.executable, str(REPO / "bench" / "hosts.py"), "--model", "env", "--papers", "300",
         "--scale", "0.25", "--json", str(out), "--logs", str(tmp_path / "logs")],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=REPO,
    )  # fmt: skip
    try:
        stdout, stderr = bench.communicate(timeout=1200)
    finally:
        if bench.poll() is None:
            bench.kill()
            bench.communicate()
    left = subprocess.run(["ip", "netns", "list"], capture_output=True, text=True).stdout
    assert f"{PREFIX}{bench.pid}-" not in left  # removed, whatever happened
    if "skipped:" in stdout:
        pytest.skip(stdout.strip())
    assert bench.returncode == 0, stdout[-3000:] + stderr[-3000:]
    phases = json.loads(out.read_text())
    said = f"{phases}\n{stdout[-3000:]}\n" + "\n".join(  # what went wrong, for CI's log
        f"{log.name}: {log.read_text()[-1500:]}" for log in sorted((tmp_path / "logs").glob("*"))
        if log.is_file()
    )  # fmt: skip
    assert phases["baseline"]["failed"] == 0, said
    assert phases["latency and loss"]["failed"] == 0, said
    assert phases["latency and loss"]["p50_ms"] > phases["baseline"]["p50_ms"]  # it was slow
    assert phases["partition"]["failed_beyond_in_flight"] == 0
    down = phases["database down"]
    assert down["during_outage"] > 0 and down["unclear_during_outage"] == 0
    assert down["slowest_during_outage_s"] <= 2.0 and down["normal_after_db_back_s"] <= 10.0
    reindex = phases["re-index"]
    assert reindex["reindex_exit"] == 0 and reindex["builds_published"] == 1
    assert reindex["papers_lost"] == 0 and reindex["papers"] == 300 and reindex["failed"] == 0
    assert "met" in stdout and "MISSED" not in stdout
