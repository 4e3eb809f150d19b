"""Which author a page is about, and which page an authorship links to.

An author is named in a URL by one id (``orcid:0000-0002-1825-0097``,
``openalex:A5023888391``, ``s2:1741101``), by a bare ORCID or an OpenAlex or ORCID URL,
or by a name (``name:ada lovelace``, or the name as typed). An authorship with ids links
to its most lasting one (an ORCID, else OpenAlex's, else Semantic Scholar's); one
without links to its name, and that page says it groups papers by name.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from search.authors.keys import KINDS, author_key
from search.base.errors import InvalidRequest
from search.query.filter_keys import author_filter_key

PREFERRED = ("orcid", "openalex", "s2")  # which id an authorship's page is named by
NAME = "name"
MAX_REF_CHARS = 300
_BARE_ORCID = re.compile(r"^(?:https?://(?:www\.)?orcid\.org/)?\d{4}-\d{4}-\d{4}-\d{3}[\dXx]$")
_OPENALEX_URL = re.compile(r"^https?://openalex\.org/[Aa]\d+$")


@dataclass(frozen=True)
class AuthorRef:
    """An author as a page names them: by one id key, or by a name key."""

    kind: str  # "id" or NAME
    key: str  # "orcid:…" (an id key), or a name key ("ada lovelace")

    @property
    def slug(self) -> str:
        return self.key if self.kind == "id" else f"{NAME}:{self.key}"


def parse_ref(text: str) -> AuthorRef:
    """The author ``text`` names; InvalidRequest when it names no one."""
    text = " ".join(str(text).split())
    if not text or len(text) > MAX_REF_CHARS:
        raise InvalidRequest("An author is an id (orcid:…, openalex:A…, s2:…) or a name.")
    if _BARE_ORCID.match(text):
        text = "orcid:" + text
    elif _OPENALEX_URL.match(text):
        text = "openalex:" + text
    kind, colon, value = text.partition(":")
    if colon and kind.lower() in KINDS:
        key = author_key(kind.lower(), value.strip())
        if key is None:
            raise InvalidRequest(f"{value.strip()[:60]!r} is not an {kind.lower()} author id.")
        return AuthorRef("id", key)
    if colon and kind.lower() == NAME:
        text = value
    key = author_filter_key(text)
    if key is None:
        raise InvalidRequest("An author's name needs a letter.")
    return AuthorRef(NAME, key)


def ref_of(name: str, ids: tuple[str, ...]) -> str | None:
    """The page an authorship links to (its slug), None for a name with no letter."""
    for kind in PREFERRED:
        for key in ids:
            if key.startswith(kind + ":"):
                return key
    key = author_filter_key(name)
    return f"{NAME}:{key}" if key else None
