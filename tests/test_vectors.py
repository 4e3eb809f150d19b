"""Vector files: shards and their manifest, crash safety, compaction, and the move from the
``embeddings`` table of the release before them (never embedding a paper again)."""

from __future__ import annotations

import dataclasses
import json
import os
import shutil
import subprocess
import sys

import numpy as np
import pytest
from alembic import command
from click.testing import CliRunner
from sqlalchemy import delete, func, insert, select

from indexer import pipeline
from indexer.pipeline import index_corpus
from papersearch import main
from search.base.errors import VectorsUnavailable
from search.engine.engine import SearchEngine
from search.store import Store
from search.store import vectors as vector_files
from search.store.db import alembic_config, current_revision, head_revision, make_engine
from search.store.schema import Embedding, Paper, VectorShard
from tests.helpers import REPO, cli_args, copy_home, sample_lines, write_lines

# The last commit before vector files: its data directories keep vectors in the database.
RELEASE_BEFORE_VECTOR_FILES = "b0b8353"


@pytest.fixture
def indexed(settings, backend, postgres, home_template, tiny_encoder):
    """300 papers indexed by the tiny model, a copy for each test."""

    def build(template):
        corpus = write_lines(template.home.parent / "c.jsonl", sample_lines(300))
        return index_corpus(template, [corpus], encoder=tiny_encoder)

    template, _ = home_template("vectors-300", backend, build)
    return copy_home(template, settings, postgres)


def shard_files(settings) -> list[str]:
    return sorted(p.name for p in settings.vectors_dir.rglob("*") if p.is_file())


def test_a_paper_whose_text_changes_gets_a_newer_row_and_only_it_is_embedded(
    indexed, tiny_encoder, tmp_path
):
    store = Store.open(indexed)
    key = tiny_encoder.info.key
    lines = sample_lines(300)
    changed = json.loads(lines[0])
    before = store.vectors.get(store.papers.get_by_external_id(changed["id"]).id, key)
    assert before is not None and before.dtype == np.float32
    assert store.vectors.count_pending(key) == 0
    lines[0] = json.dumps({**changed, "summary": "A new abstract about proteins."}) + "\n"
    summary = pipeline.run(indexed, [write_lines(tmp_path / "c.jsonl", lines)],
                           encoder=tiny_encoder)  # fmt: skip
    assert (summary.updated, summary.embedded) == (1, 1)
    store = Store.open(indexed)
    paper = store.papers.get_by_external_id(changed["id"])
    after = store.vectors.get(paper.id, key)
    assert not np.allclose(after, before)
    expected = tiny_encoder.encode_papers([(paper.title, paper.abstract)])[0]
    np.testing.assert_allclose(after, expected, rtol=1e-5, atol=1e-5)
    ids, vectors = store.vectors.all(key)
    assert len(ids) == 300 and len(set(ids.tolist())) == 300  # one row each, the newest
    np.testing.assert_allclose(vectors[ids == paper.id][0], expected, rtol=1e-5, atol=1e-5)


def test_vectors_are_files_and_the_database_keeps_only_their_manifest(indexed, tiny_encoder):
    engine = make_engine(indexed)
    with engine.connect() as conn:
        assert conn.scalar(select(func.count()).select_from(Embedding)) == 0
        shards = conn.execute(select(VectorShard)).all()
    assert sum(s.rows for s in shards) == 300 and {s.dim for s in shards} == {32}
    names = shard_files(indexed)
    assert len(names) == 3 * len(shards)
    for shard in shards:
        folder = indexed.vectors_dir / tiny_encoder.info.key
        ids = np.load(folder / f"{shard.name}.ids.npy", mmap_mode="r")
        vectors = np.load(folder / f"{shard.name}.vectors.npy", mmap_mode="r")
        assert ids.dtype == np.int64 and vectors.shape == (shard.rows, 32)


