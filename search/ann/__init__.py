"""Approximate nearest neighbours: the FAISS IVF index a build serves, and measuring
its recall against exact search."""

from __future__ import annotations

from search.ann.faiss_index import VectorIndex

__all__ = ["VectorIndex"]
