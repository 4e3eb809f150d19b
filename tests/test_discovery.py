"""Filters, keyword and hybrid search, query by example, recommendations, exports, eval.

Everything runs through the real pipeline and engine on the tiny SPECTER2-shaped
model, over 800 sample papers given years, venues and DOIs so that filters
have something to select.
"""

from __future__ import annotations

import csv
import io
import json
import re
import unicodedata
from collections import Counter

import numpy as np
import pytest
from click.testing import CliRunner
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from indexer.pipeline import index_corpus, run
from papersearch import main
from search.base.errors import InvalidRequest, PaperNotFound
from search.engine.engine import SearchEngine
from search.query.filters import FilterError, Filters, parse_year_range
from search.ranking.fusion import fuse_scores
from tests.helpers import cli_args, sample_lines, settings_on, write_lines

N_PAPERS = 800
RARE_VENUE = "Journal of Rare Results"  # 8 papers: 1% of the corpus
VENUES = ["Physical Review Letters", "NeurIPS", "Nature", None]


def corpus_rows(n: int = N_PAPERS) -> list[dict]:
    rows = []
    for i, line in enumerate(sample_lines(n)):
        row = json.loads(line)
        row["year"] = 2000 + i % 20
        if i % 5:  # a day for most papers, none for every fifth (sorted by year alone)
            row["listing_date"] = f"{row['year']}-{1 + i % 12:02d}-{1 + i % 28:02d}"
        row["journal_ref"] = RARE_VENUE if i % 100 == 7 else VENUES[i % 4]
        if i % 3 == 0:
            row["doi"] = f"10.1234/Test.{i}"
        rows.append(row)
    return rows


def write_corpus(path, rows) -> object:
    return write_lines(path, [json.dumps(row) for row in rows])


@pytest.fixture(scope="module")
def engine(tmp_path_factory, tiny_encoder, module_backend, postgres):
    home = tmp_path_factory.mktemp("discovery")
    settings = settings_on(module_backend, home / "data", postgres, "discovery")
    index_corpus(
        settings, [write_corpus(home / "corpus.jsonl", corpus_rows())], encoder=tiny_encoder
    )
    engine = SearchEngine.open(settings, encoder=tiny_encoder)
    assert engine.index.ivf is not None  # the filters are tested on an IVF index
    return engine


@pytest.fixture(scope="module")
def papers(engine):
    return list(engine.store.papers.get_many(range(1, N_PAPERS + 1)).values())


def satisfies(paper, filters: Filters) -> bool:
    """The filters' meaning, written independently of the SQL."""
    if filters.year_min is not None and (paper.year is None or paper.year < filters.year_min):
        return False
    if filters.year_max is not None and (paper.year is None or paper.year > filters.year_max):
        return False
    if filters.venues and (paper.venue or "").lower() not in {v.lower() for v in filters.venues}:
        return False
    if filters.categories and not any(
        c == want or c.startswith(want + ".")
        for c in paper.categories
        for want in filters.categories
    ):
        return False
    return not filters.authors or any(
        name_matches(a, want) for a in paper.authors for want in filters.authors
    )


def _name_words(name: str) -> list[str]:
    given, comma, surname = name.partition(",")
    if comma and surname.strip():
        name = f"{surname} {given}"
    plain = "".join(c for c in unicodedata.normalize("NFKD", name) if not unicodedata.combining(c))
    return re.sub(r"[^\w-]+|_", " ", plain.casefold()).split()


def name_matches(author: str, wanted: str) -> bool:
    """``wanted`` names ``author``, written independently of search.query.filter_keys: the
    whole name, its last words (a surname, "Van Gool" too), or initials for the given names
    before the surname ("H. Chen"). Never part of a word: "Hao Chen" is not "Guohao Chen"."""
    a, w = _name_words(author), _name_words(wanted)
    if not a or not w:
        return False
    for cut in range(len(w)):  # w[:cut] are initials, w[cut:] the author's last words
        surname, initials = w[cut:], w[:cut]
        if surname != a[-len(surname) :]:
            continue
        given = a[: len(a) - len(surname)]
        if not initials or (
            all(len(i) == 1 for i in initials) and [g[0] for g in given] == initials
        ):
            return True
    return False


def filter_strategy(papers):
    categories = sorted({c for p in papers for c in p.categories})
    surnames = sorted({a.split()[-1] for p in papers for a in p.authors if a.split()})
    years = st.one_of(
        st.none(),
        st.integers(2000, 2019).map(str),
        st.tuples(st.integers(2000, 2019), st.integers(0, 5)).map(
            lambda t: f"{t[0]}-{t[0] + t[1]}"
        ),
        st.integers(2000, 2019).map(lambda y: f"{y}-"),
        st.integers(2000, 2019).map(lambda y: f"-{y}"),
    )
    return st.builds(
        Filters.parse,
        year=years,
        venue=st.one_of(st.none(), st.sampled_from([RARE_VENUE, "nature", "NeurIPS,Nature"])),
        category=st.one_of(st.none(), st.sampled_from(categories + ["cs", "math", "q-bio"])),
        author=st.one_of(st.none(), st.sampled_from(surnames)),
    )


