"""The keyword index on its own (``search.keyword_index``): what a user types is only ever
words and quoted phrases, stopwords are dropped from rankings but not from phrases, and
what the writer derives from a previous build equals what it writes afresh."""

from __future__ import annotations

import re
import string

import numpy as np
import pytest
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from indexer import keyword_index as writer
from search.base.settings import Settings
from search.keyword_index import KeywordIndex
from search.keyword_index.documents import Manifest
from search.keyword_index.queries import tokens
from search.query.filters import Filters
from search.query.keywords import parse_keywords
from search.store import Store
from tests.helpers import sample_lines

N_PAPERS = 400
# Tantivy's query language, and the other operators search boxes know.
SYNTAX = ["title:", "abstract:", "body:", "id:", "AND", "OR", "NOT", "&&", "||", "!", "*", "?",
          "~", "~2", "^", "^5", "[", "]", "{", "}", "(", ")", "TO", "+", "-", ":", "\\", "/",
          "'", "IN", "field:[a TO b]", "year:>2020", "\"unclosed", "<", ">", "=", "$"]  # fmt: skip


@pytest.fixture(scope="module")
def stored(tmp_path_factory):
    """The first papers of the sample, stored (SQLite) with a keyword index written."""
    from indexer.readers import read_corpus

    root = tmp_path_factory.mktemp("keyword-index")
    (root / "corpus.jsonl").write_text("".join(sample_lines(N_PAPERS)))
    settings = Settings(home=root / "data")
    store = Store.open(settings, migrate=True)
    store.papers.upsert([r for _, r in read_corpus(root / "corpus.jsonl")])
    settings.builds_dir.mkdir(parents=True)
    return settings, store


def write_index(settings, store, build_id: int, ids: np.ndarray, previous=None):
    written = writer.write(store, settings, build_id, ids, store.texts.content_hashes(ids),
                           previous)  # fmt: skip
    return KeywordIndex(settings.builds_dir / written.name)


@pytest.fixture(scope="module")
def index(stored):
    settings, store = stored
    return write_index(settings, store, 1, np.arange(1, N_PAPERS + 1, dtype=np.int64))


@pytest.fixture(scope="module")
def vocabulary(stored) -> list[str]:
    _, store = stored
    words = {w.lower() for p in store.papers.get_many(range(1, 60)).values()
             for w in re.findall(r"[A-Za-z]{4,}", p.title)}  # fmt: skip
    return sorted(words)


def as_words(text: str) -> str:
    """The query with everything but words and quote marks blanked: what it must mean."""
    return re.sub(r'[^\w"]+', " ", text)


def test_query_syntax_is_searched_as_words_never_as_syntax(index, vocabulary):
    @hypothesis_settings(max_examples=300, deadline=None, database=None,
                         suppress_health_check=list(HealthCheck))  # fmt: skip
    @given(st.lists(st.one_of(st.sampled_from(SYNTAX), st.sampled_from(vocabulary),
                              st.text(string.punctuation, max_size=3)),
                    min_size=1, max_size=8),
           st.sampled_from(["", " ", "-", ":", "^", "~"]))  # fmt: skip
    def check(pieces, glue):
        text = glue.join(pieces)
        got = index.rank(parse_keywords(text), 20)
        assert got == index.rank(parse_keywords(as_words(text)), 20), text

    check()


@pytest.mark.parametrize(
    "query",
    ['title:graph', 'graph AND networks', '"unclosed graph', '*', 'graph~2', 'graph^5',
     'year:[2000 TO 2030]', 'field:[a TO b]', 'NOT graph', 'id:1', '(graph OR networks)'],
)  # fmt: skip
def test_each_kind_of_syntax_is_inert(index, query):
    assert index.rank(parse_keywords(query), 20) == index.rank(parse_keywords(as_words(query)), 20)


def test_stopwords_rank_nothing_but_phrases_of_them_are_searched(index):
    assert tokens("What is the effect of the graph on which networks?") == [
        "effect", "graph", "network"]  # fmt: skip
    plain = index.rank(parse_keywords("effect graph networks"), 50)
    asked = index.rank(parse_keywords("What is the effect of the graph on which networks?"), 50)
    assert asked == plain and plain[1] > 0
    assert parse_keywords("the of and").empty
    of_the = index.containing((("of", "the"),))
    assert len(of_the) > N_PAPERS / 2  # a phrase made only of stopwords still matches
    assert index.count((("of", "the"),), up_to=10) == 10


def test_filters_select_inside_the_index(index, stored):
    _, store = stored
    for filters in (Filters.parse(year="2025"), Filters.parse(category="cs"),
                    Filters.parse(category="cs.CV,math")):  # fmt: skip
        ranked, total = index.rank(parse_keywords("learning models"), 1000, filters)
        allowed = set(store.papers.matching_ids(filters).tolist())
        matching = {i for i, _ in index.rank(parse_keywords("learning models"), 1000)[0]}
        assert {i for i, _ in ranked} == matching & allowed and total == len(ranked)