def test_withdrawn_papers_leave_the_live_vectors_and_chunks_match_the_whole(indexed, tiny_encoder):
    store = Store.open(indexed)
    key = tiny_encoder.info.key
    ids, vectors = store.vectors.all(key)
    store.papers.withdraw([int(ids[0]), int(ids[5])])
    live = store.vectors.live(key)
    assert len(live) == 298 and int(ids[0]) not in live.ids
    parts = list(live.chunks(7))
    assert max(len(i) for i, _ in parts) == 7
    joined = np.concatenate([v for _, v in parts])
    np.testing.assert_array_equal(np.concatenate([i for i, _ in parts]), live.ids)
    np.testing.assert_array_equal(joined, vectors[np.isin(ids, live.ids)])
    sample_ids, sample = live.sample(50, seed=3)
    assert len(sample_ids) == 50 and np.all(np.diff(sample_ids) > 0)
    np.testing.assert_array_equal(sample, vectors[np.isin(ids, sample_ids)])


def test_compaction_merges_small_shards_and_drops_rows_nothing_reads(
    indexed, tiny_encoder, monkeypatch
):
    store = Store.open(indexed)
    key = tiny_encoder.info.key
    ids, vectors = store.vectors.all(key)
    monkeypatch.setattr(vector_files, "SHARD_BYTES", 2 * 100 * 4 * 32)  # small: < 100 rows
    monkeypatch.setattr(vector_files, "SMALL_SHARDS", 3)

    def compact() -> list[int]:
        """The run's compaction; the shards' rows after it."""
        store.vectors.compacted_live(key)
        return [s.rows for s in store.vectors.catalogue(key).manifest]

    assert compact() == [300]
    stale = [vector_files.PendingPaper(int(i), "", None, "ab" * 32) for i in ids[:40]]
    for start in range(0, 40, 10):  # four small shards of rows made from other text
        store.vectors.save(key, stale[start : start + 10], vectors[start : start + 10])
    assert store.vectors.count_pending(key) == 40
    # The four small shards become one; the 300-row shard is left as it is.
    assert compact() == [300, 40]
    assert store.vectors.count_pending(key) == 40
    texts = {p.id: p.text_hash for p in (store.papers.get(int(i)) for i in ids[:40])}
    current = [vector_files.PendingPaper(p.id, "", None, texts[p.id]) for p in stale]
    store.vectors.save(key, current, vectors[:40])  # embedded again: 80 rows now unused
    monkeypatch.setattr(vector_files, "DEAD_SHARE", 0.2)
    assert compact() == [200, 100]  # 80 of 380 > 20%: every shard rewritten
    store = Store.open(indexed)
    assert len(shard_files(indexed)) == 6  # the replaced shards' files are gone
    assert store.vectors.count_pending(key) == 0
    again_ids, again = store.vectors.all(key)
    np.testing.assert_array_equal(again_ids, ids)
    np.testing.assert_array_equal(again, vectors)


def test_a_long_run_keeps_its_vector_files_few(settings, tiny_encoder, tmp_path, monkeypatch):
    monkeypatch.setattr(pipeline, "EMBED_CHUNK", 10)
    monkeypatch.setattr(vector_files, "SMALL_SHARDS", 4)
    corpus = write_lines(tmp_path / "c.jsonl", sample_lines(170))
    summary = index_corpus(settings, [corpus], encoder=tiny_encoder)
    assert summary.embedded == 170 and summary.vector_count == 170
    manifest = Store.open(settings).vectors.catalogue(tiny_encoder.info.key).manifest
    assert len(manifest) < 4  # 17 chunks were written, merged four at a time
    assert sum(s.rows for s in manifest) == 170


