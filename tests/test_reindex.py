"""Nightly re-index: incremental, atomic, crash-safe, and picked up by a running server."""

from __future__ import annotations

import gzip
import json
import os
import signal
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest
from click.testing import CliRunner

from indexer.build_lifecycle import retrain_reason
from indexer.lock import AlreadyRunning, write_lock
from indexer.pipeline import UnsafeSnapshot, index_corpus, run
from papersearch import main
from search.base.settings import Settings
from search.engine.engine import SearchEngine
from search.keyword_index.documents import Manifest
from search.store import Store
from tests.helpers import cli_args, copy_home, sample_lines, write_lines
from web import create_app

BASE = 1000  # papers in the first snapshot: enough for an IVF index


def snapshot(lines: list[str], path: Path) -> Path:
    return write_lines(path, lines)


def changed(line: str) -> str:
    """The same paper with a corrected abstract (here: its sentences in reverse order)."""
    obj = json.loads(line)
    obj["summary"] = "Corrected. " + " ".join(reversed(obj["summary"].split(". ")))
    return json.dumps(obj)


def finds_itself(engine: SearchEngine, encoder, title: str, abstract: str) -> int:
    """The id of the nearest paper to a (title, abstract) through the proximity adapter."""
    vector = encoder.encode_papers([(title, " ".join(abstract.split()))])
    distances, ids = engine.index.search(vector, 1)
    assert distances[0, 0] < 1e-3, "the text is not in the index"
    return int(ids[0, 0])


@pytest.fixture
def lines() -> list[str]:
    return sample_lines(BASE + 50)


@pytest.fixture
def first(settings, backend, postgres, home_template, lines, tiny_encoder):
    """A data directory with the first BASE papers indexed (build 1), a copy for each test."""

    def build(template: Settings) -> None:
        day0 = snapshot(lines[:BASE], template.home.parent / "day0.jsonl")
        index_corpus(template, [day0], encoder=tiny_encoder)

    return copy_home(home_template("reindex-first", backend, build)[0], settings, postgres)


def test_unchanged_snapshot_embeds_nothing_and_publishes_nothing(
    first, tmp_path, lines, tiny_encoder
):
    """Quiet nights: no paper, text or setting changed, so no build is made, published or
    pruned, even with one build kept; the summary says so. A change then builds again."""
    settings = first.replace(keep_builds=1)
    before = [(b.id, b.status, b.published_at) for b in Store.open(settings).builds.all()]
    same = snapshot(lines[:BASE], tmp_path / "same.jsonl")
    for _ in range(3):
        summary = run(settings, [same], snapshot=True, encoder=tiny_encoder)
        assert (summary.added, summary.updated, summary.removed, summary.embedded) == (0,) * 4
        assert summary.unchanged == BASE and summary.build_id == 1
        assert not summary.published and summary.pruned == []
    store = Store.open(settings)
    assert [(b.id, b.status, b.published_at) for b in store.builds.all()] == before
    assert store.builds.files(store.builds.get(1)).index.exists()
    out = CliRunner().invoke(main, ["reindex", str(same), *cli_args(settings)])
    assert out.exit_code == 0, out.output
    assert "nothing changed: build 1 stays current" in out.output
    changed_day = lines[:BASE]
    changed_day[7] = changed(changed_day[7])
    summary = run(settings, [snapshot(changed_day, tmp_path / "d1.jsonl")], snapshot=True,
                  encoder=tiny_encoder)  # fmt: skip
    assert summary.published and summary.build_id == 2 and summary.embedded == 1
    assert not summary.retrained  # centroids reused from build 1


