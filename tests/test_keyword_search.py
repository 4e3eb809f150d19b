"""Keyword and hybrid search: BM25 and highlights, quoted phrases, author names, the
fusion weights, inert query syntax, and the keyword index following updates.

The corpus is tests.corpus's 800 sample papers, indexed once per session on each store
(the ``engine`` and ``papers`` fixtures in conftest.py).
"""

from __future__ import annotations

from collections import Counter

import pytest
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from indexer.pipeline import index_corpus, run
from search.base.errors import InvalidRequest
from search.engine.engine import SearchEngine
from search.query.filters import Filters
from tests.corpus import (
    N_PAPERS,
    corpus_rows,
    name_matches,
    write_corpus,
)

SHARD_COUNTS = (1, 3)  # the engines here are built in one shard and in three


def test_keyword_mode_ranks_by_bm25_and_highlights(engine, papers):
    target = next(p for p in papers if len(p.title.split()) >= 6)
    result = engine.search(target.title, k=5, mode="keyword")
    assert result.results[0].id == target.id
    assert result.results[0].distance is None
    scores = [hit.score for hit in result.results]
    assert scores == sorted(scores, reverse=True)
    hit = engine.search("graph", k=1, mode="keyword").results[0]
    marked = [hit.snippet[a:b].lower() for a, b in hit.highlights]
    assert marked and all(word.startswith("graph") for word in marked)
    assert [hit.title[a:b].lower() for a, b in hit.title_highlights] == ["graph"] * len(
        hit.title_highlights
    )


def test_quoted_phrases_must_appear_in_keyword_mode_and_rank_higher_in_hybrid(engine, papers):
    phrase = "neural network"
    phrases = (("neural", "network"),)
    from search.query.keywords import parse_keywords

    k = engine.keywords.rank(parse_keywords(f'"{phrase}" images'), 100, Filters())[1]
    assert 10 <= k <= 100  # enough papers match: the quotes stay
    result = engine.search(f'"{phrase}" images', k=k, mode="keyword")
    assert result.results and result.notice is None
    for hit in result.results:
        text = " ".join(f"{hit.title} {hit.abstract}".lower().replace("-", " ").split())
        assert phrase in text or "neural networks" in text  # porter stemming
    # Hybrid: the same ranking as without quotes, with PHRASE_BOOST for the papers that
    # contain the phrase (bench/phrases.py: a filter cost 30-42% of nDCG@10).
    from search.ranking.fusion import PHRASE_BOOST

    containing = set(engine.keywords.containing(phrases).tolist())
    k = len(containing)  # a page no larger than the papers with the phrase: quotes kept
    quoted = engine.search(f'"{phrase}" images', k=k, mode="hybrid")
    plain = {h.id: h.score for h in engine.search(f"{phrase} images", k=100, mode="hybrid")
             .results}  # fmt: skip
    assert quoted.notice is None and quoted.total == plain_total(engine, phrase)
    assert {h.id for h in quoted.results} - containing  # others are still ranked
    for hit in quoted.results:
        if hit.id in plain:
            bonus = PHRASE_BOOST if hit.id in containing else 0.0
            assert hit.score == pytest.approx(plain[hit.id] + bonus, abs=2e-6)
    top = [h.id in containing for h in quoted.results[:10]]
    assert sum(top) >= sum(h in containing for h in list(plain)[:10])


def test_a_hybrid_phrase_query_reads_the_keyword_index_twice(engine, monkeypatch):
    """Its words ranked, then its candidates asked for the phrase: the corpus is counted
    only when fewer than k of them hold it (it was counted, ranked and asked: three)."""
    from search.keyword_index import KeywordIndex

    passes = []
    for name in ("rank", "containing", "count"):
        method = getattr(KeywordIndex, name)

        def counted(self, *args, _method=method, _name=name, **kwargs):
            passes.append(_name)
            return _method(self, *args, **kwargs)

        monkeypatch.setattr(KeywordIndex, name, counted)
    result = engine.search('"neural network" images', k=5, mode="hybrid")
    assert result.notice is None and passes == ["rank", "containing"]
    passes.clear()
    rare = engine.search('"graph zebra" images', k=5, mode="hybrid")
    assert rare.notice and passes == ["rank", "containing", "count"]


