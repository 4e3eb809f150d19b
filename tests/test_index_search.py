"""Index + search end to end on the tiny SPECTER2-shaped model, through the real pipeline."""

from __future__ import annotations

import json

import numpy as np
import pytest
from alembic import command
from click.testing import CliRunner

from indexer import build_lifecycle, ivf, pipeline
from indexer.pipeline import index_corpus
from papersearch import main
from search.ann import faiss_index
from search.base.errors import InvalidRequest, ModelMismatch, PaperNotFound
from search.base.settings import Settings, SettingsError
from search.engine.engine import SearchEngine
from search.store.db import alembic_config, current_revision, head_revision, make_engine, upgrade
from tests.helpers import cli_args, copy_home, sample_lines, write_lines

RESULT_KEYS = {"id", "external_id", "title", "authors", "year", "venue", "url", "score", "abstract"}


@pytest.fixture
def corpus_800(tmp_path):
    return write_lines(tmp_path / "corpus.jsonl", sample_lines(800))


@pytest.fixture
def indexed(settings, backend, postgres, home_template, tiny_encoder):
    """800 papers indexed (build 1), a copy for each test; and the run's summary."""

    def build(template: Settings):
        corpus = write_lines(template.home.parent / "corpus.jsonl", sample_lines(800))
        return index_corpus(template, [corpus], encoder=tiny_encoder)

    template, summary = home_template("index-800", backend, build)
    return copy_home(template, settings, postgres), summary


def test_migrations_from_an_empty_database(settings):
    engine = make_engine(settings, create=True)
    assert current_revision(engine) is None
    upgrade(engine)
    assert current_revision(engine) == head_revision()
    command.downgrade(alembic_config(engine), "base")
    assert current_revision(engine) is None
    upgrade(engine)
    assert current_revision(engine) == head_revision()


def test_read_commands_stop_when_the_schema_is_missing(settings):
    import sqlite3

    settings.home.mkdir()
    sqlite3.connect(settings.sqlite_path).close()  # a database, but no schema (on both)
    result = CliRunner().invoke(main, ["search", "x", *cli_args(settings)])
    assert result.exit_code == 1
    assert "papersearch db upgrade" in result.output


def test_read_commands_on_an_empty_home_create_nothing_and_say_where_they_looked(tmp_path):
    home = tmp_path / "nowhere"
    for args in (["search", "x"], ["similar", "1"], ["db", "current"], ["tune"]):
        result = CliRunner().invoke(main, [*args, "--home", str(home)])
        assert result.exit_code == 1, result.output
        assert f"no papersearch data in {home.resolve()}" in result.output
        assert "papersearch index" in result.output and "Traceback" not in result.output
    assert not home.exists()


def test_index_summary_and_build(indexed):
    settings, summary = indexed
    assert (summary.read, summary.stored, summary.added, summary.embedded) == (800, 800, 800, 800)
    assert summary.rejected == summary.duplicates == 0
    assert summary.index_type == "IVF20,Flat" and summary.vector_count == 800
    engine = SearchEngine.open(settings)
    build = engine.build
    assert build.status == "complete" and build.nlist == 20 and build.tuned_recall >= 0.95
    assert build.base_model == "allenai/specter2_base" and build.metric == "L2"
    # Recorded by name, so that the data directory can be moved or copied whole.
    assert build.path == "build-000001.faiss"
    assert engine.store.builds.files(build).index == settings.builds_dir / build.path


def test_every_paper_finds_itself_first_through_the_proximity_adapter(indexed, tiny_encoder):
    settings, _ = indexed
    engine = SearchEngine.open(settings, encoder=tiny_encoder)
    papers = [json.loads(line) for line in sample_lines(800)][:250]
    vectors = tiny_encoder.encode_papers(
        [(p["title"], " ".join(p["summary"].split())) for p in papers]
    )
    _, ids = engine.index.search(vectors, 1)
    found = engine.store.papers.get_many(ids[:, 0])
    assert [found[i].external_id for i in ids[:, 0]] == [p["id"] for p in papers]


def test_search_results_and_pages(indexed, tiny_encoder):
    settings, _ = indexed
    engine = SearchEngine.open(settings, encoder=tiny_encoder)
    first = engine.search("face landmark alignment", k=10)
    assert len(first.results) == 10 and first.total == 800
    assert set(first.to_dict()["results"][0]) >= RESULT_KEYS
    scores = [hit.score for hit in first.results]
    assert scores == sorted(scores, reverse=True)
    page2 = engine.search("face landmark alignment", k=5, offset=5)
    assert [h.id for h in page2.results] == [h.id for h in first.results[5:]]