# -- filters ----------------------------------------------------------------------------


def test_filtered_search_keeps_only_matches_and_returns_k_when_k_match(engine, papers):
    @hypothesis_settings(
        max_examples=60, deadline=None, suppress_health_check=list(HealthCheck), database=None
    )
    @given(filters=filter_strategy(papers), k=st.integers(1, 30),
           mode=st.sampled_from(["semantic", "hybrid", "keyword"]))  # fmt: skip
    def check(filters, k, mode):
        matching = [p for p in papers if satisfies(p, filters)]
        result = engine.search("neural networks for images", k=k, mode=mode, filters=filters)
        by_id = {p.id: p for p in papers}
        assert all(satisfies(by_id[hit.id], filters) for hit in result.results)
        assert len({hit.id for hit in result.results}) == len(result.results)
        if mode == "semantic":
            assert len(result.results) == min(k, len(matching))
            assert result.total == len(matching)
        elif mode == "hybrid":  # the semantic half alone fills the page
            assert len(result.results) == min(k, len(matching))

    check()


def test_a_one_percent_filter_on_the_ivf_index_still_returns_k(engine):
    rare = Filters.parse(venue=RARE_VENUE)
    for k in (1, 5, 8, 20):
        result = engine.search("protein folding", k=k, filters=rare)
        assert len(result.results) == min(k, 8)
        assert {hit.venue for hit in result.results} == {RARE_VENUE}
    # The ranking among the allowed papers is the exact one (every allowed paper is scanned).
    allowed = engine.store.papers.matching_ids(rare)
    vector = engine.encoder.encode_query("protein folding")
    stored = np.stack([engine.store.vectors.get(int(i), engine.build.model_key) for i in allowed])
    exact = allowed[np.argsort(((stored - vector) ** 2).sum(axis=1))]
    got = [hit.id for hit in engine.search("protein folding", k=8, filters=rare).results]
    assert got == exact.tolist()


def test_filters_apply_to_similar_by_example_and_recommendations(engine):
    rare = Filters.parse(venue=RARE_VENUE)
    some = engine.search("graph", k=2).results
    for result in (
        engine.similar(some[0].id, k=5, filters=rare),
        engine.search_by_example("Graph networks", "An abstract.", k=5, filters=rare),
        engine.recommend([some[0].id], [some[1].id], k=5, filters=rare),
    ):
        assert result.results and {hit.venue for hit in result.results} == {RARE_VENUE}


def test_year_ranges_and_filter_errors():
    assert parse_year_range("2019") == (2019, 2019)
    assert parse_year_range("2019-2021") == (2019, 2021)
    assert parse_year_range("2020-") == (2020, None)
    assert parse_year_range(" -2015 ") == (None, 2015)
    assert parse_year_range("") == (None, None)
    for bad in ("20", "2021-2019", "x", "2019-2020-2021", "-", "0999"):
        with pytest.raises(FilterError):
            parse_year_range(bad)
    assert Filters.parse(year="2020-", venue=" A ,B,,A").to_params() == {
        "year": "2020-",
        "venue": "A,B",
    }
    with pytest.raises(FilterError, match="at most"):
        Filters.parse(author=";".join(f"name{i}" for i in range(30)))
    assert not Filters.parse().active and Filters.parse(year="2020").active


def test_filter_values_are_data_not_sql(engine):
    """Quotes, LIKE wildcards and SQL in filter values select nothing they should not."""
    for hostile in ("' OR 1=1 --", "%", "_", "\\", '"); DROP TABLE papers; --'):
        result = engine.search("graph", k=10, filters=Filters.parse(author=hostile, venue=hostile))
        assert result.results == [] and result.total == 0
    assert engine.store.papers.count() == N_PAPERS


# -- keyword and hybrid -----------------------------------------------------------------


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
    common = max(("we", "results", "paper", "show"), key=keywords.document_count)
    with_common = [p for p in papers if common in f"{p.title} {p.abstract}".lower().split()]
    long_words = [w.lower() for p in with_common[:50] for w in p.title.split() if len(w) > 9]
    rare = min((w for w in long_words if w.isalpha()), key=keywords.document_count)
    counts = {w: keywords.document_count(w) for w in (common, rare)}
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


def test_hybrid_fusion_weighs_normalised_scores_by_query_length():
    from search.ranking.fusion import semantic_weight

    # distances (lower is closer) and BM25 scores (higher is better) on their own scales
    fused = fuse_scores([(1, 0.5), (2, 0.7), (3, 0.9)], [(3, 9.0), (4, 5.0)], 9)
    scores = {i: s for i, s, _ in fused}
    assert scores[1] == pytest.approx(0.45)  # closest, no keyword match
    assert scores[2] == pytest.approx(0.45 * 0.5)
    assert scores[3] == pytest.approx(0.55)  # farthest, best BM25
    assert scores[4] == pytest.approx(0.0)
    assert [i for i, _, _ in fused] == [3, 1, 2, 4]
    assert {i: d for i, _, d in fused} == {1: 0.5, 2: 0.7, 3: 0.9, 4: None}
    assert [i for i, _, _ in fuse_scores([(7, 1.0)], [], 3)] == [7]
    # A long query leans on the semantic ranking: the closest paper wins.
    long = fuse_scores([(1, 0.5), (2, 0.7), (3, 0.9)], [(3, 9.0), (4, 5.0)], 40)
    assert [i for i, _, _ in long][0] == 1
    weights = [semantic_weight(n) for n in range(0, 80)]
    assert weights == sorted(weights) and weights[0] == 0.3 and weights[-1] == 0.85


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