def plain_total(engine, phrase: str) -> int:
    return engine.search(f"{phrase} images", k=1, mode="hybrid").total


@pytest.mark.parametrize("mode", ["keyword", "hybrid"])
def test_a_phrase_fewer_than_k_papers_contain_is_searched_without_quotes(engine, mode):
    """Quotes that would empty or thin out the page are dropped, with a notice; the
    ranking is then the unquoted query's."""
    nowhere = engine.search('"graph zebra" learning', k=10, mode=mode)
    unquoted = engine.search("graph zebra learning", k=10, mode=mode)
    assert nowhere.notice == 'No papers contain "graph zebra"; showing results without the quotes.'
    assert [h.id for h in nowhere.results] == [h.id for h in unquoted.results]
    assert len(nowhere.results) == 10 and unquoted.notice is None
    from search.query.keywords import parse_keywords

    query = parse_keywords('"neural network" images')
    if mode == "keyword":  # the phrase and a word
        containing = engine.keywords.rank(query, 100, Filters())[1]
    else:  # the phrase: the papers it boosts
        containing = len(engine.keywords.containing(query.phrases))
    assert 1 < containing < 100
    few = engine.search('"neural network" images', k=containing + 1, mode=mode)
    assert few.notice == (
        f'Only {containing} papers match "neural network"; showing results without the quotes.'
    )
    assert len(few.results) == containing + 1
    enough = engine.search('"neural network" images', k=containing, mode=mode)
    assert enough.notice is None and len(enough.results) == containing
    if mode == "hybrid":  # a boost: the others stay in the ranking
        assert enough.total > containing


def test_author_names_find_their_papers(engine, papers):
    """A keyword query that is an author's name, however written, ranks all of that
    author's papers first, even when others share the surname."""
    surnames = Counter(a.split()[-1] for p in papers for a in set(p.authors) if a.split())
    author = max(
        (a for p in papers for a in p.authors if len(a.split()) == 2),
        key=lambda a: (surnames[a.split()[-1]], a),
    )  # the two-word name whose surname most papers share
    first, surname = author.split()
    theirs = {p.id for p in papers if any(name_matches(a, author) for a in p.authors)}
    assert theirs and surnames[surname] > len(theirs)  # others share the surname
    for written in (author, f"{surname}, {first}", f"{first[0]}. {surname}".upper()):
        # The author filter's papers (its matching is the property test's subject).
        wanted = set(engine.store.papers.matching_ids(Filters.parse(author=written)).tolist())
        assert theirs <= wanted
        result = engine.search(written, k=min(len(wanted) + 5, 100), mode="keyword")
        top = [hit.id for hit in result.results[: len(wanted)]]
        assert set(top) == wanted, written
    from search.query.filter_keys import looks_like_a_name

    assert looks_like_a_name("Luc van Gool") and looks_like_a_name("Chen, Hao")
    assert not looks_like_a_name("graph neural networks")  # topics are not looked up
    assert not looks_like_a_name("Chen") and not looks_like_a_name("GPT 4 Models")
    surname = author.split()[-1]
    filtered = engine.search("learning", k=10, filters=Filters.parse(author=surname))
    assert filtered.results and all(
        any(name_matches(a, surname) for a in hit.authors) for hit in filtered.results
    )