@pytest.mark.parametrize(
    "query, k, offset",
    [("", 10, 0), ("   ", 10, 0), ("x", 0, 0), ("x", 101, 0), ("x", 10, -1), ("x" * 2001, 10, 0)],
)
def test_bad_search_parameters(indexed, tiny_encoder, query, k, offset):
    engine = SearchEngine.open(indexed[0], encoder=tiny_encoder)
    with pytest.raises(InvalidRequest):
        engine.search(query, k=k, offset=offset)


def test_similar_leaves_the_paper_out(indexed):
    settings, _ = indexed
    engine = SearchEngine.open(settings)
    paper = engine.store.papers.get_by_external_id(json.loads(sample_lines(1)[0])["id"])
    result = engine.similar(paper.id, k=5)
    assert len(result.results) == 5 and paper.id not in [h.id for h in result.results]
    with pytest.raises(PaperNotFound):
        engine.similar(999_999)


def test_cli_index_search_similar_json(settings, corpus_800, tiny_model_dirs):
    runner = CliRunner()
    home = cli_args(settings)
    out = runner.invoke(main, ["index", str(corpus_800), "--json", *home])
    assert out.exit_code == 0, out.output
    summary = json.loads(out.output)
    assert summary["stored"] == 800 and summary["build_id"] == 1
    out = runner.invoke(main, ["search", "protein structure", "-k", "3", "--json", *home])
    assert out.exit_code == 0, out.output
    doc = json.loads(out.output)
    assert set(doc) == {"query", "total", "took_ms", "results", "mode", "filters", "matches",
                        "seeds", "sort", "semantic_weight", "notice", "listed"}  # fmt: skip
    assert len(doc["results"]) == 3 and set(doc["results"][0]) >= RESULT_KEYS
    out = runner.invoke(main, ["similar", "2212.09525", "--external", "-k", "2", *home])
    assert out.exit_code == 0, out.output
    assert out.output.startswith("2 of 799 papers")
    out = runner.invoke(main, ["search", "x", "-k", "0", *home])
    assert out.exit_code == 1 and "k must be an integer" in out.output


def test_broken_lines_index_every_good_record_and_report_every_bad_one(
    settings, tmp_path, tiny_encoder
):
    good = sample_lines(60)
    lines = list(good)
    lines.insert(10, "{broken json\n")  # becomes line 11
    lines.insert(30, json.dumps({"id": "no-text", "summary": ""}) + "\n")  # line 31
    lines.insert(50, json.dumps({"title": "No id", "summary": "x"}) + "\n")  # line 51
    path = write_lines(tmp_path / "broken.jsonl", lines)
    with path.open("ab") as fh:
        fh.write(b'{"id": "u", "title": "\xff\xfe", "summary": "x"}\n')  # line 64
        fh.write(json.dumps({"id": "bad", "title": ["list"], "summary": "Kept.</br>"}).encode()
                 + b"\n")  # line 65: kept, titled from its abstract  # fmt: skip
    rejects = tmp_path / "rejects.jsonl"
    summary = index_corpus(settings, [path], rejects_path=rejects, encoder=tiny_encoder)
    assert (summary.read, summary.stored, summary.rejected) == (61, 61, 4)
    assert summary.warnings == 1 and summary.dropped_fields == {"title": 1}
    reported = [json.loads(line) for line in rejects.read_text().splitlines()]
    assert [r["line"] for r in reported if not r.get("kept")] == [11, 31, 51, 64]
    assert [r["line"] for r in reported if r.get("kept")] == [65]
    assert all(r["file"] == str(path) and r["reason"] for r in reported)
    assert summary.rejects_file == str(rejects)


def test_duplicate_ids_last_one_wins(settings, tmp_path, tiny_encoder):
    lines = sample_lines(40)
    first = json.loads(lines[0])
    lines.append(json.dumps({**first, "title": "Corrected title"}) + "\n")
    path = write_lines(tmp_path / "dups.jsonl", lines)
    summary = index_corpus(settings, [path], encoder=tiny_encoder)
    assert (summary.read, summary.duplicates, summary.stored) == (41, 1, 40)
    engine = SearchEngine.open(settings, encoder=tiny_encoder)
    assert engine.store.papers.get_by_external_id(first["id"]).title == "Corrected title"


