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


def test_a_word_typed_again_is_counted_once_among_the_terms():
    query = parse_keywords("associative memory, associative stores and Associative processors")
    assert query.terms == ("associative", "memory", "stores", "processors")
    assert query.counted_terms() == [("associative", 3), ("memory", 1), ("stores", 1),
                                     ("processors", 1)]  # fmt: skip
    again = parse_keywords('"to be or not" associative memory associative').without_quotes()
    assert dict(again.counted_terms()) == {"associative": 2, "memory": 1}  # stopwords dropped
    assert parse_keywords('"to be or not to be"').without_quotes().terms  # a stopword phrase


def test_quotes_in_a_request_boost_and_quotes_around_a_short_query_are_required():
    """Quotes a person types around a phrase keep their meaning; the title a request of a
    sentence or more quotes becomes words to search for, and a boost."""
    from search.query.keywords import LONG_REQUEST_WORDS

    short = parse_keywords('"graph neural networks" for molecules')
    assert short.phrases == (("graph", "neural", "networks"),) and not short.boosts
    outside = " ".join(["papers"] + ["about"] * (LONG_REQUEST_WORDS - 3) + ["retrieval"])
    just_short = parse_keywords(f'{outside} "Relevance feedback revisited"')
    assert just_short.phrases and not just_short.boosts  # one word short of a request
    request = parse_keywords(f'{outside} then "Relevance feedback revisited"')
    assert request.phrases == () and request.boosts == (("relevance", "feedback", "revisited"),)
    assert {"relevance", "feedback", "revisited", "retrieval"} <= set(request.terms)
    assert not request.empty