def test_any_last_words_of_a_name_may_be_its_surname():
    """Which words make a surname cannot be told from the name: each split is a key (the
    property test below found these four, at the initials of compound surnames)."""
    from search.query.filter_keys import author_filter_key, author_keys

    for name, typed in [("Haitz Sáez de Ocáriz Borde", "H. S. de Ocáriz Borde"),
                        ("Khan Muhammad Bin Asad", "K. M. B. Asad"),
                        ("Mahmoud El Daou", "M. E. Daou"),
                        ("Victor de Napole Gregolin", "V. de Napole Gregolin"),
                        ("Luc Van Gool", "L. Van Gool"), ("Luc Van Gool", "Gool"),
                        ("Luc Van Gool", "van gool, luc")]:  # fmt: skip
        assert author_filter_key(typed) in author_keys([name]), typed
        assert name_matches(name, typed)  # what the property below holds results to
    assert author_filter_key("Hao Chen") not in author_keys(["Guohao Chen"])
    assert author_filter_key("H. Chen") not in author_keys(["Hao Cheng"])


def test_author_filters_match_names_never_parts_of_names(engine, papers):
    """The property: no result of author=X has no author whose name is X, whatever form
    X takes (a full name, "Surname, Given", initials, a surname, other case or accents)."""
    names = sorted({a for p in papers for a in p.authors if len(a.split()) >= 2})

    particles = {"al", "de", "der", "van", "von", "da", "di", "la", "le", "du", "del"}

    def forms(name: str) -> list[str]:
        words = name.split()
        cut = next((i for i, w in enumerate(words[1:], 1) if w.lower() in particles),
                   len(words) - 1)  # "Luc Van Gool": the surname is "Van Gool"  # fmt: skip
        given, surname = words[:cut], " ".join(words[cut:])
        initials = " ".join(g[0] + "." for g in given)
        upper = name.upper() if name.upper().casefold() == name.casefold() else name
        return [name, upper, f"{surname}, {' '.join(given)}", f"{initials} {surname}",
                words[-1], name[1:], name[:-1]]  # fmt: skip

    @hypothesis_settings(max_examples=80, deadline=None, database=None,
                         suppress_health_check=list(HealthCheck))  # fmt: skip
    @given(name=st.sampled_from(names), form=st.integers(0, 6))
    def check(name, form):
        wanted = forms(name)[form]
        result = engine.search("learning", k=50, filters=Filters.parse(author=wanted))
        for hit in result.results:
            assert any(name_matches(a, wanted) for a in hit.authors), (wanted, hit.authors)
        if form < 4:  # the name itself, however written, finds its paper
            expected = {p.id for p in papers if name in p.authors}
            allowed = engine.store.papers.matching_ids(Filters.parse(author=wanted))
            assert expected <= set(allowed.tolist())

    check()


def test_every_word_counts_and_rare_words_weigh_more(engine, papers):
    """No word of a query but stopwords is dropped (a common-word rule cost 0.017 nDCG@10
    on Cranfield): a paper with both a common and a rare word ranks above one with the
    common word."""
    from search.query.keywords import parse_keywords

    keywords = engine.keywords

    def papers_with(word: str) -> int:
        return keywords.rank(parse_keywords(word), 1, Filters())[1]

    common = max(("we", "results", "paper", "show"), key=papers_with)
    with_common = [p for p in papers if common in f"{p.title} {p.abstract}".lower().split()]
    long_words = [w.lower() for p in with_common[:50] for w in p.title.split() if len(w) > 9]
    rare = min((w for w in long_words if w.isalpha()), key=papers_with)
    counts = {w: papers_with(w) for w in (common, rare)}
    assert counts[common] > 0.2 * N_PAPERS and 0 < counts[rare] < 0.2 * N_PAPERS
    ranked, total = keywords.rank(parse_keywords(f"{common} {rare}"), 5, Filters())
    assert total >= counts[common]  # papers with only the common word match too
    top = engine.store.papers.get(ranked[0][0])
    assert rare in f"{top.title} {top.abstract}".lower()
    quoted = f'{rare} "{common}"'
    k = keywords.rank(parse_keywords(quoted), 100, Filters())[1]
    phrase = engine.search(quoted, k=k, mode="keyword")  # phrases must match
    assert (
        phrase.results
        and phrase.notice is None
        and all(common in f"{h.title} {h.abstract}".lower() for h in phrase.results)
    )