def test_new_and_changed_papers_embed_exactly_k_plus_m(first, tmp_path, lines, tiny_encoder):
    day1 = lines[:BASE]
    for i in (3, 14, 15):
        day1[i] = changed(day1[i])
    day1 += lines[BASE : BASE + 7]
    summary = run(first, [snapshot(day1, tmp_path / "day1.jsonl")], snapshot=True,
                  encoder=tiny_encoder)  # fmt: skip
    assert (summary.added, summary.updated, summary.embedded) == (7, 3, 10)
    engine = SearchEngine.open(first, encoder=tiny_encoder)
    assert engine.build.id == summary.build_id and engine.index.ntotal == BASE + 7
    new = json.loads(lines[BASE + 3])
    assert engine.store.papers.get(finds_itself(engine, tiny_encoder, new["title"], new["summary"]))
    fixed = json.loads(day1[14])
    paper_id = finds_itself(engine, tiny_encoder, fixed["title"], fixed["summary"])
    assert engine.store.papers.get(paper_id).external_id == fixed["id"]
    old = json.loads(lines[14])
    old_vector = tiny_encoder.encode_papers([(old["title"], " ".join(old["summary"].split()))])
    distances, _ = engine.index.search(old_vector, 1)
    assert distances[0, 0] > 1e-3  # the old text is gone from the index


def test_a_re_index_reads_the_searchable_papers_at_most_twice(
    first, tmp_path, lines, tiny_encoder, monkeypatch
):
    """Once for what needs embedding, once for what the build holds: the papers to embed
    are then read by id, and compacting and building share one read."""
    from search.store.vectors import Vectors

    reads = []
    searchable = Vectors._searchable

    def counted(self, **kwargs):
        reads.append(kwargs)
        return searchable(self, **kwargs)

    monkeypatch.setattr(Vectors, "_searchable", counted)
    day1 = lines[:BASE]
    day1[3] = changed(day1[3])
    day1 += lines[BASE : BASE + 2]
    summary = run(first, [snapshot(day1, tmp_path / "day1.jsonl")], snapshot=True,
                  encoder=tiny_encoder)  # fmt: skip
    assert summary.embedded == 3 and summary.published
    assert len(reads) <= 2, reads
    reads.clear()
    quiet = run(first, [snapshot(day1, tmp_path / "day1.jsonl")], snapshot=True,
                encoder=tiny_encoder)  # fmt: skip
    assert quiet.embedded == 0 and not quiet.published
    assert len(reads) <= 2, reads


def test_removed_paper_leaves_search_and_its_id_is_never_reused(
    first, tmp_path, lines, tiny_encoder
):
    gone = json.loads(lines[5])
    engine = SearchEngine.open(first, encoder=tiny_encoder)
    gone_id = engine.store.papers.get_by_external_id(gone["id"]).id
    day1 = lines[:5] + lines[6:BASE] + [lines[BASE]]
    summary = run(first, [snapshot(day1, tmp_path / "day1.jsonl")], snapshot=True,
                  encoder=tiny_encoder)  # fmt: skip
    assert (summary.removed, summary.added) == (1, 1)
    app = create_app(first, encoder=tiny_encoder)
    client = app.test_client()
    assert client.get(f"/api/v1/papers/{gone_id}").status_code == 404
    assert client.get(f"/papers/{gone_id}").status_code == 404
    assert client.get(f"/api/v1/papers/{gone_id}/similar").status_code == 404
    engine = SearchEngine.open(first, encoder=tiny_encoder)
    vector = tiny_encoder.encode_papers([(gone["title"], " ".join(gone["summary"].split()))])
    _, ids = engine.index.search(vector, 20)
    assert gone_id not in ids[0]
    for offset in range(0, engine.index.ntotal, 100):
        page = engine.search("anything at all", k=100, offset=offset)
        assert gone_id not in [hit.id for hit in page.results]
    new_id = engine.store.papers.get_by_external_id(json.loads(lines[BASE])["id"]).id
    assert new_id > BASE >= gone_id
    # Back in a later snapshot: the same id again, not a new one.
    run(first, [snapshot(lines[:BASE + 1], tmp_path / "day2.jsonl")], snapshot=True,
        encoder=tiny_encoder)  # fmt: skip
    assert SearchEngine.open(first).store.papers.get_by_external_id(gone["id"]).id == gone_id


def test_delta_adds_and_updates_but_removes_nothing(first, tmp_path, lines, tiny_encoder):
    delta = [changed(lines[0]), lines[BASE], lines[BASE + 1]]
    summary = run(first, [snapshot(delta, tmp_path / "delta.jsonl")], snapshot=False,
                  encoder=tiny_encoder)  # fmt: skip
    assert (summary.added, summary.updated, summary.removed, summary.embedded) == (2, 1, 0, 3)
    assert SearchEngine.open(first).index.ntotal == BASE + 2


