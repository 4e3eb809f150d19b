"""What versions of a work are matched on, per paper: a title block (its normalised
title and first author's surname), the DOI and arXiv id two versions may not disagree
on, the year, and how published the record is (which version shows the work).

The title matcher is conservative by construction: titles of fewer than
``MIN_TITLE_WORDS`` words ("Introduction", "Reply to comments") and titles made from an
abstract never match, and a paper without a known year or first author is never matched
by title.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from collections.abc import Sequence

import numpy as np

from search.base.latex import latex_to_text
from search.graph.keys import ARXIV_DOI, own_keys, paper_key
from search.query.filter_keys import name_words

MIN_TITLE_WORDS = 4
_WORD = re.compile(r"[^\W_]+", re.UNICODE)

# The columns of a record the features are read from (``GraphSource.work_fields``).
FIELDS = ("id", "external_id", "doi", "paper_keys", "title", "title_from_abstract",
          "authors", "year", "venue")  # fmt: skip


def title_words(title: str) -> list[str]:
    """A title as the matcher compares it: LaTeX as text, accents, case and punctuation
    dropped ("$\\alpha$-Stable Laws, Revisited." → alpha, stable, laws, revisited)."""
    text = unicodedata.normalize("NFKD", latex_to_text(title))
    text = "".join(ch for ch in text if not unicodedata.combining(ch)).casefold()
    return _WORD.findall(text)


def title_block(title: str | None, authors: Sequence[str], derived: bool = False) -> int:
    """The hash papers are matched by title on (0: this paper is never matched by title)."""
    words = title_words(title or "") if not derived else []
    surname = name_words(authors[0])[-1:] if authors else []
    if len(words) < MIN_TITLE_WORDS or not surname:
        return 0
    return _hash(" ".join(words) + "|" + surname[0]) or 1


def journal_doi(doi: str | None) -> str | None:
    """The DOI two versions must not disagree on: any DOI but arXiv's own."""
    doi = (doi or "").strip().lower()
    return doi if doi and not doi.startswith(ARXIV_DOI) else None


def features(rows: Sequence[tuple]) -> tuple[np.ndarray, np.ndarray]:
    """(keys (n, 3) uint64: title block, DOI, arXiv id; meta (n, 2) int16: year, rank) of
    ``rows`` (``FIELDS``). A hash of 0 is "none"; rank orders a work's versions for its
    primary: a journal DOI, then a venue, then a record that is not an arXiv listing."""
    keys = np.zeros((len(rows), 3), dtype=np.uint64)
    meta = np.zeros((len(rows), 2), dtype=np.int16)
    for at, (_, external_id, doi, paper_keys, title, derived, authors, year, venue) in enumerate(
        rows
    ):
        held = own_keys(external_id, doi, paper_keys or ())
        journal = journal_doi(doi)
        arxiv = next((k for k in held if k.startswith("arxiv:")), None)
        keys[at] = (title_block(title, list(authors or []), bool(derived)),
                    _hash(f"doi:{journal}") if journal else 0,
                    _hash(arxiv) if arxiv else 0)  # fmt: skip
        listing = paper_key("arxiv", external_id) is not None  # an arXiv listing's record
        published = bool(venue) and "arxiv" not in venue.casefold()
        meta[at] = (year if isinstance(year, int) and 0 < year < 10_000 else 0,
                    4 * bool(journal) + 2 * published + (not listing))  # fmt: skip
    return keys, meta


def _hash(text: str) -> int:
    return int.from_bytes(hashlib.blake2b(text.encode(), digest_size=8).digest(), "little")
