"""The ids a paper is known by, as keys: how references find papers.

A reference names a paper by whatever id its source knows: a DOI, an arXiv id, a PMID
or PMC id, an OpenAlex or Semantic Scholar id, or the corpus's own id. Each becomes a
key, ``kind:value`` with the value in one canonical spelling (DOIs lower-cased and
without their URL, arXiv ids without a version, OpenAlex ids without their URL), so
that a reference resolves to a paper through any id both sides know. Keys are hashed
to 64 bits (the same in every process) for the graph's out-of-core resolution.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable

import numpy as np

KINDS = ("id", "doi", "arxiv", "pmid", "pmcid", "openalex", "s2", "corpusid", "mag")
MAX_KEY_CHARS = 300  # a longer id is no id
MAX_REFERENCES = 10_000  # a paper listing more is cut to this, with a counted warning
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")
_DOI_URL = re.compile(r"^(?:https?://(?:dx\.)?doi\.org/|doi:)", re.I)
_ARXIV = re.compile(r"^(?:arxiv:)?(?:https?://arxiv\.org/abs/)?(.+?)(?:v\d+)?$", re.I)
_OPENALEX = re.compile(r"^(?:https?://openalex\.org/)?([WAwa]\d+)$")
_DIGITS = re.compile(r"^\d{1,20}$")
_S2_PAPER = re.compile(r"^[0-9a-f]{40}$")
_PMCID = re.compile(r"^(?:pmc)?(\d{1,12})$", re.I)


def paper_key(kind: str, value: object) -> str | None:
    """``kind:value`` in canonical spelling, or None for a value that is no such id (empty,
    too long, control characters, the wrong shape)."""
    if isinstance(value, bool) or value is None:
        return None
    text = str(value).strip()
    if not text or len(text) > MAX_KEY_CHARS or _CONTROL.search(text):
        return None
    canonical = _CANONICAL[kind](text)
    return f"{kind}:{canonical}" if canonical else None


def _doi(text: str) -> str | None:
    doi = _DOI_URL.sub("", text).lower()
    return doi if doi.startswith("10.") and "/" in doi else None


def _arxiv(text: str) -> str | None:
    found = _ARXIV.match(text)
    value = found.group(1).lower() if found else ""
    return value if re.match(r"^(\d{4}\.\d{4,5}|[a-z-]+(\.[a-z-]+)?/\d{7})$", value) else None


def _openalex(text: str) -> str | None:
    found = _OPENALEX.match(text)
    return found.group(1).upper() if found else None


def _pmcid(text: str) -> str | None:
    found = _PMCID.match(text)
    return f"PMC{found.group(1)}" if found else None


_CANONICAL = {
    "id": lambda text: text,
    "doi": _doi,
    "arxiv": _arxiv,
    "pmid": lambda text: text if _DIGITS.match(text) else None,
    "pmcid": _pmcid,
    "openalex": _openalex,
    "s2": lambda text: text.lower() if _S2_PAPER.match(text.lower()) else None,
    "corpusid": lambda text: text if _DIGITS.match(text) else None,
    "mag": lambda text: text if _DIGITS.match(text) else None,
}


ARXIV_DOI = "10.48550/arxiv."  # the DOIs arXiv gives its preprints
SHAPED = ("arxiv", "doi", "openalex")  # kinds a corpus id in their shape is taken to be


def own_keys(external_id: str, doi: str | None, ids: Iterable[str] = ()) -> list[str]:
    """Every key of a paper: its corpus id (and the arXiv id, DOI or OpenAlex id it is,
    when it has one's shape: an arXiv listing's ids are arXiv ids), its DOI, and the
    other ids its record gives (already keys), once each; an arXiv DOI gives its arXiv id."""
    own = paper_key("id", external_id)
    keys = [own]
    if own is not None:  # checked once: the shaped kinds see the same clean text
        text = own[3:]
        for kind in SHAPED:
            canonical = _CANONICAL[kind](text)
            keys.append(f"{kind}:{canonical}" if canonical else None)
    doi_key = paper_key("doi", doi)
    keys += [doi_key, *ids]
    if doi_key and doi_key.startswith(f"doi:{ARXIV_DOI}"):  # arXiv's DOI names an arXiv id
        keys.append(paper_key("arxiv", doi_key[len(f"doi:{ARXIV_DOI}") :]))
    return list(dict.fromkeys(k for k in keys if k))


def key_hashes(keys: Iterable[str]) -> np.ndarray:
    """Each key's 64-bit hash (blake2b: the same in every process and on every host)."""
    digests = b"".join(hashlib.blake2b(k.encode(), digest_size=8).digest() for k in keys)
    return np.frombuffer(digests, dtype="<u8").copy()