def test_truncated_snapshot_withdraws_nothing_and_publishes_nothing(
    first, tmp_path, lines, tiny_encoder
):
    path = tmp_path / "cut.jsonl.gz"
    data = gzip.compress("".join(lines[:BASE]).encode())
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(UnsafeSnapshot, match="truncated"):
        run(first, [path], snapshot=True, encoder=tiny_encoder)
    engine = SearchEngine.open(first)
    assert engine.build.id == 1 and engine.store.papers.count() == BASE


def test_snapshot_that_would_remove_too_much_is_refused(first, tmp_path, lines, tiny_encoder):
    small = snapshot(lines[:100], tmp_path / "small.jsonl")
    result = CliRunner().invoke(main, ["reindex", str(small), *cli_args(first)])
    assert result.exit_code == 1 and "--max-removed" in result.output
    assert SearchEngine.open(first).store.papers.count() == BASE
    summary = run(first, [small], snapshot=True, max_removed=1.0, encoder=tiny_encoder)
    assert summary.removed == BASE - 100


def test_changing_the_model_re_embeds_everything(first, tmp_path, lines):
    other = first.replace(pooling="mean")
    summary = run(other, [snapshot(lines[:BASE], tmp_path / "same.jsonl")], snapshot=True)
    assert summary.embedded == BASE and summary.retrained
    assert summary.retrain_reason == "no IVF build of this model to reuse"


def test_retrain_rule():
    class Build:
        nlist, model_key, trained_vectors, vector_count = 100, "m", 10_000, 10_000
        added_since_training, path, dim, index_type = 0, __file__, 768, "IVF100,Flat"

    settings = Settings()
    assert retrain_reason(Build, "m", 10_100, 100, settings, forced=None) is None
    assert retrain_reason(Build, "m", 10_000, 0, settings, forced="asked") == "asked"
    assert retrain_reason(None, "m", 10_000, 0, settings, forced=None)
    assert "model" in retrain_reason(Build, "other", 10_000, 0, settings, forced=None)
    assert "since training" in retrain_reason(Build, "m", 25_000, 0, settings, forced=None)
    assert "since training" in retrain_reason(Build, "m", 4_000, 0, settings, forced=None)
    Build.added_since_training = 1_950
    assert retrain_reason(Build, "m", 10_000, 40, settings, forced=None) is None
    assert "20%" in retrain_reason(Build, "m", 10_000, 60, settings, forced=None)
    assert "nlist" in retrain_reason(Build, "m", 10_000, 0, settings.replace(nlist=50), None)
    small = settings.replace(index_memory=10_000 * 800)  # room for SQ8 codes, not for Flat
    assert "SQ8" in retrain_reason(Build, "m", 10_000, 0, small, forced=None)
    Build.index_type = "IVF100,SQ8"
    assert retrain_reason(Build, "m", 10_000, 0, small, forced=None) is None


def test_memory_budget_encodes_the_index_and_reindex_keeps_its_codec(
    first, tmp_path, lines, tiny_encoder
):
    """A budget too small for float32 vectors gives SQ8 codes; re-index reuses that codec
    and its centroids while the budget holds, and re-trains when the budget changes."""
    budget = 1100 * (32 + 8)  # the tiny model's 32 dims: SQ8 fits, Flat (136 B) does not
    small = first.replace(index_memory=budget)
    day1 = snapshot(lines[:BASE], tmp_path / "day1.jsonl")
    summary = run(small, [day1], snapshot=True, encoder=tiny_encoder)
    assert summary.retrained and "SQ8" in summary.retrain_reason
    assert summary.index_type == "IVF25,SQ8" and summary.embedded == 0
    engine = SearchEngine.open(small, encoder=tiny_encoder)
    assert engine.index.encoding == "SQ8" and engine.build.tuned_recall > 0.5
    assert len(engine.search("face landmark alignment", k=10).results) == 10
    again = run(small, [snapshot(lines[: BASE + 10], tmp_path / "d2.jsonl")], snapshot=True,
                encoder=tiny_encoder)  # fmt: skip
    assert not again.retrained and again.index_type == "IVF25,SQ8" and again.embedded == 10
    back = run(first, [day1], snapshot=True, encoder=tiny_encoder)
    assert back.retrained and back.index_type == "IVF25,Flat"


