"""Benchmark: each choice of keyword mode's ranking on and off, on every dev collection
at once (short queries and long requests), as issue #32 asked and docs/benchmarks.md
reports.

    python bench/keyword_choices.py

The collections, the store and the scoring are ``bench/keyword.py``'s. Each row changes
one choice of the shipped ranking and gives nDCG@10 per collection, the mean, and the
largest loss against the shipped ranking (a choice is kept when it helps on average
and costs no collection more than 0.005):

- the authors inside the ranked text (shipped), apart in a field of their own, left out;
- the title boost (shipped 0.25) at 0, 0.1 and 0.5;
- a word typed n times weighing 1 + ln n (shipped), once, or n;
- Snowball's English stopwords (shipped) or the shorter list bm25s uses;
- the author-first rule for name-like queries (shipped) or none;
- BM25's k1 and b, which Tantivy fixes at 1.2 and 0.75: measured with bm25s over the
  keyword index's own tokens, since the index cannot change them;
- quoted text inside a request: each query of at least LONG_REQUEST_WORDS + 2 words
  gets its most specific pair of adjacent words (at least PAGE papers contain it, as
  bench/phrases.py picks them) in quotes, ranked as shipped (the words searched, the
  phrase a boost), as a required phrase (dropped below PAGE papers), and as the request
  typed without quotes.
"""

from __future__ import annotations

import contextlib
import dataclasses
import statistics
import sys
from unittest import mock

import bm25s
from reference_bm25 import bm25s_run
from workload import keyword_bench

_keyword = keyword_bench()
PAGE, available, keyword_index, load, papersearch_run, score = (
    _keyword.PAGE, _keyword.available, _keyword.keyword_index, _keyword.load,
    _keyword.papersearch_run, _keyword.score,
)  # fmt: skip

GOAL = 0.005


def _without_authors(original):
    def document(self):
        return original(dataclasses.replace(self, authors=[]))

    return document


def _authors_apart(original):
    def document(self):
        doc = original(dataclasses.replace(self, authors=[]))
        doc.add_text("authors", " ".join(self.authors))
        return doc

    return document


def _schema_with_authors(original):
    def schema():
        from tantivy import SchemaBuilder

        from search.keyword_index.documents import RANK_ANALYZER

        built = SchemaBuilder()
        built.add_unsigned_field("id", indexed=True, fast=True)
        for name in ("body", "title", "authors"):
            built.add_text_field(name, tokenizer_name=RANK_ANALYZER, index_option="freq")
        built.add_text_field("phrases", tokenizer_name="phrases", index_option="position")
        for name in ("venue", "category_key", "author_key"):
            built.add_text_field(name, tokenizer_name="raw", index_option="basic")
        built.add_integer_field("year", indexed=True, fast=True)
        return built.build()

    return schema


@contextlib.contextmanager
def variant(name: str):
    """The shipped ranking with one choice changed (``name``), within the block."""
    import indexer.keyword_index as writer
    from search.engine import keyword_mode
    from search.keyword_index import documents, queries
    from search.query import keywords

    title = dict(queries.RANKED)["title"]
    patches = {
        "shipped": [],
        "authors apart (weight 1)": [
            mock.patch.object(documents.PaperText, "document",
                              _authors_apart(documents.PaperText.document)),
            mock.patch.object(writer, "schema", _schema_with_authors(documents.schema)),
            mock.patch.object(queries, "schema", _schema_with_authors(documents.schema)),
            mock.patch.object(queries, "RANKED", (*queries.RANKED, ("authors", 1.0))),
        ],
        "authors left out": [mock.patch.object(documents.PaperText, "document",
                                               _without_authors(documents.PaperText.document))],
        **{f"title boost {b}": [mock.patch.object(queries, "RANKED", (("body", 1.0), ("title", b)))]
           for b in (0.0, 0.1, 0.5) if b != title},
        "each word once": [mock.patch.object(queries, "term_weight", lambda n: 1.0)],
        "a word typed n times weighs n": [mock.patch.object(queries, "term_weight", float)],
        "bm25s's stopwords": [
            mock.patch.object(documents, "STOPWORDS", frozenset(bm25s.stopwords.STOPWORDS_EN)),
            mock.patch.object(keywords, "STOPWORDS", frozenset(bm25s.stopwords.STOPWORDS_EN)),
        ],
        "no author-first rule": [
            mock.patch.object(keyword_mode, "authors_first", lambda index, q, k, d, f, m: m)
        ],
    }[name]  # fmt: skip
    with contextlib.ExitStack() as stack:
        for patch in patches:
            stack.enter_context(patch)
        queries._schema.cache_clear()
        queries._analyzers.cache_clear()
        yield
    queries._schema.cache_clear()
    queries._analyzers.cache_clear()


