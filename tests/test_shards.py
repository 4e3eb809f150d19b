"""A build in shards (``PAPERSEARCH_SHARDS``) answers as one index: semantic rankings are
identical to the unsharded build's, keyword rankings are BM25 on the whole corpus's IDF
(their remaining difference is the shards' mean document lengths, measured by
``bench/shards.py``), totals and matches are exact, and the build's files (every shard's)
are checksummed, derived night to night shard by shard, and pruned together."""

from __future__ import annotations

import numpy as np
import pytest

from indexer.pipeline import index_corpus
from search.base.errors import IndexCorrupt
from search.engine.engine import SearchEngine
from search.keyword_index.documents import Manifest
from search.query.filters import Filters
from search.store.build_files import shard_of
from tests.corpus import corpus_rows, write_corpus
from tests.helpers import settings_on

N_PAPERS = 900
QUERIES = ("neural networks for images", "protein structure", "graph learning with data",
           "quantum field theory", "a model of learning from data with networks")  # fmt: skip
FILTERS = (Filters(), Filters.parse(year="2005-2012"), Filters.parse(category="cs,math"))


@pytest.fixture(scope="module")
def engines(tmp_path_factory, tiny_encoder, module_backend, postgres):
    """The same corpus in one shard and in three, on one store each."""
    home = tmp_path_factory.mktemp("shards")
    corpus = write_corpus(home / "corpus.jsonl", corpus_rows(N_PAPERS))
    engines = {}
    for shards in (1, 3):
        settings = settings_on(module_backend, home / f"data-{shards}", postgres,
                               f"shards{shards}", shards=shards)  # fmt: skip
        index_corpus(settings, [corpus], encoder=tiny_encoder)
        engines[shards] = SearchEngine.open(settings, encoder=tiny_encoder)
    return engines


def test_papers_spread_over_the_shards_by_a_stable_hash():
    ids = np.arange(1, 300_001)
    counts = np.bincount(shard_of(ids, 3), minlength=3)
    assert counts.min() > 0.98 * len(ids) / 3
    assert np.array_equal(shard_of(ids, 3), shard_of(ids.copy(), 3))  # the same every build
    assert (shard_of(ids, 1) == 0).all()


def test_each_shard_holds_its_papers_under_the_shared_centroids(engines):
    engine = engines[3]
    files = engine.store.builds.files(engine.build)
    assert engine.build.shards == 3 and len(engine.index.parts) == 3
    held = []
    for number, part in enumerate(files.parts()):
        assert part.index.is_file() and part.keywords.is_dir()
        ids = np.load(part.keywords / "papers.npy")[:, 0]
        assert (shard_of(ids, 3) == number).all()
        held.append(ids)
    assert sum(int(p.ntotal) for p in engine.index.parts) == engines[1].index.ntotal
    whole = engines[1].store.builds.files(engines[1].build).keywords
    assert np.array_equal(np.sort(np.concatenate(held)), np.load(whole / "papers.npy")[:, 0])


@pytest.mark.parametrize("filters", FILTERS, ids=("none", "years", "categories"))
def test_semantic_rankings_are_the_unsharded_ones(engines, filters):
    for query in QUERIES:
        one, three = (engines[n].search(query, k=100, mode="semantic", filters=filters)
                      for n in (1, 3))  # fmt: skip
        assert [h.id for h in one.results] == [h.id for h in three.results], query
        assert [h.score for h in one.results] == pytest.approx([h.score for h in three.results])
        assert one.total == three.total


def overlap(a: list[int], b: list[int]) -> float:
    return len(set(a) & set(b)) / max(len(a), 1)


@pytest.mark.parametrize("filters", FILTERS, ids=("none", "years", "categories"))
def test_keyword_matches_and_totals_are_exact_and_rankings_near(engines, filters):
    for query in QUERIES + ('"neural networks" images', "Wang"):
        one, three = (engines[n].search(query, k=50, mode="keyword", filters=filters)
                      for n in (1, 3))  # fmt: skip
        assert one.total == three.total, query
        top = [h.id for h in one.results][:10]
        assert overlap(top, [h.id for h in three.results][:10]) >= 0.8, query