# -- starting from papers -----------------------------------------------------------------


def test_query_by_example_finds_the_paper_itself(engine, papers):
    paper = papers[42]
    result = engine.search_by_example(paper.title, paper.abstract, k=3)
    assert result.results[0].id == paper.id and result.results[0].distance < 1e-3
    for ref in (paper.id, paper.external_id, f"arXiv:{paper.external_id}v2"):
        assert engine.resolve_paper(ref).id == paper.id
    with_doi = next(p for p in papers if p.doi)
    assert engine.resolve_paper(with_doi.doi.lower()).id == with_doi.id
    assert engine.resolve_paper("https://doi.org/" + with_doi.doi).id == with_doi.id
    with pytest.raises(PaperNotFound):
        engine.resolve_paper("no-such-paper")
    with pytest.raises(InvalidRequest):
        engine.search_by_example("   ", "abstract only")


def test_recommendations_leave_out_their_inputs(engine):
    seeds = [hit.id for hit in engine.search("galaxies", k=3).results]
    result = engine.recommend(seeds[:2], [seeds[2]], k=20)
    assert len(result.results) == 20
    assert not {hit.id for hit in result.results} & set(seeds)
    with pytest.raises(InvalidRequest):
        engine.recommend([], [seeds[0]])
    with pytest.raises(InvalidRequest, match="both positive and negative"):
        engine.recommend([seeds[0]], [seeds[0]])
    with pytest.raises(InvalidRequest, match="At most"):
        engine.recommend(list(range(1, 102)))


def test_negative_examples_move_results_away(engine):
    """Constructed: one positive paper and, as the negative, its nearest neighbour. With the
    negative, the results are farther from it on average."""
    key = engine.build.model_key
    positive = engine.search("superconductivity", k=1).results[0].id
    negative = engine.similar(positive, k=1).results[0].id
    neg_vector = engine.store.vectors.get(negative, key)

    def distance_to_negative(result) -> float:
        vectors = np.stack([engine.store.vectors.get(hit.id, key) for hit in result.results])
        return float(np.linalg.norm(vectors - neg_vector, axis=1).mean())

    plain = engine.recommend([positive], k=10)
    away = engine.recommend([positive], [negative], k=10)
    assert distance_to_negative(away) > distance_to_negative(plain)
    assert negative not in {hit.id for hit in away.results}
    # With no negatives, a recommendation from one paper is that paper's similar list.
    assert [h.id for h in plain.results] == [h.id for h in engine.similar(positive, k=10).results]
    assert plain.results[0].id == negative


# -- recommendations from a BibTeX library ------------------------------------------------


def library_bibtex(papers) -> tuple[str, dict[str, int]]:
    """A Zotero/JabRef-like export: entries found by DOI, arXiv id (eprint, and inside a
    journal field) and title, one the corpus lacks, and one with nothing to go on."""
    by_id = {p.id: p for p in papers}
    doi_paper = next(p for p in papers if p.doi)
    eprint, in_journal, titled = (by_id[i] for i in (2, 3, 5))  # papers without a DOI
    text = f"""
@comment{{jabref-meta: databaseType:bibtex;}}
@article{{bydoi, title = {{Something else entirely}}, doi = {{https://doi.org/{doi_paper.doi.upper()}}}}}
@misc{{byeprint, title = {{{{Whatever}}}}, eprint = {{{eprint.external_id}}},
  archivePrefix = {{arXiv}}}}
@article{{byjournal, title = {{x}}, journal = {{arXiv preprint arXiv:{in_journal.external_id}v2}}}}
@inproceedings{{bytitle, title = {{{{{titled.title.upper()}}}}}.}}
@article{{unknown, title = {{Quantum error correction with surface codes}},
  abstract = {{We study logical qubits protected by surface codes under circuit noise.}}}}
@book{{nothing, author = {{Nobody}}, year = {{1999}}}}
"""
    ids = {"bydoi": doi_paper.id, "byeprint": eprint.id, "byjournal": in_journal.id,
           "bytitle": titled.id}  # fmt: skip
    return text, ids


