"""References to papers as people type them: internal ids, external ids, DOIs."""

from __future__ import annotations

import re

MAX_REF_CHARS = 300  # the longest id or DOI a request may name (the API documents it)


def paper_ref(text: str) -> int | str:
    """A reference typed by a person or sent in a URL: digits are an internal id, anything
    else an external id or DOI (see Papers.resolve)."""
    return int(text) if text.isdigit() and len(text) < 19 else text


def id_variants(text: str) -> list[str]:
    """``arXiv:2212.09525v2`` → itself, ``2212.09525v2``, ``2212.09525``; DOI URLs → the DOI."""
    variants = [text]
    bare = re.sub(r"^(?:arxiv:|https?://(?:dx\.)?doi\.org/|doi:)", "", text, flags=re.I)
    variants.append(bare)
    variants.append(re.sub(r"v\d+$", "", bare))
    return list(dict.fromkeys(v for v in variants if v))
