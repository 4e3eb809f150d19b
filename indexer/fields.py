"""Field values from corpus records → clean values for a PaperRecord, or BadRecord saying why.

Corpus files are written by many tools: strings may be numbers, lists may be
one comma-separated string, years may hide in ids or dates. Each helper takes
what a reader found and returns a normalised value.

Only a missing id, or neither a title nor an abstract, rejects a record: a bad
optional field (a year of "None" or 801, a venue that is a number) is dropped
and noted (:class:`Notes`), and the paper is kept; a paper with an abstract
but no title is titled with the abstract's first sentence, marked as such.
"""

from __future__ import annotations

import datetime
import email.utils
import re
from collections.abc import Callable
from typing import Any, TypeVar

from search.base.sentences import first_sentence

T = TypeVar("T")
_WARNING = re.compile(r"(.+?) (?:dropped|missing|cut): ")


class BadRecord(ValueError):
    """One record cannot be used; the message is the reason reported."""


_NEW_ARXIV_ID = re.compile(r"^(?:arxiv:)?(\d{2})(\d{2})\.\d{4,5}(?:v\d+)?$", re.IGNORECASE)
_OLD_ARXIV_ID = re.compile(
    r"^(?:arxiv:)?[a-z\-]+(?:\.[A-Z]{2})?/(\d{2})(\d{2})\d{3}(?:v\d+)?$", re.I
)
_DATE_YEAR = re.compile(r"^(\d{4})-\d{2}-\d{2}")
_ISO_DATE = re.compile(r"^(\d{4})-(\d{2})-(\d{2})(?:$|[T ])")
_NAME_SPLIT = re.compile(r",\s*(?:and\s+)?|\s+and\s+")


def clean(value: Any, field: str, *, required: bool = False) -> str | None:
    """Whitespace-normalised string; None for missing/empty unless required."""
    if value is None:
        if required:
            raise BadRecord(f"missing {field}")
        return None
    if not isinstance(value, str):
        raise BadRecord(f"{field} must be a string, not {type(value).__name__}")
    text = " ".join(value.split())  # every run of whitespace, Unicode included, to one space
    if not text:
        if required:
            raise BadRecord(f"missing {field}")
        return None
    return text


class Notes:
    """What was dropped from one record: a warning per bad optional field."""

    def __init__(self) -> None:
        self.warnings: list[str] = []

    def optional(self, field: str, parse: Callable[[], T], default: T) -> T:
        """``parse()``, or ``default`` with a warning when the value is bad."""
        try:
            return parse()
        except BadRecord as exc:
            self.warnings.append(f"{field} dropped: {exc}")
            return default

    def text(self, value: Any, field: str) -> str | None:
        """An optional string field (:func:`clean`), None when bad."""
        return self.optional(field, lambda: clean(value, field), None)

    def names(
        self, value: Any, field: str, *, split: Callable[[str], list[str]] | None = None
    ) -> tuple[str, ...]:
        """An optional list of names (:func:`string_list`), empty when bad."""
        return self.optional(field, lambda: string_list(value, field, split=split), ())


def warning_field(warning: str) -> str:
    """The field a :class:`Notes` warning is about: ``"year dropped: ..."`` → ``"year"``."""
    match = _WARNING.match(warning)
    return match.group(1) if match else warning


def title_and_abstract(
    title: Any, abstract: Any, notes: Notes, *, title_field: str = "title",
    abstract_field: str = "abstract",
) -> tuple[str, str | None, bool]:  # fmt: skip
    """(title, abstract, title made from the abstract?). Rejects only a record with
    neither; a missing or unusable title with an abstract becomes the abstract's first
    sentence (at most TITLE_FROM_ABSTRACT_CHARS), with a warning."""
    text = notes.optional(abstract_field, lambda: clean(abstract, abstract_field), None)
    stand_in = "the abstract's first sentence stands for it"
    try:
        heading = clean(title, title_field)
        why = f"{title_field} missing: {stand_in}"
    except BadRecord as exc:
        if not text:
            raise
        heading, why = None, f"{title_field} dropped: {exc}; {stand_in}"
    if heading:
        return heading, text, False
    if not text:
        raise BadRecord(f"missing {title_field} and {abstract_field}")
    notes.warnings.append(why)
    return first_sentence(text), text, True