def test_second_corpus_adds_to_the_store_and_embeds_only_new_papers(
    settings, tmp_path, tiny_encoder
):
    lines = sample_lines(100)
    index_corpus(settings, [write_lines(tmp_path / "a.jsonl", lines[:60])], encoder=tiny_encoder)
    summary = index_corpus(
        settings, [write_lines(tmp_path / "b.jsonl", lines[40:])], encoder=tiny_encoder
    )
    assert (summary.added, summary.unchanged, summary.embedded) == (40, 20, 40)
    engine = SearchEngine.open(settings, encoder=tiny_encoder)
    assert engine.build.id == 2 and engine.index.ntotal == 100


def test_failed_build_keeps_the_previous_build(settings, tmp_path, tiny_encoder, monkeypatch):
    path = write_lines(tmp_path / "a.jsonl", sample_lines(50))
    index_corpus(settings, [path], encoder=tiny_encoder)
    before = SearchEngine.open(settings, encoder=tiny_encoder).search("neural networks", k=5)

    def disk_full(index, target, before_rename=None, lists_file=None):
        target.write_bytes(b"partial")
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(build_lifecycle.faiss_index, "write", disk_full)
    with pytest.raises(OSError):
        index_corpus(settings, [path], encoder=tiny_encoder)
    engine = SearchEngine.open(settings, encoder=tiny_encoder)
    assert engine.build.id == 1
    assert not (settings.builds_dir / "build-000002.faiss").exists()
    after = engine.search("neural networks", k=5)
    assert [h.id for h in after.results] == [h.id for h in before.results]


def test_changed_model_settings_are_refused_at_search(settings, tmp_path, tiny_encoder):
    index_corpus(
        settings, [write_lines(tmp_path / "a.jsonl", sample_lines(30))], encoder=tiny_encoder
    )
    engine = SearchEngine.open(settings.replace(pooling="mean"))
    with pytest.raises(ModelMismatch, match="papersearch index"):
        engine.search("anything")


@pytest.mark.parametrize(
    "n, expected",
    [(100, None), (623, None), (624, 16), (3000, 76), (74_728, 1093), (1_000_000, 4000)],
)
def test_nlist_follows_corpus_size(n, expected):
    assert faiss_index.choose_nlist(n) == expected


def test_nlist_override_needs_enough_training_points():
    assert faiss_index.choose_nlist(1000, 20) == 20
    with pytest.raises(SettingsError, match="needs at least"):
        faiss_index.choose_nlist(1000, 100)


def test_faiss_device_selection_without_a_gpu():
    choose = ivf.choose_faiss_device
    assert choose("auto", num_gpus=0, has_gpu_api=True) == "cpu"
    assert choose("auto", num_gpus=1, has_gpu_api=True) == "cuda"
    assert choose("auto", num_gpus=1, has_gpu_api=False) == "cpu"
    assert choose("cpu", num_gpus=2, has_gpu_api=True) == "cpu"
    assert choose("auto", num_gpus=1, has_gpu_api=True, index_type="IVF9,SQ8") == "cuda"
    assert choose("auto", num_gpus=1, has_gpu_api=True, index_type="IVF9,PQ96") == "cuda"
    assert choose("auto", num_gpus=1, has_gpu_api=True, index_type="IVF9,PQ192") == "cpu"
    assert choose("auto", num_gpus=1, has_gpu_api=True, index_type="IVF65536_HNSW32,PQ64") == "cpu"
    with pytest.raises(RuntimeError):
        choose("cuda", num_gpus=0, has_gpu_api=True)


def test_flat_and_ivf_builds_are_exact_on_their_own_vectors(tmp_path):
    rng = np.random.default_rng(0)
    for n in (300, 2000):
        vectors = rng.normal(size=(n, 16)).astype(np.float32)
        ids = np.arange(1000, 1000 + n, dtype=np.int64)
        built = ivf.build(ivf.ArrayVectors(ids, vectors), device="cpu")
        path = tmp_path / f"{n}.faiss"
        faiss_index.write(built.index, path)
        loaded = faiss_index.VectorIndex.read(path, built.nprobe)
        distances, found = loaded.search(vectors[:50], 1)
        assert (found[:, 0] == ids[:50]).all() and np.allclose(distances[:, 0], 0, atol=1e-3)
    assert built.index_type.startswith("IVF") and loaded.ntotal == 2000


def test_corpus_with_no_usable_record_is_a_clear_error(settings, tmp_path, tiny_model_dirs):
    path = write_lines(tmp_path / "bad.jsonl", ['{"id": "1", "summary": ""}', '{"title": "x"}'])
    result = CliRunner().invoke(
        main, ["index", str(path), "--format", "arxiv", *cli_args(settings)]
    )
    assert result.exit_code == 1
    assert "no usable record" in result.output and "Traceback" not in result.output


