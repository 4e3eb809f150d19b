"""One build, one view: whatever a run writes without publishing (a refused snapshot, a
truncated one, a run that fails or is killed half way) and whichever build ``builds use``
serves, every answer is the one the served build gives: its papers, in the state it holds
them, in every mode, page, count and look-up (``search.store.versions``)."""

from __future__ import annotations

import gzip
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from click.testing import CliRunner

from indexer.pipeline import UnsafeSnapshot, index_corpus, run
from papersearch import main
from search.store import Store
from tests.helpers import cli_args

CRANFIELD = Path(__file__).parent / "data" / "cranfield-50.jsonl.gz"
QUERIES = ("boundary layer flow past a flat plate", "supersonic wing", "heat transfer")


def records() -> list[dict]:
    with gzip.open(CRANFIELD, "rt", encoding="utf-8") as fh:
        return [json.loads(line) for line in fh]


def write(path: Path, rows: list[dict], *, truncate: bool = False) -> Path:
    text = "".join(json.dumps(row) + "\n" for row in rows).encode()
    if path.suffix == ".gz":
        text = gzip.compress(text)
        if truncate:
            text = text[: len(text) * 2 // 3]
    path.write_bytes(text)
    return path


def retitled(row: dict) -> dict:
    return {**row, "title": "a corrected title: " + row["title"]}


def answers(client) -> dict:
    """Everything a client can ask of the served build about these papers: searches in
    every mode (first page and the deepest), papers by every id, similar papers,
    recommendations, filters and the counts health gives."""
    out: dict = {}

    def answer(response) -> tuple:
        body = response.get_json()
        if isinstance(body, dict):
            body.pop("took_ms", None)
        return response.status_code, body

    def get(url: str) -> None:
        out[url] = answer(client.get(url))

    for query in QUERIES:
        for mode in ("semantic", "keyword", "hybrid"):
            get(f"/api/v1/search?q={query}&mode={mode}&k=50")
            get(f"/api/v1/search?q={query}&mode={mode}&k=5&offset=40")
        get(f"/api/v1/search?q={query}&mode=semantic&k=50&author=brenckman")
    for paper in range(1, 12):
        get(f"/api/v1/papers/{paper}")
        get(f"/api/v1/papers/{paper}/similar?k=50")
    for liked in ([3, 8], ["7", "9"]):  # internal ids, corpus ids
        response = client.post("/api/v1/recommendations?k=50", json={"positive_ids": liked})
        out[f"recommend {liked}"] = answer(response)
    health = client.get("/api/v1/health").get_json()
    out["health"] = (health["papers"], health["build"]["id"], health["build"]["vectors"],
                     health["corpus"])  # fmt: skip
    out["page"] = client.get("/paper/3").status_code
    return out


@pytest.fixture
def served(settings, tiny_encoder, client_on, tmp_path):
    """Cranfield's 50 papers (build 1), then a snapshot without papers 1-5 (build 2: 45
    papers); returns what build 2 answers and a function asking a new server again."""
    rows = records()
    index_corpus(settings, [write(tmp_path / "day0.jsonl.gz", rows)], encoder=tiny_encoder)
    summary = run(settings, [write(tmp_path / "day1.jsonl.gz", rows[5:])], snapshot=True,
                  encoder=tiny_encoder)  # fmt: skip
    assert summary.build_id == 2 and summary.removed == 5 and summary.vector_count == 45
    before = answers(client_on(settings))
    assert before["/api/v1/papers/3"][0] == 404 and before["health"][:3] == (45, 2, 45)
    return before, lambda: answers(client_on(settings))


def test_a_refused_snapshot_changes_no_answer(settings, served, tiny_encoder, tmp_path):
    """Papers 1-10, one retitled: refused (it lacks most papers), having stored them."""
    before, again = served
    rows = records()[:10]
    rows[6] = retitled(rows[6])
    with pytest.raises(UnsafeSnapshot, match="nothing was withdrawn"):
        run(settings, [write(tmp_path / "bad.jsonl.gz", rows)], snapshot=True,
            encoder=tiny_encoder)  # fmt: skip
    assert again() == before


def test_a_truncated_snapshot_changes_no_answer(settings, served, tiny_encoder, tmp_path):
    rows = records()
    rows[6] = retitled(rows[6])
    bad = write(tmp_path / "cut.jsonl.gz", rows, truncate=True)
    with pytest.raises(UnsafeSnapshot, match="truncated"):
        run(settings, [bad], snapshot=True, encoder=tiny_encoder)
    before, again = served
    assert again() == before


class FailingEncoder:
    """The tiny encoder, failing on its first batch of papers: a run that dies while it
    embeds, after storing what it read."""

    def __init__(self, encoder) -> None:
        self._encoder = encoder

    def __getattr__(self, name: str):
        return getattr(self._encoder, name)

    def encode_papers(self, texts, **options):
        raise RuntimeError("the GPU fell off the bus")


@pytest.mark.parametrize("where", ["embedding", "publish"])
def test_a_run_that_fails_half_way_changes_no_answer(
    settings, served, tiny_encoder, tmp_path, monkeypatch, where
):
    """It fails while it embeds, or once its files are written (the changed paper's new
    vector stored) but before its build is complete: similar papers still start from the
    vector build 2 holds. The next run publishes the changes."""
    before, again = served
    rows = records()
    rows[6] = retitled(rows[6])
    encoder = tiny_encoder
    if where == "embedding":
        encoder = FailingEncoder(tiny_encoder)
    else:

        def checkpoint(name: str) -> None:
            if name == where:
                raise RuntimeError("the GPU fell off the bus")

        monkeypatch.setattr("indexer.build_lifecycle.checkpoint", checkpoint)
    with pytest.raises(RuntimeError, match="fell off"):
        run(settings, [write(tmp_path / "day2.jsonl.gz", rows)], snapshot=True,
            encoder=encoder)  # fmt: skip
    assert again() == before
    monkeypatch.undo()
    summary = run(settings, [write(tmp_path / "day2.jsonl.gz", rows)], snapshot=True,
                  encoder=tiny_encoder)  # fmt: skip
    after = again()
    assert summary.published and after["health"][:3] == (50, summary.build_id, 50)
    assert after["/api/v1/papers/3"][0] == 200
    assert after["/api/v1/papers/7"][1]["title"].startswith("a corrected title")


def test_builds_use_serves_each_build_as_it_held_its_papers(
    settings, served, tiny_encoder, tmp_path, client_on
):
    """Build 1 held all 50 papers and the old title of paper 7; build 3 (after a rollback
    to 1) all 50 with the new title: each serves its own, back and forth, and versions only
    pruned builds needed are deleted."""
    before, again = served
    build_one = None
    runner = CliRunner()

    def use(build: int) -> dict:
        out = runner.invoke(main, ["builds", "use", str(build), *cli_args(settings)])
        assert out.exit_code == 0, out.output
        return again()

    build_one = use(1)
    assert build_one["health"][:3] == (50, 1, 50)
    assert build_one["/api/v1/papers/3"][0] == 200
    assert len(build_one[f"/api/v1/search?q={QUERIES[0]}&mode=semantic&k=50"][1]["results"]) == 50
    rows = records()
    rows[6] = retitled(rows[6])
    run(settings, [write(tmp_path / "day2.jsonl.gz", rows)], snapshot=True, encoder=tiny_encoder)
    assert again()["/api/v1/papers/7"][1]["title"].startswith("a corrected title")
    assert use(2) == before
    assert use(1) == build_one
    assert use(3)["/api/v1/papers/7"][1]["title"].startswith("a corrected title")


def test_answers_are_whole_while_a_run_stores_papers(settings, served, tiny_encoder, tmp_path):
    """Between the run's storing and its build, a server started then reads build 2."""
    before, again = served
    rows = records()
    rows[6] = retitled(rows[6])
    seen: list[dict] = []

    class Watching(FailingEncoder):
        def encode_papers(self, texts, **options):
            seen.append(again())  # the papers are stored, the build is not made
            return self._encoder.encode_papers(texts, **options)

    run(settings, [write(tmp_path / "day2.jsonl.gz", rows)], snapshot=True,
        encoder=Watching(tiny_encoder))  # fmt: skip
    assert seen and all(answer == before for answer in seen)


def test_versions_go_with_the_builds_that_held_them(settings, served, tiny_encoder, tmp_path):
    """Only the versions a kept build may be served from stay."""
    from sqlalchemy import func, select

    from search.store.schema import PaperVersion

    rows = records()
    for day in range(3):
        rows[6] = retitled(rows[6])
        run(settings.replace(keep_builds=2), [write(tmp_path / f"d{day}.jsonl.gz", rows)],
            snapshot=True, encoder=tiny_encoder)  # fmt: skip
    store = Store.open(settings)
    with store.sessions() as session:
        versions = session.execute(
            select(PaperVersion.id, PaperVersion.content_build, PaperVersion.until_build)
        ).all()
        assert session.scalar(select(func.count()).select_from(PaperVersion)) == len(versions)
    kept = sorted(b.id for b in store.builds.all() if b.status == "complete")
    assert kept == [4, 5]
    assert versions and all(until is None or until > kept[0] for _, _, until in versions)


@pytest.mark.slow
@pytest.mark.parametrize("point", ["embedding", "publish"])
def test_a_run_killed_half_way_changes_no_answer(settings, served, tmp_path, point):
    """SIGKILLed while it embeds, and with its files written but its build not complete."""
    before, again = served
    rows = records()
    rows[6] = retitled(rows[6])
    corpus = write(tmp_path / "day2.jsonl.gz", rows)
    pause = tmp_path / "paused"
    env = {**os.environ, "PAPERSEARCH_HOME": str(settings.home),
           "PAPERSEARCH_PAUSE_AT": point, "PAPERSEARCH_PAUSE_FILE": str(pause),
           **({"PAPERSEARCH_DATABASE_URL": settings.database_url}
              if settings.database_url else {})}  # fmt: skip
    proc = subprocess.Popen([sys.executable, "-m", "papersearch", "reindex", str(corpus)],
                            env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)  # fmt: skip
    try:
        deadline = time.monotonic() + 120
        while not pause.exists():
            assert proc.poll() is None, proc.stderr.read().decode()
            assert time.monotonic() < deadline
            time.sleep(0.05)
        assert again() == before
    finally:  # paused for ever otherwise
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
    assert again() == before