def test_builds_list_use_and_pruning(first, tmp_path, lines, tiny_encoder):
    settings = first.replace(keep_builds=2)
    for day in range(1, 4):
        run(settings, [snapshot(lines[: BASE + day], tmp_path / f"d{day}.jsonl")], snapshot=True,
            encoder=tiny_encoder)  # fmt: skip
    store = Store.open(settings, migrate=True)
    statuses = {b.id: b.status for b in store.builds.all()}
    assert statuses == {1: "pruned", 2: "pruned", 3: "complete", 4: "complete"}
    files = store.builds.files
    assert (
        not files(store.builds.get(2)).index.exists() and files(store.builds.get(3)).index.exists()
    )
    assert not files(store.builds.get(2)).keywords.exists()  # a build's files go together
    runner = CliRunner()
    home = [*cli_args(settings), "--keep-builds", "2"]
    listed = json.loads(runner.invoke(main, ["builds", "list", "--json", *home]).output)
    assert [(b["id"], b["current"]) for b in listed][:2] == [(4, True), (3, False)]
    result = runner.invoke(main, ["builds", "use", "3", *home])
    assert result.exit_code == 0, result.output
    assert store.builds.current_id() == 3
    assert SearchEngine.open(settings).index.ntotal == BASE + 2
    result = runner.invoke(main, ["builds", "use", "1", *home])
    assert result.exit_code == 1 and "pruned" in result.output
    # The next run builds from the store and becomes current again.
    summary = run(settings, [snapshot(lines[: BASE + 3], tmp_path / "d4.jsonl")], snapshot=True,
                  encoder=tiny_encoder)  # fmt: skip
    assert store.builds.current_id() == summary.build_id == 5


def test_after_builds_use_every_mode_and_page_agrees_on_the_papers(
    first, tmp_path, lines, tiny_encoder, client_on
):
    """Papers added after build N are served by no mode, filter, count or page after
    `builds use N`, and come back when a build that holds them is current again."""
    run(
        first,
        [snapshot(lines[: BASE + 5], tmp_path / "day1.jsonl")],
        snapshot=True,
        encoder=tiny_encoder,
    )  # fmt: skip  (build 2: five papers more)
    runner = CliRunner()
    result = runner.invoke(main, ["builds", "use", "1", *cli_args(first)])
    assert result.exit_code == 0, result.output
    new = [json.loads(line) for line in lines[BASE : BASE + 5]]
    writer = Store.open(first)
    new_ids = {writer.papers.get_by_external_id(paper["id"]).id for paper in new}
    assert len(new_ids) == 5
    client = client_on(first)

    def served(**params) -> tuple[set[int], int]:
        """Every id a search returns, over all its pages, and its total."""
        ids, total, offset = set(), None, 0
        while total is None or offset < min(total, 1000):
            answer = client.get(
                "/api/v1/search", query_string={**params, "k": 100, "offset": offset}
            ).json
            ids |= {hit["id"] for hit in answer["results"]}
            total, offset = answer["total"], offset + 100
        return ids, total

    paper = new[0]
    author = (
        paper["authors"][0]["name"]
        if isinstance(paper["authors"][0], dict)
        else (paper["authors"][0])
    )
    for params in (
        {"q": paper["title"], "mode": "semantic"},
        {"q": paper["title"], "mode": "keyword"},
        {"q": paper["title"], "mode": "hybrid"},
        {"q": paper["title"], "mode": "keyword", "sort": "date"},
        {"q": "learning", "mode": "semantic", "author": author},
        {"q": author, "mode": "keyword"},
    ):
        ids, total = served(**params)
        assert not ids & new_ids, params
        assert total <= BASE, params
    assert served(q="anything", mode="semantic")[1] == BASE
    assert client.get("/api/v1/health").json["papers"] == BASE
    gone = client.get(f"/api/v1/papers/{paper['id']}")
    assert gone.status_code == 404 and gone.json["error"]["code"] == "not_in_build"
    page = client.get(f"/papers/{min(new_ids)}")  # says so, rather than "not found"
    assert page.status_code == 200 and b"does not hold it" in page.data
    assert b"Similar papers" not in page.data  # nothing from this build is offered
    assert client.get(f"/api/v1/papers/{min(new_ids)}/similar").json["error"]["code"] == (
        "not_in_build"
    )
    recommended = client.post("/api/v1/recommendations", json={"positive_ids": [min(new_ids)]})
    assert recommended.json["error"]["code"] == "not_in_build"
    ids, _ = served(q="anything", mode="semantic")
    assert len(ids) == BASE and not ids & new_ids
    # Build 2 current again: the same papers are served by every mode.
    assert runner.invoke(main, ["builds", "use", "2", *cli_args(first)]).exit_code == 0
    client = client_on(first)
    assert paper["id"] in {
        hit["external_id"]
        for hit in client.get(
            "/api/v1/search", query_string={"q": paper["title"], "mode": "keyword"}
        ).json["results"]
    }
    assert client.get(f"/api/v1/papers/{paper['id']}").status_code == 200
    assert served(q="anything", mode="semantic")[1] == BASE + 5


