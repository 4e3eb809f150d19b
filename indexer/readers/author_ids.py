"""An author's ids as a record gives them, as keys (``search.authors.keys``); a value given
that is no id of its kind (an ORCID with a wrong check digit) is dropped and counted."""

from __future__ import annotations

from indexer.fields import Notes
from search.authors.keys import author_key


def author_ids(pairs: list[tuple[str, object]], notes: Notes, field: str) -> tuple[str, ...]:
    """The keys of one author from (kind, value) pairs, once each."""
    keys = []
    for kind, value in pairs:
        if value is None or value == "":
            continue
        key = author_key(kind, value)
        if key is None:
            notes.warnings.append(f"{field} dropped: not an {kind} id")
        else:
            keys.append(key)
    return tuple(dict.fromkeys(keys))
