"""The ids an author is known by, as keys: ``kind:value`` in one canonical spelling.

Sources identify authors where they can: OpenAlex by its author id (``A5023888391``),
Semantic Scholar by its authorId (digits), and many by ORCID. Each becomes a key, so
that an author's papers are found through any id two sources share. An ORCID's check
digit is verified (ISO 7064 11,2): a mistyped ORCID would merge two people, so it is
dropped instead. Two different ORCIDs are two people, whatever else they share.
"""

from __future__ import annotations

import re

KINDS = ("openalex", "orcid", "s2")
_OPENALEX = re.compile(r"^(?:https?://openalex\.org/)?([Aa]\d{1,15})$")
_ORCID = re.compile(r"^(?:https?://(?:www\.)?orcid\.org/)?(\d{4}-\d{4}-\d{4}-\d{3}[\dXx])$")
_DIGITS = re.compile(r"^\d{1,20}$")


def author_key(kind: str, value: object) -> str | None:
    """``kind:value`` in canonical spelling, or None for a value that is no such id."""
    if not isinstance(value, str | int) or isinstance(value, bool):
        return None
    text = str(value).strip()
    if kind == "openalex":
        found = _OPENALEX.match(text)
        return f"openalex:{found.group(1).upper()}" if found else None
    if kind == "orcid":
        found = _ORCID.match(text)
        orcid = found.group(1).upper() if found else ""
        return f"orcid:{orcid}" if orcid and orcid_checks(orcid) else None
    if kind == "s2":
        return f"s2:{text}" if _DIGITS.match(text) else None
    raise ValueError(f"unknown author id kind {kind!r}")


def orcid_checks(orcid: str) -> bool:
    """Whether an ORCID's last character is the check digit of the others (ISO 7064 11,2)."""
    digits = orcid.replace("-", "")
    total = 0
    for digit in digits[:-1]:
        total = (total + int(digit)) * 2
    result = (12 - total % 11) % 11
    return digits[-1] == ("X" if result == 10 else str(result))