def test_search_feed_is_atom_and_shows_a_new_paper_after_the_re_index_that_adds_it(
    first, tmp_path, lines, tiny_encoder, client_on
):
    import feedparser

    client = client_on(first)
    new = json.loads(lines[BASE])
    params = {"q": new["title"], "mode": "keyword"}
    page = client.get("/", query_string=params)
    assert b'type="application/atom+xml"' in page.data and b"/feeds/search.atom?" in page.data

    def feed() -> feedparser.FeedParserDict:
        response = client.get("/feeds/search.atom", query_string=params)
        assert response.status_code == 200, response.data[:300]
        assert response.headers["Content-Type"].startswith("application/atom+xml")
        parsed = feedparser.parse(response.data)
        assert not parsed.bozo, parsed.get("bozo_exception")
        assert parsed.version == "atom10"
        assert parsed.feed.id.startswith("urn:papersearch:search:") and parsed.feed.updated
        assert all(e.id and e.title and e.updated and e.link for e in parsed.entries)
        return parsed

    before = feed()
    assert before.entries and len(before.entries) <= 100  # build 1's papers are new too
    assert new["id"] not in {e.id.rsplit(":", 1)[1] for e in before.entries}
    run(first, [snapshot(lines[: BASE + 1], tmp_path / "day1.jsonl")], snapshot=True,
        encoder=tiny_encoder)  # fmt: skip
    client = client_on(first)
    after = feed()
    newest = after.entries[0]  # newest arrival first
    assert newest.id == f"urn:papersearch:paper:{new['id']}" and newest.title == new["title"]
    assert newest.updated_parsed >= max(e.updated_parsed for e in before.entries)
    assert after.feed.id == before.feed.id  # the same subscription
    # The papers listed before keep their entry ids: a reader shows only the new one.
    assert {e.id for e in before.entries} - {e.id for e in after.entries} <= {
        e.id for e in before.entries[-1:]
    }  # at most the last one drops below the top 100
    # Filters and a window of days ride along; a window must be sensible.
    filtered = client.get("/feeds/search.atom", query_string={**params, "year": "1900"})
    assert feedparser.parse(filtered.data).entries == []
    assert client.get("/feeds/search.atom", query_string={**params, "days": 0}).status_code == 422


def test_pruning_keeps_distinct_builds(first, tmp_path, lines, tiny_encoder):
    """`index` always builds (fresh centroids): a second build of the same papers is no
    rollback point of its own, so the older twin goes and the distinct build before it
    stays."""
    settings = first.replace(keep_builds=2)
    grown = snapshot(lines[: BASE + 5], tmp_path / "grown.jsonl")
    run(settings, [grown], snapshot=True, encoder=tiny_encoder)  # build 2: other papers
    for _ in range(2):  # builds 3 and 4: the same papers as build 2, retrained
        index_corpus(settings, [grown], encoder=tiny_encoder)
    store = Store.open(settings)
    statuses = {b.id: b.status for b in store.builds.all()}
    assert statuses == {1: "complete", 2: "pruned", 3: "pruned", 4: "complete"}
    assert store.builds.current_id() == 4