def test_a_crash_before_a_shard_is_recorded_leaves_files_the_next_run_removes(
    indexed, tiny_encoder, tmp_path, monkeypatch
):
    before = shard_files(indexed)
    lines = sample_lines(320)
    calls = 0
    record = vector_files.Vectors.record

    def crash_on_second(self, shards):
        nonlocal calls
        calls += 1
        if calls == 2:
            raise KeyboardInterrupt("killed between writing a shard and recording it")
        return record(self, shards)

    monkeypatch.setattr(pipeline, "EMBED_CHUNK", 10)
    monkeypatch.setattr(vector_files.Vectors, "record", crash_on_second)
    with pytest.raises(KeyboardInterrupt):
        pipeline.run(indexed, [write_lines(tmp_path / "c.jsonl", lines)], encoder=tiny_encoder)
    assert len(shard_files(indexed)) == len(before) + 6  # one recorded shard, one orphan
    (indexed.vectors_dir / tiny_encoder.info.key / "x.vectors.npy.123.tmp").write_bytes(b"")
    monkeypatch.setattr(vector_files.Vectors, "record", record)
    summary = pipeline.run(indexed, [write_lines(tmp_path / "c.jsonl", lines)],
                           encoder=tiny_encoder)  # fmt: skip
    assert summary.embedded == 10  # the recorded 10 were kept, the orphan's 10 redone
    assert summary.vector_count == 320
    store = Store.open(indexed)
    named = {s.name for s in store.vectors.catalogue(tiny_encoder.info.key).manifest}
    assert {name.split(".")[0] for name in shard_files(indexed)} == named


def test_a_host_without_the_vector_files_says_what_to_copy(indexed, tiny_encoder, client_on):

    shutil.rmtree(indexed.vectors_dir)
    engine = SearchEngine.open(indexed, encoder=tiny_encoder)
    with pytest.raises(VectorsUnavailable, match="vectors/"):
        engine.similar(1)
    client = client_on(indexed)
    answer = client.get("/api/v1/papers/1/similar")
    assert answer.status_code == 503
    assert answer.get_json()["error"]["code"] == "vectors_unavailable"
    assert client.get("/api/v1/search?q=graph").status_code == 200  # search needs none


# -- the release before vector files ------------------------------------------------------


def to_release_layout(settings) -> int:
    """Turn a data directory into what the release before vector files made: schema 0005,
    one row per paper and model in ``embeddings`` (the hex hash of the text, the dim, the
    float32 bytes), no vector files. Returns the number of rows."""
    store = Store.open(settings)
    engine = make_engine(settings)
    with engine.begin() as conn:
        keys = conn.scalars(select(VectorShard.model_key).distinct()).all()
        hashes = dict(conn.execute(select(Paper.id, Paper.text_hash)).all())
        rows = []
        for key in keys:
            ids, vectors = store.vectors.all(key)
            rows += [
                {"paper_id": int(i), "model_key": key, "text_hash": hashes[int(i)],
                 "dim": int(v.shape[0]), "vector": v.tobytes()}
                for i, v in zip(ids, vectors, strict=True)
            ]  # fmt: skip
        conn.execute(insert(Embedding), rows)
        conn.execute(delete(VectorShard))
    shutil.rmtree(settings.vectors_dir)
    command.downgrade(alembic_config(engine), "0005")
    assert current_revision(engine) == "0005"
    return len(rows)


def full_text_left(settings) -> list[str]:
    """The database's own full-text machinery, if any is left: SQLite's FTS5 tables and
    triggers, PostgreSQL's tsvector columns and their indexes."""
    from sqlalchemy import text

    engine = make_engine(settings)
    with engine.connect() as conn:
        if engine.dialect.name == "sqlite":
            query = "SELECT name FROM sqlite_master WHERE name LIKE '%fts%' OR sql LIKE '%fts5%'"
            return list(conn.scalars(text(query)))
        return list(conn.scalars(text(
            "SELECT column_name FROM information_schema.columns WHERE data_type = 'tsvector' "
            "UNION ALL SELECT indexname FROM pg_indexes WHERE indexdef LIKE '%tsvector%' "
            "OR indexname = 'ix_papers_search_vector'")))  # fmt: skip


