"""Citations between papers: the keys references resolve by (``keys``) and a build's
citation graph, read from its files (``reader``)."""

from __future__ import annotations

from search.graph.keys import KINDS, MAX_REFERENCES, key_hashes, own_keys, paper_key

__all__ = ["KINDS", "MAX_REFERENCES", "key_hashes", "own_keys", "paper_key"]