def identifier(value: Any, field: str) -> str:
    if isinstance(value, bool) or value is None:
        raise BadRecord(f"missing {field}")
    if isinstance(value, int):
        return str(value)
    text = clean(value, field, required=True)
    if len(text) > 255:
        raise BadRecord(f"{field} is longer than 255 characters")
    return text


def year_of(value: Any) -> int | None:
    if value is None or value == "":
        return None
    if isinstance(value, bool):
        raise BadRecord("year must be an integer")
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, str) and value.strip().isdigit():
        value = int(value.strip())
    if not isinstance(value, int):
        raise BadRecord(f"year must be an integer, not {value!r}"[:120])
    if not 1000 <= value <= 2999:
        raise BadRecord(f"year {value} is out of range")
    return value


def year_from_arxiv_id(arxiv_id: str) -> int | None:
    """``2212.09525`` → 2022; ``hep-th/9901001`` → 1999 (old ids run from 1991)."""
    match = _NEW_ARXIV_ID.match(arxiv_id) or _OLD_ARXIV_ID.match(arxiv_id)
    if not match:
        return None
    yy, mm = int(match.group(1)), int(match.group(2))
    if not 1 <= mm <= 12:
        return None
    return 1900 + yy if yy >= 91 else 2000 + yy


def date_of(value: Any) -> str | None:
    """An ISO date (``2025-03-14``, or a timestamp that starts with one) or an RFC 2822
    one (arXiv's version stamps: ``Mon, 2 Apr 2007 19:18:42 GMT``) → ``YYYY-MM-DD``;
    None for anything else (a date is optional: a bad one never rejects a paper)."""
    if not isinstance(value, str) or not value.strip():
        return None
    text = value.strip()
    match = _ISO_DATE.match(text)
    try:
        if match:
            return datetime.date(*map(int, match.groups())).isoformat()
        return email.utils.parsedate_to_datetime(text).date().isoformat()
    except (TypeError, ValueError, IndexError):
        return None


def first_version_date(versions: Any) -> str | None:
    """The date of a Kaggle arXiv record's first version."""
    if isinstance(versions, list) and versions and isinstance(versions[0], dict):
        return date_of(versions[0].get("created"))
    return None


def year_from_date(value: Any) -> int | None:
    match = _DATE_YEAR.match(value) if isinstance(value, str) else None
    return int(match.group(1)) if match else None


def string_list(
    value: Any, field: str, *, split: Callable[[str], list[str]] | None = None
) -> tuple[str, ...]:
    """A list of names: strings, ``{"name": ...}`` objects, or one string to split."""
    if value is None or value == "":
        return ()
    if isinstance(value, str):
        parts = split(value) if split else [value]
        return tuple(p for p in (clean(part, field) for part in parts) if p)
    if not isinstance(value, list):
        raise BadRecord(f"{field} must be a list, not {type(value).__name__}")
    out = []
    for item in value:
        if isinstance(item, dict):
            item = item.get("name")
        name = clean(item, field)
        if name:
            out.append(name)
    return tuple(out)


def split_author_string(value: str) -> list[str]:
    """Kaggle arXiv author strings: ``"A. Smith, B. Jones and C. Wu"``."""
    return [part for part in _NAME_SPLIT.split(value) if part.strip()]


_DOI_PREFIX = re.compile(r"^(?:https?://(?:dx\.)?doi\.org/|doi:\s*)", re.IGNORECASE)
MAX_CITATIONS = 10**9  # more is a corrupt value, not a paper


def citation_count(value: Any) -> int | None:
    """A citation count: a non-negative integer (a number in a string too), or None."""
    if value is None or value == "":
        return None
    if isinstance(value, bool):
        raise BadRecord("citation count must be an integer")
    if isinstance(value, str) and value.strip().isdigit():
        value = int(value.strip())
    if not isinstance(value, int) or not 0 <= value <= MAX_CITATIONS:
        raise BadRecord(f"citation count must be a non-negative integer, not {value!r}")
    return value


def doi_of(value: Any, field: str = "doi") -> str | None:
    """A DOI, without the ``https://doi.org/`` or ``doi:`` a source may put before it."""
    text = clean(value, field)
    if text is None:
        return None
    doi = _DOI_PREFIX.sub("", text)
    if not doi.startswith("10."):
        raise BadRecord(f"{field} is not a DOI: {text[:60]!r}")
    return doi