def test_library_recommendations_match_embed_and_leave_the_library_out(engine, papers):
    from search.engine.bibtex_library import parse_bibtex

    text, ids = library_bibtex(papers)
    entries = parse_bibtex(text)
    assert [e.key for e in entries] == ["bydoi", "byeprint", "byjournal", "bytitle", "unknown",
                                        "nothing"]  # fmt: skip
    result = engine.recommend_library(entries, k=30)
    facts = result.library
    assert (facts.matched, facts.by_doi, facts.by_arxiv, facts.by_title) == (4, 1, 2, 1)
    assert facts.embedded == 1 and facts.skipped == ["nothing"]
    assert {seed.id for seed in result.seeds} == set(ids.values())
    assert len(result.results) == 30 and not {h.id for h in result.results} & set(ids.values())
    # The parts are what they claim to be: the found papers' stored vectors ...
    found = parse_bibtex(text.split("@article{unknown")[0])
    assert [h.id for h in engine.recommend_library(found, k=10).results] == [
        h.id for h in engine.recommend(list(ids.values()), k=10).results]  # fmt: skip
    # ... and an entry the corpus lacks, embedded from its title and abstract.
    alone = engine.recommend_library([e for e in entries if e.key == "unknown"], k=10)
    example = engine.search_by_example(
        "Quantum error correction with surface codes",
        "We study logical qubits protected by surface codes under circuit noise.",
        k=10,
    )
    assert [h.id for h in alone.results] == [h.id for h in example.results]
    with pytest.raises(InvalidRequest, match="No entry"):
        engine.recommend_library([e for e in entries if e.key == "nothing"])


@pytest.mark.parametrize(
    "text, code",
    [
        ("just some notes, no entries at all", "not_bibtex"),
        ('{"title": "a JSON file"}', "not_bibtex"),
        ("".join(f"@article{{a{i}, title={{x}}}}\n" for i in range(1001)), "too_many_entries"),
    ],
)
def test_a_file_that_is_not_a_usable_library_is_refused_clearly(text, code):
    from search.engine.bibtex_library import parse_bibtex

    with pytest.raises(InvalidRequest) as refused:
        parse_bibtex(text)
    assert refused.value.code == code


def test_repeated_keys_are_read_and_broken_entries_are_listed_as_skipped():
    from search.engine.bibtex_library import parse_bibtex

    entries = parse_bibtex("@article{a, title={X}}\n@article{a, title={Y}}\n@article{b, title={Z")
    assert [(e.key, e.title) for e in entries] == [
        ("a", "X"), ("a", "Y"), ("unreadable entry at line 3", None)]  # fmt: skip


def test_library_api_page_and_feed(engine, papers, tiny_encoder):
    import feedparser

    from search.engine.bibtex_library import library_id, parse_bibtex
    from search.engine.new_papers import entered_since
    from web import create_app

    text, ids = library_bibtex(papers)
    client = create_app(engine.settings, encoder=tiny_encoder).test_client()
    url = "/api/v1/recommendations/from_bibtex"
    answers = [
        client.post(url + "?k=15", data=text, content_type="application/x-bibtex"),
        client.post(url + "?k=15", json={"bibtex": text}),
        client.post(
            url + "?k=15",
            data={"file": (io.BytesIO(text.encode()), "my.bib")},
            content_type="multipart/form-data",
        ),  # fmt: skip
    ]
    for answer in answers:
        assert answer.status_code == 200, answer.json
        assert answer.json["library"]["matched"] == 4 and len(answer.json["results"]) == 15
        assert not {h["id"] for h in answer.json["results"]} & set(ids.values())
    feed_url = answers[0].json["library"]["feed"]
    assert feed_url == answers[1].json["library"]["feed"]  # the same library, the same feed
    feed = client.get(feed_url.split("localhost", 1)[1])
    parsed = feedparser.parse(feed.data)
    assert feed.status_code == 200 and not parsed.bozo and parsed.version == "atom10"
    assert parsed.entries and not {e.link.rsplit("/", 1)[1] for e in parsed.entries} & {
        str(i) for i in ids.values()}  # fmt: skip
    # Only recent papers: every paper here entered today; none entered after tomorrow.
    recent = client.post(url + "?k=5&new_days=7", data=text, content_type="text/plain")
    assert recent.status_code == 200 and len(recent.json["results"]) == 5
    later = np.datetime64("now").astype(object) + __import__("datetime").timedelta(days=2)
    assert len(entered_since(engine.store, 1, now=later.replace(
        tzinfo=__import__("datetime").timezone.utc))) == 0  # fmt: skip
    assert len(entered_since(engine.store, 1)) == N_PAPERS
    refused = client.post(url, data="not bibtex at all", content_type="text/plain")
    assert refused.status_code == 422 and refused.json["error"]["code"] == "not_bibtex"
    assert client.post(url, json=["a list"]).json["error"]["code"] == "invalid_body"
    nothing = "@book{nothing, author = {Nobody}}"
    assert client.post(url, data=nothing, content_type="text/plain").status_code == 422
    assert engine.store.libraries.get(library_id(parse_bibtex(nothing))) is None  # not kept
    huge = client.post(url, data="%" * (5 * 1024 * 1024), content_type="text/plain")
    assert huge.status_code == 413
    assert client.get("/feeds/library/0123456789abcdef.atom").status_code == 404
    # The page: upload, recommendations, the feed link.
    page = client.post("/library", data={"bibtex": text, "new_days": ""})
    assert page.status_code == 200 and b"4 found in the corpus" in page.data
    assert b"/feeds/library/" in page.data
    assert b"not a BibTeX file" in client.post("/library", data={"bibtex": "hello"}).data


