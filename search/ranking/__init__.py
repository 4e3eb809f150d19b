"""Combining and re-ranking candidate lists: hybrid fusion, and re-ranking by exact
distance from the vector files."""

from __future__ import annotations

from search.ranking.fusion import fuse_scores
from search.ranking.refine import rerank

__all__ = ["fuse_scores", "rerank"]
