"""What one paper record may hold: each text field within its bound, at most MAX_AUTHORS
authors and MAX_CATEGORIES categories, each name within its own.

A record past a bound is cut there, with a warning that the run counts by field (its
summary, and a line in its rejects file), rather than stored whole: a broken or hostile
file cannot make the indexer, the store or the keyword index hold a gigabyte title or half
a million authors. The bounds are far past real papers' (the longest author lists,
physics collaborations, run to about 5,000).
"""

from __future__ import annotations

from dataclasses import replace

from search.store.records import PaperRecord

TEXT_CHARS = {"title": 2_000, "abstract": 100_000, "venue": 1_000, "url": 2_000}
MAX_AUTHORS = 10_000
MAX_CATEGORIES = 1_000
NAME_CHARS = 500  # an author's name, a category
DOI_CHARS = 255  # the column's width; a longer one is not a DOI


def bounded(record: PaperRecord) -> PaperRecord:
    """``record`` with every field within its bound (itself when all are)."""
    changes: dict[str, object] = {}
    warnings: list[str] = []
    for name, limit in TEXT_CHARS.items():
        value = getattr(record, name)
        if value is not None and len(value) > limit:
            changes[name] = value[:limit]
            warnings.append(f"{name} cut: {len(value):,} characters, the first {limit:,} kept")
    for name, most in (("authors", MAX_AUTHORS), ("categories", MAX_CATEGORIES)):
        values = getattr(record, name)
        kept = tuple(value[:NAME_CHARS] for value in values[:most])
        if kept != values:
            changes[name] = kept
            warnings.append(f"{name} cut: {len(values):,} given, at most {most:,} of at most "
                            f"{NAME_CHARS} characters kept")  # fmt: skip
    if record.doi is not None and len(record.doi) > DOI_CHARS:
        changes["doi"] = None
        warnings.append(f"doi dropped: longer than {DOI_CHARS} characters")
    if not changes:
        return record
    return replace(record, **changes, warnings=record.warnings + tuple(warnings))