def test_corpus_idf_brings_shard_scores_to_the_whole_index(engines):
    """Scores on the corpus's IDF sit nearer one index's than each shard's own would."""
    from search.query.keywords import parse_keywords

    keywords = parse_keywords("quantum neural protein graph")
    whole = dict(engines[1].keywords.rank(keywords, 300)[0])
    sharded = dict(engines[3].keywords.rank(keywords, 300)[0])
    errors = {"corpus": [], "shard": []}
    for part in engines[3].keywords.parts:
        for paper, score in part.rank(keywords, 300, Filters())[0]:  # the shard's own IDF
            errors["shard"].append(abs(score - whole[paper]) / whole[paper])
            errors["corpus"].append(abs(sharded[paper] - whole[paper]) / whole[paper])
    assert np.mean(errors["corpus"]) < 0.25 * np.mean(errors["shard"])


def test_the_corpus_statistics_are_asked_once_a_term_and_kept(engines):
    """A query whose terms are known goes to the shards once: its ranking is the one
    first computed, and the shards are asked only of terms not seen; past the bound, the
    least recent terms are dropped and asked again, the rankings unchanged."""
    from search.keyword_index.statistics import CorpusStatistics
    from search.query.keywords import parse_keywords

    index = engines[3].keywords
    asked = []
    for part in index.parts:
        part.statistics = counted(part.statistics, asked)
    try:
        index.statistics = CorpusStatistics(index.parts)
        first = index.rank(parse_keywords("quantum neural networks"), 50)
        assert len(asked) == 3  # every shard, once
        assert index.rank(parse_keywords("quantum neural networks"), 50) == first
        assert len(asked) == 3
        index.rank(parse_keywords("neural protein"), 50)
        assert {tuple(weighed) for weighed in asked[3:]} == {
            (("body", ("protein",)), ("title", ("protein",)))
        }
        index.statistics = CorpusStatistics(index.parts, kept=2)  # fewer than a query weighs
        assert index.rank(parse_keywords("quantum neural networks"), 50) == first
        assert index.rank(parse_keywords("quantum neural networks"), 50) == first
    finally:
        for part in index.parts:
            del part.statistics  # the shard's own method again
        index.statistics = CorpusStatistics(index.parts)


def counted(statistics, asked: list):
    def asking(weighed):
        asked.append(list(weighed))
        return statistics(weighed)

    return asking


def test_a_nightly_build_derives_each_shard_and_is_checksummed_whole(
    tmp_path, tiny_encoder, backend, postgres
):
    """Each keyword shard of the next build is derived from the same shard; a changed
    shard file refuses the build; pruning and a changed shard count leave no shard file."""
    from dataclasses import replace

    from indexer.build_lifecycle import prune
    from indexer.pipeline import run

    rows = corpus_rows(900)
    settings = settings_on(backend, tmp_path / "data", postgres, "nightly", shards=3,
                           keep_builds=1)  # fmt: skip
    index_corpus(settings, [write_corpus(tmp_path / "d0.jsonl", rows[:880])], encoder=tiny_encoder)
    first = SearchEngine.open(settings, encoder=tiny_encoder).build
    run(settings, [write_corpus(tmp_path / "d1.jsonl", rows)], snapshot=True, encoder=tiny_encoder)
    engine = SearchEngine.open(settings, encoder=tiny_encoder)
    files = engine.store.builds.files(engine.build)
    assert engine.build.id != first.id and engine.build.centroids_from == first.id
    for part in files.parts():
        assert Manifest.read(part.keywords).derived_from == first.id
    assert engine.search("neural networks", mode="keyword").total > 0
    assert not list(settings.builds_dir.glob(f"build-{first.id:06d}*")), "pruned whole"

    damaged = files.shard(2).index
    damaged.write_bytes(damaged.read_bytes()[:-8])
    with pytest.raises(IndexCorrupt):
        SearchEngine.open(settings, encoder=tiny_encoder)

    two = replace(settings, shards=2)
    summary = run(two, [write_corpus(tmp_path / "d2.jsonl", rows)], snapshot=True,
                  encoder=tiny_encoder)  # fmt: skip
    assert summary.published, "another shard count is another build"
    engine = SearchEngine.open(two, encoder=tiny_encoder)
    assert engine.build.shards == 2 and len(engine.keywords.parts) == 2
    assert engine.search("neural networks", mode="hybrid").total == engine.index.ntotal == 900
    prune(engine.store, two)
    left = {p.name for p in two.builds_dir.iterdir()}
    assert not [name for name in left if "-of-3" in name], left