def test_db_upgrade_command(settings):
    result = CliRunner().invoke(main, ["db", "upgrade", *cli_args(settings)])
    assert result.exit_code == 0, result.output
    assert f"revision {head_revision()}" in result.output
    result = CliRunner().invoke(main, ["db", "current", *cli_args(settings)])
    assert f"current: {head_revision()}" in result.output


def test_duplicates_across_upsert_batches(settings, tmp_path, tiny_encoder, monkeypatch):
    monkeypatch.setattr(pipeline, "UPSERT_BATCH", 10)
    lines = sample_lines(40)
    first = json.loads(lines[3])
    lines.append(json.dumps({**first, "title": "Last one wins"}) + "\n")  # 27 batches later
    lines.insert(20, lines[7])  # an identical duplicate
    summary = index_corpus(
        settings, [write_lines(tmp_path / "d.jsonl", lines)], encoder=tiny_encoder
    )
    assert (summary.read, summary.duplicates, summary.stored, summary.added) == (42, 2, 40, 40)
    store = SearchEngine.open(settings).store
    assert store.papers.get_by_external_id(first["id"]).title == "Last one wins"
    again = pipeline.run(settings, [write_lines(tmp_path / "d.jsonl", lines)], encoder=tiny_encoder)
    assert (again.unchanged, again.updated, again.embedded) == (40, 0, 0)


def test_new_centroids_are_tuned_to_the_target_recall(indexed):
    settings, _ = indexed
    build = SearchEngine.open(settings).build
    assert build.tuned_recall >= 0.95 and 1 <= build.nprobe <= build.nlist
    assert build.tuned_recall_100 >= 0.95 and build.nprobe <= build.deep_nprobe <= build.nlist


def test_tune_command_measures_and_stores(indexed, tiny_model_dirs):
    settings, _ = indexed
    home = cli_args(settings)
    result = CliRunner().invoke(
        main, ["tune", "--queries", "100", "--target", "0.99", "--json", *home]
    )
    assert result.exit_code == 0, result.output
    report = json.loads(result.output)
    assert [row["nprobe"] for row in report["rows"]] == [1, 2, 4, 8, 16, 20]
    recalls = [row["recall"] for row in report["rows"]]
    assert recalls[-1] == 1.0  # every list probed: exact
    assert report["recall@10"] >= 0.99 or report["nprobe"] == 20
    assert report["recall@100"] >= 0.99 or report["deep_nprobe"] == 20
    assert [row["recall_100"] for row in report["rows"]][-1] == 1.0
    engine = SearchEngine.open(settings)
    build = engine.build
    assert (build.nprobe, build.tuned_recall) == (report["nprobe"], report["recall@10"])
    assert (build.deep_nprobe, build.tuned_recall_100) == (
        report["deep_nprobe"], report["recall@100"])  # fmt: skip
    # Served: the first page at the tuned nprobe, deeper rankings at the deep one (at least).
    assert engine.index.probes_for(10) == max(build.nprobe, engine.index.probes_for(0))
    assert engine.index.probes_for(100) >= build.deep_nprobe
    text = CliRunner().invoke(main, ["tune", "--queries", "50", "--dry-run", *home]).output
    assert "recall@100" in text and "for hybrid's candidates" in text


def test_tuning_picks_the_smallest_nprobe_reaching_the_target():
    from search.ann.tuning import TuneRow, nprobe_grid, smallest_nprobe

    rows = [TuneRow(1, 0.5, 0.1), TuneRow(2, 0.8, 0.1), TuneRow(4, 0.96, 0.2), TuneRow(8, 1.0, 0.3)]
    assert smallest_nprobe(rows, 0.95) == 4 and smallest_nprobe(rows, 0.999) == 8
    assert smallest_nprobe(rows[:2], 0.95) == 2  # none reaches it: the best measured
    # A compressed index whose recall saturates below the target: no point probing every list.
    capped = [TuneRow(1, 0.5, 0.1), TuneRow(2, 0.8, 0.1), TuneRow(4, 0.898, 0.2)]
    capped += [TuneRow(8, 0.9, 0.3), TuneRow(16, 0.9, 0.6)]
    assert smallest_nprobe(capped, 0.95) == 4
    deep = [TuneRow(1, 0.9, 0.1, 0.6), TuneRow(2, 0.97, 0.1, 0.9), TuneRow(4, 1.0, 0.2, 0.96)]
    assert smallest_nprobe(deep, 0.95) == 2 and smallest_nprobe(deep, 0.95, deep=True) == 4
    assert nprobe_grid(20) == [1, 2, 4, 8, 16, 20] and nprobe_grid(16) == [1, 2, 4, 8, 16]