@pytest.mark.parametrize(
    "query",
    ['"unbalanced', "AND OR NOT", "title:graph", "graph*", "NEAR(a b)", "'; DROP TABLE papers; --",
     '""', "^start", "-minus +plus", "col:umn:s", "(((", "a" * 500],
)  # fmt: skip
def test_keyword_syntax_in_queries_is_inert(engine, query):
    for mode in ("keyword", "hybrid"):
        try:
            result = engine.search(query, k=5, mode=mode)
        except InvalidRequest as exc:
            assert exc.code == "empty_query"  # nothing searchable left, said so
        else:
            assert len(result.results) <= 5
    assert engine.store.papers.count() == N_PAPERS


def test_hybrid_answers_say_the_semantic_weight_and_span_zero_to_one(engine):
    """Hybrid ranks by ``fuse_scores`` with SEMANTIC_WEIGHT whatever the query's length,
    says so in the answer, and its first page's scores span [0, 1]."""
    from search.ranking.fusion import SEMANTIC_WEIGHT

    for query in ("graph", "graph neural networks for molecules and proteins in drug design"):
        result = engine.search(query, k=100, mode="hybrid")
        assert result.semantic_weight == SEMANTIC_WEIGHT
        scores = [hit.score for hit in result.results]
        assert scores == sorted(scores, reverse=True)
        assert max(scores) == pytest.approx(1.0) and min(scores) >= 0.0


def fts_is_consistent(engine) -> None:
    """The build's keyword index holds exactly the searchable papers, with their current
    text: a phrase of each paper's title finds it exactly when it is searchable."""
    from sqlalchemy import text

    from search.query.keywords import parse_keywords

    with engine.store.sessions() as session:
        papers = list(session.execute(text("SELECT id, title, withdrawn_at FROM papers")))
    searchable = {paper_id for paper_id, _, withdrawn in papers if withdrawn is None}
    assert engine.keywords.papers == len(searchable)
    for paper_id, title, _ in papers:
        query = parse_keywords('"' + title.replace('"', " ") + '"')
        found = set(engine.keywords.containing(query.phrases).tolist())
        assert (paper_id in found) == (paper_id in searchable), title


def test_the_keyword_index_follows_updates_and_removals(settings, tmp_path, tiny_encoder):
    rows = corpus_rows(300)
    index_corpus(settings, [write_corpus(tmp_path / "a.jsonl", rows)], encoder=tiny_encoder)
    engine = SearchEngine.open(settings, encoder=tiny_encoder)
    fts_is_consistent(engine)
    assert engine.search("zyxwvut", k=5, mode="keyword").results == []

    rows[0]["title"] = "Zyxwvut spectroscopy of quasars"  # an update
    gone = rows.pop(1)  # a removal (full snapshot)
    run(settings, [write_corpus(tmp_path / "b.jsonl", rows)], snapshot=True, encoder=tiny_encoder)
    engine = SearchEngine.open(settings, encoder=tiny_encoder)
    fts_is_consistent(engine)
    found = engine.search("zyxwvut", k=5, mode="keyword").results
    assert [hit.external_id for hit in found] == [rows[0]["id"]]
    old_title_hits = engine.search(f'"{gone["title"]}"', k=5, mode="keyword").results
    assert gone["id"] not in {hit.external_id for hit in old_title_hits}
    exact_title = engine.search(f'"{gone["title"]}"', k=5, mode="keyword")
    assert exact_title.notice.startswith("No papers contain")  # the quotes matched nothing
    assert gone["id"] not in {hit.external_id for hit in exact_title.results}

    gone["title"] = "Zyxwvut returns"  # the withdrawn paper comes back, changed
    rows.append(gone)
    run(settings, [write_corpus(tmp_path / "c.jsonl", rows)], snapshot=True, encoder=tiny_encoder)
    engine = SearchEngine.open(settings, encoder=tiny_encoder)
    fts_is_consistent(engine)
    found = engine.search("zyxwvut", k=5, mode="keyword").results
    assert {hit.external_id for hit in found} == {rows[0]["id"], gone["id"]}
