"""The keyword index: BM25 over title, abstract and authors, one Tantivy index per build.

Like the FAISS file, it is part of an index build (``builds/build-NNNNNN.keywords/``):
written by the indexer from exactly the build's papers, immutable once written,
covered by the build's checksum, opened read-only by every server of that build and
pruned with it. The database keeps metadata and filters; it ranks no text.

- ``documents``: what a paper becomes in the index (fields, analyzers, stopwords),
  shared by the writer (``indexer.keyword_index``) and the reader;
- ``queries``: a parsed keyword query and filters as Tantivy queries, built in code,
  so that nothing a user types is ever Tantivy's query syntax;
- ``reader``: :class:`KeywordIndex`, what the engine asks for rankings, phrase
  containment and counts.
"""

from search.keyword_index.reader import KeywordIndex

__all__ = ["KeywordIndex"]