def test_one_writer_at_a_time(settings):
    with (
        write_lock(settings.home),
        pytest.raises(AlreadyRunning, match=str(os.getpid())),
        write_lock(settings.home),
    ):
        pass
    with write_lock(settings.home):  # released on exit
        pass


def test_lock_of_a_killed_process_is_released(settings):
    code = (
        "import sys, time; from pathlib import Path; from indexer.lock import write_lock\n"
        "with write_lock(Path(sys.argv[1])):\n    print('locked', flush=True); time.sleep(60)\n"
    )
    proc = subprocess.Popen(
        [sys.executable, "-c", code, str(settings.home)], stdout=subprocess.PIPE
    )
    assert proc.stdout.readline().strip() == b"locked"
    with pytest.raises(AlreadyRunning), write_lock(settings.home):
        pass
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    with write_lock(settings.home):
        pass


def reindex_process(
    settings: Settings, corpus: Path, pause_at: str, pause_file: Path, shards: int = 1
):
    env = {
        **os.environ,
        "PAPERSEARCH_SHARDS": str(shards),
        "PAPERSEARCH_HOME": str(settings.home),
        "PAPERSEARCH_DATABASE_URL": settings.database_url,
        "PAPERSEARCH_PAUSE_AT": pause_at,
        "PAPERSEARCH_PAUSE_FILE": str(pause_file),
    }
    return subprocess.Popen(
        [sys.executable, "-m", "papersearch", "reindex", str(corpus), "--json"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )


def answers(engine: SearchEngine) -> list[list[int]]:
    """What a server of ``engine``'s build answers to a few queries, in every mode."""
    queries = ["graph neural networks", "image segmentation", "language model alignment"]
    return [[h.id for h in engine.search(q, k=10, mode=mode).results]
            for q in queries for mode in ("semantic", "keyword", "hybrid")]  # fmt: skip


@pytest.mark.slow
@pytest.mark.parametrize(
    "point, changes, shards",
    [("embedding", 600, 1), ("index-written", 600, 1), ("publish", 600, 1),
     ("keywords", 600, 1), ("keywords", 5, 1), ("keywords-written", 5, 1), ("graph", 5, 1),
     ("index-written", 600, 3), ("keywords-written", 5, 3), ("publish", 5, 3)],
)  # fmt: skip
def test_sigkill_at_any_point_keeps_the_previous_build_and_the_next_run_finishes(
    first, tmp_path, lines, tiny_encoder, point, changes, shards
):
    """Killed anywhere, the keyword index included (written afresh after many changes,
    derived from build 1's after a few), and in the middle of a build in shards: build 1
    serves, answering as before in every mode, and the next run finishes, leaving no file
    of the killed build."""
    engine = SearchEngine.open(first, encoder=tiny_encoder)
    before = answers(engine)
    day1 = [changed(line) for line in lines[:changes]] + lines[changes : BASE + 50]
    corpus = snapshot(day1, tmp_path / "day1.jsonl")
    pause_file = tmp_path / "paused"
    proc = reindex_process(first, corpus, point, pause_file, shards)
    deadline = time.monotonic() + 120
    while not pause_file.exists():
        assert proc.poll() is None, proc.stderr.read().decode()
        assert time.monotonic() < deadline, "the run never reached the checkpoint"
        time.sleep(0.05)
    proc.send_signal(signal.SIGKILL)
    proc.wait()

    engine = SearchEngine.open(first, encoder=tiny_encoder)
    assert engine.build.id == 1
    assert answers(engine) == before

    again = first.replace(shards=shards)
    summary = run(again, [corpus], snapshot=True, encoder=tiny_encoder)
    store = Store.open(first, migrate=True)
    assert summary.build_id == store.builds.current_id()
    assert store.builds.current().shards == shards
    kept = {f"build-{n:06d}" for n in (1, summary.build_id)}
    assert {p.name.partition(".")[0] for p in first.builds_dir.iterdir()} <= kept
    assert {b.status for b in store.builds.all() if b.id not in (1, summary.build_id)} <= {"failed"}
    assert (
        summary.vector_count == BASE + 50
        and store.vectors.count_pending(tiny_encoder.info.key) == 0
    )
    if point == "embedding":  # the chunk committed before the kill is not embedded again
        assert 0 < summary.embedded < 650
    assert not list(first.builds_dir.glob("*.tmp"))
    if changes < 100 and shards == 1:  # a few changed: the keyword index derived from build 1's
        derived = Manifest.read(first.builds_dir / store.builds.current().keywords_path)
        assert derived.derived_from == 1 and derived.papers == BASE + 50
    fixed = json.loads(day1[0])
    engine = SearchEngine.open(first, encoder=tiny_encoder)
    assert engine.store.papers.get(
        finds_itself(engine, tiny_encoder, fixed["title"], fixed["summary"])
    )


@pytest.mark.slow
def test_server_under_load_switches_to_the_new_build_without_a_failed_request(
    first, tmp_path, lines, tiny_encoder
):
    from werkzeug.serving import make_server

    settings = first.replace(reload_seconds=0.2)
    server = make_server("127.0.0.1", 0, create_app(settings, encoder=tiny_encoder), threaded=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    base = f"http://127.0.0.1:{server.server_port}"
    stop = threading.Event()
    failures: list[str] = []
    counts = {"requests": 0}
    builds_seen: set[int] = set()

    def client(n: int) -> None:
        while not stop.is_set():
            url = f"{base}/api/v1/search?q=query+{n}+{counts['requests'] % 7}&k=10"
            try:
                with urllib.request.urlopen(url, timeout=30) as response:
                    body = json.load(response)
                    assert len(body["results"]) == 10
                with urllib.request.urlopen(base + "/api/v1/health", timeout=30) as response:
                    builds_seen.add(json.load(response)["build"]["id"])
                counts["requests"] += 1
            except (urllib.error.URLError, AssertionError, OSError) as exc:
                failures.append(repr(exc))

    threads = [threading.Thread(target=client, args=(n,)) for n in range(4)]
    for t in threads:
        t.start()
    try:
        time.sleep(1)
        summary = run(settings, [snapshot(lines[: BASE + 20], tmp_path / "d1.jsonl")],
                      snapshot=True, encoder=tiny_encoder)  # fmt: skip
        deadline = time.monotonic() + 30
        while summary.build_id not in builds_seen and time.monotonic() < deadline:
            time.sleep(0.1)
        # The new papers are searchable through the running server.
        new_id = (
            Store.open(settings, migrate=True)
            .papers.get_by_external_id(json.loads(lines[BASE + 10])["id"])
            .id
        )
        with urllib.request.urlopen(f"{base}/api/v1/papers/{new_id}", timeout=30) as response:
            assert json.load(response)["id"] == new_id
        with urllib.request.urlopen(f"{base}/api/v1/search?q=new&k=1", timeout=30) as response:
            assert json.load(response)["total"] == BASE + 20
        time.sleep(0.5)
    finally:
        stop.set()
        for t in threads:
            t.join()
        server.shutdown()
    assert failures == []
    assert builds_seen == {1, summary.build_id} and counts["requests"] > 20


def test_a_model_that_cannot_be_had_fails_before_any_paper_is_stored(settings, tmp_path):
    """Asked for by name and missing: the run stops at once, and the next one, with a model
    that loads, finds every paper new."""
    from search.base.errors import ModelUnavailable

    corpus = snapshot(sample_lines(20), tmp_path / "c.jsonl")
    missing = settings.replace(base_model=str(tmp_path / "no-such-model"))
    started = time.monotonic()
    with pytest.raises(ModelUnavailable, match="does not exist"):
        index_corpus(missing, [corpus])
    assert time.monotonic() - started < 10
    assert Store.open(settings).papers.count() == 0
