"""search.query.keywords on its own: words, "quoted phrases" and stopwords."""

from __future__ import annotations

from search.query.keywords import STOPWORDS, parse_keywords, semantic_text


def test_words_phrases_and_stopwords():
    query = parse_keywords('The "graph neural" networks of molecules')
    assert query.phrases == (("graph", "neural"),)
    assert "networks" in query.terms and "molecules" in query.terms
    assert "the" not in query.terms and "of" not in query.terms
    assert set(query.stopwords) <= STOPWORDS


def test_stopwords_alone_are_an_empty_query_that_says_so():
    query = parse_keywords("the of and")
    assert query.empty and query.typed
    assert '"the", "of" and "and" are too common' in query.empty_message
    assert parse_keywords("").empty and not parse_keywords("").typed


def test_a_phrase_of_stopwords_is_kept():
    assert parse_keywords('"to be or not to be"').phrases == (
        ("to", "be", "or", "not", "to", "be"),
    )


def test_the_semantic_text_drops_the_quote_marks_only():
    assert semantic_text('"graph neural" networks') == "graph neural networks"