def test_a_derived_index_holds_and_ranks_what_one_written_afresh_does(stored, index):
    """The next build's index, made from this one's with papers changed, added and
    withdrawn, holds exactly the papers an index written from nothing holds, and ranks
    them alike."""
    from indexer.readers import read_corpus
    from tests.helpers import write_lines

    settings, store = stored
    lines = sample_lines(N_PAPERS + 20)
    changed = [line.replace('"title": "', '"title": "Revised: ', 1) for line in lines[:10]]
    path = write_lines(settings.home / "next.jsonl", changed + lines[10:])
    store.papers.upsert([r for _, r in read_corpus(path)])
    store.papers.withdraw([30, 31, 32])
    ids = np.setdiff1d(np.arange(1, N_PAPERS + 21), [30, 31, 32])

    class Previous:
        id, path, lists_path, keywords_path = 1, "build-000001.faiss", None, index.directory.name
        graph_path, shards = None, 1

    derived = write_index(settings, store, 2, ids, Previous)
    fresh = write_index(settings, store, 3, ids)
    assert Manifest.read(derived.directory).derived_from == 1
    assert Manifest.read(fresh.directory).derived_from is None
    assert derived.papers == fresh.papers == len(ids)
    # The same papers match; scores differ only by the deleted documents Tantivy counts
    # until it merges them away (at most MAX_STALE_SHARE of the papers; 3% here).
    assert Manifest.read(derived.directory).stale == 13
    for query in ("revised", "graph neural networks", "learning", '"language model" agents'):
        got, want = (i.rank(parse_keywords(query), 1000) for i in (derived, fresh))  # all
        assert {i for i, _ in got[0]} == {i for i, _ in want[0]} and got[1] == want[1], query
        np.testing.assert_allclose(sorted(s for _, s in got[0]), sorted(s for _, s in want[0]),
                                   rtol=0.02)  # fmt: skip
    revised = derived.containing((("revised",),))
    assert set(range(1, 11)) <= set(revised.tolist())
    np.testing.assert_array_equal(revised, fresh.containing((("revised",),)))
    assert not {30, 31, 32} & set(derived.containing((("the",),)).tolist())
    # The build it came from is untouched: it still answers as before.
    assert index.rank(parse_keywords("revised"), 10)[1] == len(revised) - 10


def test_equal_scores_are_cut_by_paper_id_at_any_depth(tmp_path):
    """Papers with the same text tie; a page read at any depth is cut from one ranking
    that orders them by id, however Tantivy placed them in its segments (here the higher
    ids come first)."""
    import json

    from indexer.readers import read_corpus

    twins = tmp_path / "twins.jsonl"
    twin = {
        "title": "Quagga zebra stripes",
        "summary": "Quagga stripes measured.",
        "authors": ["A. Zebra"],
        "categories": ["q-bio.PE"],
    }
    twins.write_text("".join(json.dumps({"id": f"twin-{i}", **twin}) + "\n" for i in range(40)))
    settings = Settings(home=tmp_path / "data")
    store = Store.open(settings, migrate=True)
    store.papers.upsert([r for _, r in read_corpus(twins)])
    settings.builds_dir.mkdir(parents=True)
    ids = np.asarray(sorted(store.papers.external_ids()), dtype=np.int64)
    first = write_index(settings, store, 1, ids[20:])

    class Previous:
        id, path, lists_path, keywords_path = 1, "build-000001.faiss", None, first.directory.name
        graph_path, shards = None, 1

    # Build 2 keeps build 1's segment of the later ids and adds the earlier ones after it.
    ties = write_index(settings, store, 2, ids, Previous)
    assert Manifest.read(ties.directory).derived_from == 1
    query = parse_keywords("quagga")
    whole, total = ties.rank(query, 100)
    assert total == 40 and len(whole) == 40
    assert len({score for _, score in whole}) == 1
    assert [i for i, _ in whole] == sorted(ids.tolist())
    for limit in (1, 5, 39, 40):
        cut, _ = ties.rank(query, limit)
        assert cut == whole[:limit]


def test_a_word_typed_n_times_weighs_one_plus_log_n(index, vocabulary):
    """A request that repeats its subject weighs it more, sublinearly: every paper's score
    for a word typed twice is (1 + ln 2) times its score for the word typed once."""
    import math

    word = max(vocabulary, key=lambda w: index.rank(parse_keywords(w), 1)[1])
    once = dict(index.rank(parse_keywords(word), 50)[0])
    twice = dict(index.rank(parse_keywords(f"{word} {word.upper()}"), 50)[0])
    assert len(once) > 5 and once.keys() == twice.keys()
    for paper_id, score in once.items():
        assert twice[paper_id] == pytest.approx(score * (1 + math.log(2)), rel=1e-5)


def test_a_requests_quoted_title_is_searched_as_words_and_boosts(index, stored):
    """In a request of a sentence, a quoted title is not required: papers without it still
    rank, and each paper that holds it scores REQUEST_PHRASE_BOOST more than when the
    request is typed without the quotes."""
    from search.keyword_index.queries import REQUEST_PHRASE_BOOST

    _, store = stored

    def request(paper) -> str:
        return ("I am looking for the work that followed this paper and for studies that "
                f'tested its method on other data: "{paper.title}"')  # fmt: skip

    paper = next(p for p in store.papers.get_many(range(1, 40)).values()
                 if p.id in index.containing(parse_keywords(request(p)).boosts))  # fmt: skip
    quoted = parse_keywords(request(paper))
    assert not quoted.phrases and quoted.boosts
    boosted, total = index.rank(quoted, N_PAPERS)
    plain = dict(index.rank(parse_keywords(request(paper).replace('"', "")), N_PAPERS)[0])
    holding = set(index.containing(quoted.boosts).tolist())
    assert total > len(holding)  # the others still match
    assert dict(boosted).keys() == plain.keys()
    for paper_id, score in boosted:
        expected = plain[paper_id] + (REQUEST_PHRASE_BOOST if paper_id in holding else 0.0)
        assert score == pytest.approx(expected, rel=1e-5)
    assert boosted[0][0] == paper.id