def large_library(papers, entries: int, size: int) -> bytes:
    """A ``size``-byte export of ``entries`` entries: 500 of the corpus's papers by title,
    with their abstracts, then papers it lacks; each with a long note (as Zotero exports)."""
    plain = [p for p in papers if not set("{}\\$%&") & set(p.title + (p.abstract or ""))
             and "--" not in p.title]  # fmt: skip
    known = [(p.title, f"abstract = {{{p.abstract}}}, ") for p in plain[:500]]
    known += [(f"An unseen study of topic {i}", "") for i in range(entries - len(known))]
    blocks = [
        f"@article{{e{i}, title = {{{t}}}, {rest}note = {{" for i, (t, rest) in enumerate(known)
    ]
    spare = size - len("".join(blocks).encode()) - 3 * entries
    assert spare > 0
    notes = [spare // entries + (i < spare % entries) for i in range(entries)]
    text = "".join(f"{b}{'n' * n}}}}}\n" for b, n in zip(blocks, notes, strict=True))
    assert len(text.encode()) == size
    return text.encode()


def test_the_library_page_takes_a_3_mb_upload_and_states_the_limit_past_4_mb(
    engine, papers, tiny_encoder
):
    import bibtexparser

    from web import create_app

    client = create_app(engine.settings, encoder=tiny_encoder).test_client()
    upload = large_library(papers, 900, 3 * 1024 * 1024)
    form = {"file": (io.BytesIO(upload), "zotero.bib"), "new_days": ""}
    page = client.post("/library", data=form, content_type="multipart/form-data")
    assert page.status_code == 200, page.data[-2000:]
    html = page.get_data(as_text=True)
    assert "900 entries: 500 found in the corpus" in html and "400 embedded from their" in html
    assert html.count('class="result"') == 20
    # Its downloads and its own address: the library was kept, so they work by GET.
    links = dict(re.findall(r'<a href="([^"]+)" download>(\w+)</a>', html))
    bibtex = client.get(next(url for url, label in links.items() if label == "BibTeX")
                        .replace("&amp;", "&"))  # fmt: skip
    assert bibtex.status_code == 200
    assert len(bibtexparser.parse_string(bibtex.get_data(as_text=True)).entries) == 20
    address = re.search(r'<a href="(/library/\w+)">this list', html).group(1)
    again = client.get(address).get_data(as_text=True)
    assert re.findall(r"/papers/(\d+)", again) == re.findall(r"/papers/(\d+)", html)
    # Past the limit: the page says what the limit is, not a generic error.
    too_large = client.post("/library", data={"file": (io.BytesIO(upload + upload[:2 << 20]),
                            "big.bib")}, content_type="multipart/form-data")  # fmt: skip
    assert too_large.status_code == 413
    assert "The library is larger than 4 MB" in too_large.get_data(as_text=True)
    assert client.get("/library/0123456789abcdef").status_code == 404


def test_similar_papers_on_a_paper_page_can_be_downloaded(engine, tiny_encoder):
    from web import create_app

    client = create_app(engine.settings, encoder=tiny_encoder).test_client()
    html = client.get("/papers/1").get_data(as_text=True)
    links = re.findall(r'<a href="([^"]+)" download>(\w+)</a>', html)
    assert [label for _, label in links] == ["BibTeX", "CSV", "JSON"]
    csv_file = client.get(links[1][0].replace("&amp;", "&"))
    rows = list(csv.DictReader(io.StringIO(csv_file.get_data(as_text=True))))
    assert csv_file.status_code == 200 and len(rows) == 100
    shown = re.findall(r'<a href="/papers/(\d+)">', html.split("Similar papers")[1])
    assert [row["id"] for row in rows[: len(shown)]] == shown


# -- exports ------------------------------------------------------------------------------


def test_exports_parse_back(engine):
    import bibtexparser

    from search.answers.export import render

    result = engine.search("neural", k=25)
    library = bibtexparser.parse_string(render(result, "bibtex"))
    assert not library.failed_blocks and len(library.entries) == 25
    assert len({entry.key for entry in library.entries}) == 25
    first, hit = library.entries[0], result.results[0]
    assert first.fields_dict["year"].value == str(hit.year)
    assert len(first.fields_dict["author"].value.split(" and ")) == len(hit.authors)

    rows = list(csv.DictReader(io.StringIO(render(result, "csv"))))
    assert [int(row["id"]) for row in rows] == [hit.id for hit in result.results]
    assert rows[0]["title"] == hit.title and rows[0]["authors"] == "; ".join(hit.authors)
    assert json.loads(render(result, "json"))["results"][0]["id"] == hit.id


def test_hostile_text_stays_inert_in_exports():
    import bibtexparser

    from search.answers.export import render
    from search.answers.results import Hit, SearchResult

    nasty = Hit(
        id=1, external_id="x}, title = {pwned", title_from_abstract=False,
        title='Closing } brace, \\input{/etc/passwd} & 100% $x$',
        authors=["=HYPERLINK(\"http://evil\")", "O'Brien {Jr}"], year=2020, date=None,
        venue="@venue#_^~",
        doi=None, url="javascript:alert(1)", score=0.5, distance=1.0,
        abstract="+cmd|' /C calc'!A0\n}\n@misc{injected, title={x}}",
    )  # fmt: skip
    result = SearchResult("q", 1, 1.0, [nasty])
    library = bibtexparser.parse_string(render(result, "bibtex"))
    assert not library.failed_blocks and len(library.entries) == 1  # no injected entry
    assert "\\input" not in library.entries[0].fields_dict["title"].value.replace(
        "\\textbackslash{}", ""
    )
    rows = list(csv.reader(io.StringIO(render(result, "csv"))))
    cells = rows[1]
    assert cells[4].startswith("'=HYPERLINK") and cells[-1].startswith("'+cmd")
    assert not any(cell.startswith(("=", "+", "-", "@")) for cell in cells)


# -- eval ----------------------------------------------------------------------------------


def test_run_files_score_identically_in_ir_measures(tmp_path):
    """Runs with tied scores (BM25 and fused scores tie) are written so that a TREC tool
    ranks them as we did; the measures are ir-measures' own, averaged over every judged
    query (a query without a run scores 0, as trec_eval -c)."""
    import ir_measures
    from ir_measures import RR, R, nDCG

    from search.engine.evaluation import measure, write_run

    rng = np.random.default_rng(0)
    docs = [f"d{i}" for i in range(300)]
    qrels, runs = {}, {}
    for q in range(40):
        judged = rng.choice(docs, size=int(rng.integers(1, 8)), replace=False)
        qrels[f"q{q}"] = {d: int(rng.integers(0, 3)) for d in judged}
        ranked = rng.choice(docs, size=120, replace=False)
        runs[f"q{q}"] = [(str(d), float(round(5 - r / 40))) for r, d in enumerate(ranked)]  # ties
    qrels = {q: j for q, j in qrels.items() if any(g > 0 for g in j.values())}
    ours = measure(runs, qrels)
    write_run(runs, tmp_path / "run.txt", "test")
    lines = (tmp_path / "run.txt").read_text().splitlines()
    assert lines[0].split()[:4] == ["q0", "Q0", runs["q0"][0][0], "1"] and len(lines) == 40 * 120
    theirs = ir_measures.calc_aggregate(
        [nDCG @ 10, R @ 100, RR @ 10],
        [ir_measures.Qrel(q, d, g) for q, j in qrels.items() for d, g in j.items()],
        list(ir_measures.read_trec_run(str(tmp_path / "run.txt"))),
    )
    assert ours == {name: pytest.approx(theirs[m], abs=1e-12)
                    for name, m in (("nDCG@10", nDCG @ 10), ("R@100", R @ 100),
                                    ("RR@10", RR @ 10))}  # fmt: skip
    fewer = measure({q: r for q, r in runs.items() if q != "q0"}, qrels)
    assert fewer["R@100"] < ours["R@100"] or not any(d in qrels["q0"] for d, _ in runs["q0"])


def test_eval_command_on_hand_made_judgments(engine, papers, tmp_path):
    """Two queries, each the full title of a paper (keyword mode puts it first):
    q1 judges that paper relevant: nDCG 1, R@100 1, MRR 1.
    q2 judges its paper (rank 1, gain 1) and a document that is not in the corpus:
    nDCG = 1 / (1 + 1/log2(3)) = 0.61315, R@100 = 0.5, MRR = 1.
    Means: nDCG 0.80657, R@100 0.75, MRR 1."""
    a, b = papers[10], papers[20]
    for paper in (a, b):
        assert engine.search(paper.title, k=1, mode="keyword").results[0].id == paper.id
    queries = write_lines(tmp_path / "queries.jsonl", [
        json.dumps({"_id": "q1", "text": a.title}), json.dumps({"_id": "q2", "text": b.title}),
        json.dumps({"_id": "q3", "text": "not judged, not run"}),
    ])  # fmt: skip
    qrels = write_lines(tmp_path / "qrels.tsv", [
        "query-id\tcorpus-id\tscore", f"q1\t{a.external_id}\t1", f"q2\t{b.external_id}\t1",
        "q2\tnot-in-corpus\t1", f"q3\t{a.external_id}\t0",
    ])  # fmt: skip
    home = cli_args(engine.settings)
    out = CliRunner().invoke(
        main, ["eval", "--queries", str(queries), "--qrels", str(qrels), "--mode", "keyword",
               "--json", *home],
    )  # fmt: skip
    assert out.exit_code == 0, out.output
    report = json.loads(out.output)
    assert report["queries"] == 2 and report["unjudged_queries"] == 1
    assert report["measures"] == ["nDCG@10", "R@100", "RR@10"]
    assert "ann_recall@10" not in report  # keyword alone: no encoder, no exact search
    keyword = report["modes"]["keyword"]
    assert keyword["nDCG@10"] == pytest.approx((1 + 1 / (1 + 1 / np.log2(3))) / 2)
    assert keyword["R@100"] == pytest.approx(0.75)
    assert keyword["RR@10"] == pytest.approx(1.0)
    out = CliRunner().invoke(
        main, ["eval", "--queries", str(queries), "--qrels", str(qrels), "--mode",
               "semantic,hybrid", *home],
    )  # fmt: skip
    assert out.exit_code == 0, out.output
    assert "semantic, exact" in out.output and "hybrid" in out.output
    assert "ANN recall@10" in out.output
    out = CliRunner().invoke(
        main, ["eval", "--queries", str(queries), "--qrels", str(qrels), "--mode", "keyword",
               "--measures", "nDCG@20,AP,P@1", "--per-query", "--run",
               str(tmp_path / "runs" / "kw.txt"), "--json", *home],
    )  # fmt: skip
    assert out.exit_code == 0, out.output
    report = json.loads(out.output)
    assert report["measures"] == ["nDCG@20", "AP", "P@1"]
    assert report["modes"]["keyword"]["P@1"] == pytest.approx(1.0)
    assert report["per_query"]["keyword"]["q1"]["AP"] == pytest.approx(1.0)
    assert report["per_query"]["keyword"]["q2"]["AP"] == pytest.approx(0.5)
    run_lines = (tmp_path / "runs" / "kw.txt").read_text().splitlines()
    assert run_lines[0].split()[:4] == ["q1", "Q0", a.external_id, "1"]
    assert run_lines[0].split()[5] == "papersearch-keyword"
    bad = CliRunner().invoke(
        main, ["eval", "--queries", str(queries), "--qrels", str(qrels), "--measures",
               "nDCG@ten", *home],
    )  # fmt: skip
    assert bad.exit_code == 1 and "not a measure ir-measures knows" in bad.output
    bad = CliRunner().invoke(
        main, ["eval", "--queries", str(queries), "--qrels", str(qrels), "--mode", "fuzzy", *home]
    )
    assert bad.exit_code == 1 and "--mode takes" in bad.output
    broken = write_lines(tmp_path / "broken.tsv", ["q1 only-two"])
    bad = CliRunner().invoke(
        main, ["eval", "--queries", str(queries), "--qrels", str(broken), *home]
    )
    assert bad.exit_code == 1 and "broken.tsv:1" in bad.output


def test_eval_cuts_an_over_long_query_and_reports_what_it_left_out(engine, papers, tmp_path):
    """A 5,000-character query runs, cut to the limits, in every mode; a judged query that
    the queries file lacks is reported, not fatal; nothing aborts the run."""
    a = papers[10]
    long_text = a.title + " " + " ".join(["aerodynamic boundary layer transition"] * 140)
    assert len(long_text) > 5000
    queries = write_lines(tmp_path / "queries.jsonl", [
        json.dumps({"_id": "long", "text": long_text}),
        json.dumps({"_id": "q1", "text": a.title}),
        json.dumps({"_id": "quotes", "text": '""'}),
    ])  # fmt: skip
    qrels = write_lines(tmp_path / "qrels.tsv", [
        "query-id\tcorpus-id\tscore", f"long\t{a.external_id}\t1", f"q1\t{a.external_id}\t1",
        f"quotes\t{a.external_id}\t1", f"gone\t{a.external_id}\t1",
    ])  # fmt: skip
    out = CliRunner().invoke(
        main, ["eval", "--queries", str(queries), "--qrels", str(qrels), "--json",
               *cli_args(engine.settings)],
    )  # fmt: skip
    assert out.exit_code == 0, out.output
    report = json.loads(out.output)
    assert report["queries"] == 3 and report["missing_queries"] == ["gone"]
    assert report["truncated"] == ["long"]
    assert list(report["skipped"]) == ["quotes"] and "The query" in report["skipped"]["quotes"]
    assert set(report["modes"]) == {"semantic", "keyword", "hybrid"}
    out = CliRunner().invoke(
        main, ["eval", "--queries", str(queries), "--qrels", str(qrels),
               *cli_args(engine.settings)],
    )  # fmt: skip
    assert "1 queries cut to the query limits: long" in out.output
    assert "query quotes skipped (scored 0)" in out.output
    assert "1 judged queries are not in the queries file, left out: gone" in out.output


def test_fit_query_cuts_at_a_space_within_the_token_limit():
    from search.engine.evaluation import fit_query
    from search.query.limits import MAX_QUERY_CHARS

    words = " ".join(f"w{i}" for i in range(3000))
    cut = fit_query(words, lambda text: len(text.split()) + 2, 50)
    assert cut == " ".join(f"w{i}" for i in range(48))
    assert len(fit_query(words, None, 0)) <= MAX_QUERY_CHARS
    assert fit_query(words, None, 0).split()[-1] in words.split()  # a whole word
    assert fit_query("short  query", lambda text: 3, 50) == "short query"


def test_keyword_eval_loads_no_encoder(papers, tmp_path, engine):
    from search.engine.engine import SearchEngine
    from search.engine.evaluation import evaluate, read_judged

    a = papers[10]
    queries = write_lines(tmp_path / "q.jsonl", [json.dumps({"_id": "q", "text": a.title})])
    qrels = write_lines(tmp_path / "r.tsv", [f"q\t{a.external_id}\t1"])
    fresh = SearchEngine.open(engine.settings)
    report = evaluate(fresh, read_judged(queries, qrels), ["keyword"])
    assert report["modes"]["keyword"]["RR@10"] == 1.0
    assert fresh._encoder is None and fresh._query_encoder is None


@pytest.mark.parametrize("mode", ["semantic", "keyword", "hybrid"])
def test_sort_by_date_gives_the_same_matches_newest_first(engine, papers, mode):
    by_id = {p.id: p for p in papers}

    def key(paper_id: int) -> tuple[int, str]:
        return by_id[paper_id].year or 0, by_id[paper_id].date or ""

    query = "neural networks for images"
    newest = engine.search(query, k=30, mode=mode, sort="date")
    ids = [hit.id for hit in newest.results]
    assert newest.sort == "date" and len(ids) == 30
    assert [key(i) for i in ids] == sorted((key(i) for i in ids), reverse=True)
    assert all(hit.date == by_id[hit.id].date for hit in newest.results)
    if mode == "keyword":  # every match, newest first
        from search.query.keywords import parse_keywords

        matches, total = engine.keywords.rank(parse_keywords(query), 1000, Filters())
        assert newest.total == total
        expected = sorted((key(i) for i, _ in matches), reverse=True)[:30]
    else:  # the 100 most relevant, newest first
        pool = engine.search(query, k=100, mode=mode)
        assert newest.total == 100 and set(ids) <= {hit.id for hit in pool.results}
        expected = sorted((key(hit.id) for hit in pool.results), reverse=True)[:30]
    assert [key(i) for i in ids] == expected
    page2 = engine.search(query, k=30, offset=30, mode=mode, sort="date")
    assert not {hit.id for hit in page2.results} & set(ids)
    assert key(page2.results[0].id) <= key(ids[-1])
    with pytest.raises(InvalidRequest, match="sort must be one of relevance, date"):
        engine.search(query, sort="newest")


def test_dates_are_read_from_each_layout_and_never_reject_a_paper():
    from indexer.fields import date_of
    from indexer.readers import from_arxiv, from_kaggle_arxiv, from_s2

    assert date_of("2025-03-14") == "2025-03-14"
    assert date_of("2024-01-05T10:00:00Z") == "2024-01-05"
    assert date_of("Mon, 2 Apr 2007 19:18:42 GMT") == "2007-04-02"
    assert [date_of(v) for v in ("2025-02-30", "soon", 20250314, None, "")] == [None] * 5
    arxiv = from_arxiv({"id": "2501.00001", "title": "T", "listing_date": "2025-01-02"})
    assert (arxiv.year, arxiv.date) == (2025, "2025-01-02")
    assert from_arxiv({"id": "2501.00001", "title": "T", "listing_date": "bad"}).date is None
    first = {"version": "v1", "created": "Mon, 2 Apr 2007 19:18:42 GMT"}
    kaggle = from_kaggle_arxiv({"id": "0704.0001", "title": "T", "versions": [first]})
    assert (kaggle.year, kaggle.date) == (2007, "2007-04-02")
    s2 = from_s2({"corpus_id": 5, "title": "T", "year": 2020, "publicationDate": "2020-06-30"})
    assert s2.date == "2020-06-30"
    dateless = from_arxiv({"id": "2501.00001", "title": "T"})
    assert (
        dateless.date is None
        and dateless.content_hash == from_arxiv({"id": "2501.00001", "title": "T"}).content_hash
    )


def test_eval_by_example_leaves_the_query_paper_out(engine, papers, tmp_path):
    """Each query record is an example paper; one that is in the corpus is not its own
    answer, and the run still holds 100 papers."""
    a = papers[10]
    nearest = engine.similar(a.id, k=1).results[0]
    queries = write_lines(tmp_path / "q.jsonl", [
        json.dumps({"_id": a.external_id, "title": a.title, "text": a.abstract}),
    ])  # fmt: skip
    qrels = write_lines(tmp_path / "r.tsv", [f"{a.external_id}\t{nearest.external_id}\t1"])
    out = CliRunner().invoke(
        main, ["eval", "--queries", str(queries), "--qrels", str(qrels), "--by-example",
               "--run", str(tmp_path / "ex.txt"), "--json", *cli_args(engine.settings)],
    )  # fmt: skip
    assert out.exit_code == 0, out.output
    report = json.loads(out.output)
    assert list(report["modes"]) == ["example"] and "semantic_exact" not in report
    assert report["modes"]["example"]["RR@10"] == pytest.approx(1.0)
    run = [line.split() for line in (tmp_path / "ex.txt").read_text().splitlines()]
    assert len(run) == 100 and a.external_id not in {row[2] for row in run}
    assert run[0][2] == nearest.external_id