def test_an_old_data_directory_moves_its_vectors_on_upgrade_and_embeds_nothing(
    indexed, tiny_encoder, tmp_path
):
    engine = SearchEngine.open(indexed, encoder=tiny_encoder)
    key = tiny_encoder.info.key
    ids, vectors = Store.open(indexed).vectors.all(key)
    answers = engine.search("graph neural networks", k=10).results
    neighbours = engine.similar(int(ids[3]), k=10).results
    assert to_release_layout(indexed) == 300
    assert full_text_left(indexed)  # the old release's full-text index, to be dropped
    refused = CliRunner().invoke(main, ["search", "graph", *cli_args(indexed)])
    assert refused.exit_code == 1 and "papersearch db upgrade" in refused.output
    result = CliRunner().invoke(main, ["db", "upgrade", *cli_args(indexed)])
    assert result.exit_code == 0, result.output
    assert f"revision {head_revision()}" in result.output and "Moved 300 vectors" in result.output
    assert "Wrote the keyword index of build 1: 300 papers" in result.output
    assert "Wrote the citation graph of build 1: 300 papers" in result.output
    assert not full_text_left(indexed)  # the database ranks no text any more
    store = Store.open(indexed)
    moved_ids, moved = store.vectors.all(key)
    np.testing.assert_array_equal(moved_ids, ids)
    np.testing.assert_array_equal(moved, vectors)  # bit for bit
    assert not store.vectors.legacy_rows()
    engine = SearchEngine.open(indexed, encoder=tiny_encoder)  # the old build still serves
    # (the old layout has no dates: going down to it dropped them)
    undated = [dataclasses.replace(hit, date=None) for hit in answers]
    assert engine.search("graph neural networks", k=10).results == undated
    undated = [dataclasses.replace(hit, date=None) for hit in neighbours]
    assert engine.similar(int(ids[3]), k=10).results == undated
    summary = pipeline.run(indexed, [write_lines(tmp_path / "c.jsonl", sample_lines(300))],
                           encoder=tiny_encoder)  # fmt: skip
    assert summary.embedded == 0 and summary.unchanged == 300


def test_db_upgrade_writes_a_keyword_index_of_an_older_format_again(indexed, tiny_encoder):
    """A build whose keyword index an older release wrote (format 1: fewer author keys) is
    refused with what to run, and ``db upgrade`` writes it again under a new checksum."""
    from indexer.build_lifecycle import intact
    from search.base.atomic_files import file_checksum
    from search.keyword_index.documents import FORMAT, Manifest

    store = Store.open(indexed)
    build = store.builds.current()
    directory = store.builds.files(build).keywords
    dataclasses.replace(Manifest.read(directory), format=1).write(directory)
    store.builds.add_keywords(build.id, build.keywords_path,
                              file_checksum(*store.builds.files(build).checksummed()))  # fmt: skip
    refused = CliRunner().invoke(main, ["search", "graph", "--mode", "keyword",
                                        *cli_args(indexed)])  # fmt: skip
    assert refused.exit_code == 1 and "papersearch db upgrade" in refused.output
    result = CliRunner().invoke(main, ["db", "upgrade", *cli_args(indexed)])
    assert result.exit_code == 0, result.output
    assert "Wrote the keyword index of build 1: 300 papers" in result.output
    assert Manifest.read(directory).format == FORMAT
    assert intact(store, store.builds.current()) is not None  # the new checksum holds
    engine = SearchEngine.open(indexed, encoder=tiny_encoder)
    assert engine.search("graph", k=5, mode="keyword").results
    again = CliRunner().invoke(main, ["db", "upgrade", *cli_args(indexed)])
    assert "Wrote the keyword index" not in again.output  # current now: nothing to do
    assert "Wrote the citation graph" not in again.output


