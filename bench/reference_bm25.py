"""The reference keyword ranking bench/keyword.py and bench/fusion.py measure against:
bm25s over title + abstract with English stopwords and the English (Snowball) stemmer,
k1 1.5 and b 0.75, the flat BM25 baseline BEIR and pyserini report."""

from __future__ import annotations

DEPTH = 100


def bm25s_run(records, queries: dict[str, str], *, stemmer: bool = True, tokens=None,
              k1: float = 1.5, b: float = 0.75) -> dict:  # fmt: skip
    """bm25s over title + abstract (a title the corpus lacks is not made up), with its
    English stopwords and, by default, the English stemmer; or over ``tokens(text)``."""
    import bm25s
    import Stemmer

    texts = [f"{'' if r.title_from_abstract else r.title} {r.abstract or ''}" for r in records]
    ids = list(queries)
    if tokens is None:
        stem = Stemmer.Stemmer("english") if stemmer else None
        corpus = bm25s.tokenize(texts, stopwords="en", stemmer=stem, show_progress=False)
        asked = bm25s.tokenize([queries[q] for q in ids], stopwords="en", stemmer=stem,
                               show_progress=False)  # fmt: skip
    else:
        corpus = [tokens(t) for t in texts]
        asked = [tokens(queries[q]) for q in ids]
    retriever = bm25s.BM25(k1=k1, b=b)
    retriever.index(corpus, show_progress=False)
    if tokens is not None:  # words the corpus lacks score nothing (bm25s refuses them)
        known = retriever.vocab_dict
        asked = [[w for w in q if w in known] or [next(iter(known))] for q in asked]
    docs, scores = retriever.retrieve(asked, k=min(DEPTH, len(records)), show_progress=False)
    return {
        q: {records[d].external_id: float(s) for d, s in zip(docs[i], scores[i], strict=True)}
        for i, q in enumerate(ids)
    }