INDEX_CHOICES = ("authors apart (weight 1)", "authors left out", "bm25s's stopwords")
CHOICES = (
    "shipped", "authors apart (weight 1)", "authors left out", "title boost 0.0",
    "title boost 0.1", "title boost 0.5", "each word once", "a word typed n times weighs n",
    "bm25s's stopwords", "no author-first rule",
)  # fmt: skip


def quoted_requests(index, queries: dict[str, str]) -> dict[str, str]:
    """Each request long enough to stay one with two of its words quoted, with its most
    specific adjacent pair (at least PAGE papers hold it) in quotes."""
    from search.query.keywords import LONG_REQUEST_WORDS, STOPWORDS, WORD

    quoted = {}
    for query_id, text in queries.items():
        words = WORD.findall(text)
        if len(words) < LONG_REQUEST_WORDS + 2:
            continue
        counts = {}
        for a, b in zip(words, words[1:], strict=False):
            pair = (a.lower(), b.lower())
            if a.lower() in STOPWORDS or b.lower() in STOPWORDS or pair in counts:
                continue
            found = len(index.containing((pair,)))
            if found >= PAGE:
                counts[pair] = found
        if counts:
            a, b = min(counts, key=counts.get)
            quoted[query_id] = _quote(text, a, b)
    return quoted


def _quote(text: str, a: str, b: str) -> str:
    import re

    pattern = re.compile(rf"\b({re.escape(a)}\W+{re.escape(b)})\b", re.IGNORECASE)
    return pattern.sub(r'"\1"', text, count=1)


def row(label: str, values: dict[str, float | None], shipped: dict | None) -> str:
    """A table row: nDCG@10 per collection (None: nothing to rank there), their mean, and
    the largest loss against ``shipped``."""
    mean = statistics.mean(v for v in values.values() if v is not None)
    cells = "".join(f"{'-':>9}" if v is None else f"{v:>9.4f}" for v in values.values())
    if shipped is None:
        return f"  {label:<34}{cells}{mean:>9.4f}"
    worst = min(values[c] - shipped[c] for c in values)
    return f"  {label:<34}{cells}{mean:>9.4f}{worst:>+10.4f}"


def main() -> int:
    collections = available()
    if not collections:
        print("skipped: no judged collections in ../shared/data")
        return 0
    data = {c: load(c) for c in collections}
    header = "".join(f"{c[:8]:>9}" for c in collections)
    print(f"nDCG@10 of keyword mode, one choice changed at a time (SQLite)\n"
          f"  {'ranking':<34}{header}{'mean':>9}{'worst':>10}")  # fmt: skip
    indexes, shipped = {}, None
    for choice in CHOICES:
        with variant(choice):
            if choice == "shipped" or choice in INDEX_CHOICES:
                built = {c: keyword_index(data[c][0], None, f"choice_{i}")
                         for i, c in enumerate(collections)}  # fmt: skip
                if choice == "shipped":
                    indexes = built
            else:
                built = indexes
            values = {c: score(papersearch_run(*built[c], data[c][1].queries)[0],
                               data[c][1].qrels)["nDCG@10"] for c in collections}  # fmt: skip
        print(row(choice, values, shipped), flush=True)
        shipped = shipped or values
    print("\n  BM25's k1 and b, bm25s over the keyword index's own tokens (Tantivy: 1.2, 0.75)")
    from search.keyword_index.queries import tokens

    for k1, b in ((1.2, 0.75), (1.5, 0.75), (2.0, 0.75), (0.9, 0.4), (1.2, 0.5), (1.2, 0.9)):
        values = {c: score(bm25s_run(data[c][0], data[c][1].queries, tokens=tokens, k1=k1, b=b),
                           data[c][1].qrels)["nDCG@10"] for c in collections}  # fmt: skip
        print(row(f"k1 {k1}, b {b}", values, None), flush=True)
    print("\n  quoted text inside a request (the requests that hold a quotable pair)")
    from search.query import keywords

    asked = {c: quoted_requests(indexes[c][0], data[c][1].queries) for c in collections}
    print(f"  {'requests':<34}" + "".join(f"{len(asked[c]):>9}" for c in collections))
    for label, texts, words in (
        ("quotes boost (shipped)", asked, keywords.LONG_REQUEST_WORDS),
        ("quotes required", asked, 10**6),
        ("typed without quotes", {c: {q: data[c][1].queries[q] for q in asked[c]}
                                  for c in collections}, keywords.LONG_REQUEST_WORDS),
    ):  # fmt: skip
        with mock.patch.object(keywords, "LONG_REQUEST_WORDS", words):
            values = {c: score(papersearch_run(*indexes[c], texts[c])[0],
                               data[c][1].qrels)["nDCG@10"] if texts[c] else None
                      for c in collections}  # fmt: skip
        print(row(label, values, None), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