def test_an_interrupted_move_resumes_and_loses_nothing(indexed, tiny_encoder, monkeypatch):
    key = tiny_encoder.info.key
    ids, vectors = Store.open(indexed).vectors.all(key)
    to_release_layout(indexed)
    monkeypatch.setattr(vector_files, "PAPERS_PER_QUERY", 70)
    written = vector_files.write_shard
    calls = 0

    def fail_on_third(*args, **kwargs):
        nonlocal calls
        calls += 1
        if calls == 3:
            raise OSError(28, "No space left on device")
        return written(*args, **kwargs)

    monkeypatch.setattr(vector_files, "write_shard", fail_on_third)
    with pytest.raises(OSError):
        Store.open(indexed, migrate=True)  # what `index` and `db upgrade` do first
    engine = make_engine(indexed)
    with engine.connect() as conn:
        assert conn.scalar(select(func.count()).select_from(Embedding)) == 300 - 140
        assert conn.scalar(select(func.sum(VectorShard.rows))) == 140
    monkeypatch.setattr(vector_files, "write_shard", written)
    store = Store.open(indexed, migrate=True)
    moved_ids, moved = store.vectors.all(key)
    np.testing.assert_array_equal(moved_ids, ids)
    np.testing.assert_array_equal(moved, vectors)
    assert sum(s.rows for s in store.vectors.catalogue(key).manifest) == 300  # none twice


def _release_checkout(tmp_path):
    if shutil.which("git") is None:
        pytest.skip("git is not installed")
    commit = f"{RELEASE_BEFORE_VECTOR_FILES}^{{commit}}"
    found = subprocess.run(["git", "-C", str(REPO), "cat-file", "-e", commit], capture_output=True)
    if found.returncode != 0:
        pytest.skip("this checkout has no history (the release before vector files)")
    release = tmp_path / "release"
    release.mkdir()
    archive = subprocess.run(["git", "-C", str(REPO), "archive", RELEASE_BEFORE_VECTOR_FILES],
                             capture_output=True, check=True).stdout  # fmt: skip
    subprocess.run(["tar", "-x", "-C", str(release)], input=archive, check=True)
    return release


@pytest.mark.slow
def test_a_directory_the_release_itself_made_upgrades_without_embedding_again(
    settings, tiny_model_dirs, tiny_encoder, tmp_path
):
    """The previous release's own code (from git) indexes; this one upgrades and goes on."""
    release = _release_checkout(tmp_path)
    corpus = write_lines(tmp_path / "c.jsonl", sample_lines(200))
    program = (
        f"import sys; sys.path.insert(0, {str(release)!r}); from papersearch import main; main()"
    )
    env = {**os.environ, "PAPERSEARCH_PRECISION": "fp32"}
    command = [sys.executable, "-c", program, "index", str(corpus), *cli_args(settings)]
    done = subprocess.run(command, cwd=release, env=env, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr[-3000:]
    engine = make_engine(settings)
    with engine.connect() as conn:
        assert current_revision(engine) == "0005"
        assert conn.scalar(select(func.count()).select_from(Embedding)) == 200
        old = {r.paper_id: np.frombuffer(r.vector, dtype=np.float32)
               for r in conn.execute(select(Embedding.paper_id, Embedding.vector))}  # fmt: skip
    engine.dispose()
    summary = pipeline.run(settings, [corpus], encoder=tiny_encoder)
    # Every paper is updated (this release stores the listing dates the old one ignored),
    # and none is embedded again.
    assert summary.embedded == 0 and summary.updated == 200 and summary.vector_count == 200
    assert Store.open(settings).papers.get(1).date == json.loads(sample_lines(1)[0])["listing_date"]
    ids, vectors = Store.open(settings).vectors.all(tiny_encoder.info.key)
    assert len(ids) == 200
    for paper_id, vector in zip(ids, vectors, strict=True):
        np.testing.assert_array_equal(vector, old[int(paper_id)])
    hits = SearchEngine.open(settings, encoder=tiny_encoder).similar(int(ids[0]), k=5).results
    assert len(hits) == 5 and int(ids[0]) not in [h.id for h in hits]