def test_memory_budget_picks_the_most_exact_encoding_that_fits():
    choose, size = faiss_index.choose_encoding, faiss_index.bytes_per_vector
    assert choose(1000, 768, None) == "Flat"
    assert choose(1000, 768, 1000 * size("Flat", 768)) == "Flat"
    assert choose(1000, 768, 1000 * size("Flat", 768) - 1) == "SQ8"
    assert choose(1000, 768, 1000 * size("SQ8", 768)) == "SQ8"
    assert choose(1000, 768, 1000 * size("SQ8", 768) - 1) == "SQ6"
    assert size("SQ6", 768) == 584 and size("SQ4", 768) == 392
    assert choose(1000, 768, 1000 * size("SQ4", 768) - 1) == "PQ192"
    assert choose(1000, 768, 1000 * 40) == "PQ24"
    assert faiss_index.pq_sizes(768) == [192, 96, 48, 24] and faiss_index.pq_sizes(32) == [8]
    with pytest.raises(SettingsError, match="cannot hold 1000 vectors"):
        choose(1000, 768, 1000 * 31)
    assert faiss_index.encoding_of("IVF20,SQ8") == "SQ8"
    assert faiss_index.encoding_of("Flat") == "Flat"


@pytest.mark.parametrize(
    "encoding", ["Flat", "SQ8", "SQ4", pytest.param("PQ8", marks=pytest.mark.slow)]
)
def test_builds_are_memory_mapped_and_search_like_in_memory(tmp_path, encoding):
    import faiss

    rng = np.random.default_rng(1)
    vectors = rng.normal(size=(4000, 32)).astype(np.float32)
    ids = np.arange(7, 4007, dtype=np.int64)
    budget = len(ids) * faiss_index.bytes_per_vector(encoding, 32)
    built = ivf.build(ivf.ArrayVectors(ids, vectors), memory_budget=budget, device="cpu")
    assert built.index_type == f"IVF{built.nlist},{encoding}"
    path = tmp_path / "b.faiss"
    faiss_index.write(built.index, path)
    mapped = faiss_index.VectorIndex.read(path, built.nprobe)
    copied = faiss_index.VectorIndex.read(path, built.nprobe, mmap=False)
    lists = faiss.downcast_InvertedLists(mapped.ivf.invlists)
    assert isinstance(lists, faiss.OnDiskInvertedLists) and lists.read_only
    assert lists.prefetch_nthread == 0  # no thread pool per search: the page cache is fast
    assert mapped.encoding == copied.encoding == encoding
    for k in (10, 500):  # deep pages probe more lists: same answers either way
        d1, i1 = mapped.search(vectors[:20], k)
        d2, i2 = copied.search(vectors[:20], k)
        np.testing.assert_array_equal(i1, i2)
        np.testing.assert_allclose(d1, d2)
    # centroids and codec reuse (the nightly re-index), from a mapped build
    again = ivf.build(ivf.ArrayVectors(ids[:100], vectors[:100]), trained=mapped)
    assert again.index_type == built.index_type and again.index.ntotal == 100


def test_a_data_directory_is_searched_with_its_own_model(settings, tmp_path, tiny_model_dirs):
    """Indexed with one model, then searched with no model settings: the index's own model
    is used; asked for another one, the error names the model the index was built with."""
    other = settings.replace(paper_adapter="none", query_adapter="none", pooling="mean")
    index_corpus(other, [write_lines(tmp_path / "a.jsonl", sample_lines(30))])
    home = cli_args(settings)
    result = CliRunner().invoke(main, ["search", "graph networks", "-k", "2", "--json", *home])
    assert result.exit_code == 0, result.output
    assert len(json.loads(result.output)["results"]) == 2
    refused = CliRunner().invoke(main, ["search", "graph networks", "--pooling", "cls", *home])
    assert refused.exit_code == 1
    assert "built with allenai/specter2_base + no adapter (mean pooling)" in refused.output
    # A nightly re-index with no model settings keeps the directory's model too.
    again = pipeline.run(other.replace(pooling="mean"), [tmp_path / "a.jsonl"])
    assert again.embedded == 0
    nothing_given = Settings(home=settings.home, database_url=settings.database_url)
    remembered = pipeline.run(nothing_given, [tmp_path / "a.jsonl"])
    assert remembered.embedded == 0  # another model would have embedded all 30 again
