"""Keys that filters match whole: author names, categories and venues, the same in the
database (semantic search) and in each build's keyword index (keyword and hybrid).

A filter is a set of keys, and a paper matches when one of its keys is one of
them: an equality, never a substring, so the filter runs on an index
(PostgreSQL's GIN over a JSONB array) and ``author=Hao Chen`` does not find
"Guohao Chen".

Author names are compared as names: case, accents and punctuation do not
count, "Chen, Hao" is "Hao Chen", and initials stand for given names
("H. Chen" and "H Chen" find "Hao Chen"). A name alone finds every author
with that surname, and any of a name's last words may be its surname.
Categories match exactly or by their archive prefix: ``cs`` finds ``cs.LG`` and
``cs.CV``. Venues match whole, case and Unicode forms aside ("ÉTUDES  économiques" is
"Études Économiques").
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable

_WORD = re.compile(r"[^\W_]+(?:-[^\W_]+)*", re.UNICODE)  # "Álvarez-López" is one word


def name_words(name: str) -> list[str]:
    """``"Chen, Hao"`` and ``"Hao  Chen"`` → ``["hao", "chen"]``: lower case, accents and
    punctuation dropped, surname last."""
    given, comma, surname = name.partition(",")
    if comma and surname.strip():  # "Surname, Given"
        name = f"{surname} {given}"
    plain = unicodedata.normalize("NFKD", name)
    plain = "".join(ch for ch in plain if not unicodedata.combining(ch)).casefold()
    return _WORD.findall(plain)


# Words that may start a surname ("Luc van Gool"): a name typed in lower case may hold them.
PARTICLES = frozenset(
    ("al", "bin", "da", "das", "de", "del", "della", "der", "di", "dos", "du", "el", "ibn",
     "la", "le", "van", "von", "ten", "ter")
)  # fmt: skip


def author_keys(authors: Iterable[str]) -> list[str]:
    """Every key a paper's authors answer to: each full name and, for every way to split
    it into given names and a surname, the surname alone and the surname after the given
    names' initials. Which words make the surname cannot be told from the name ("Luc Van
    Gool", "Haitz Sáez de Ocáriz Borde", "Khan Muhammad Bin Asad"), so "Van Gool", "Gool",
    "L. Van Gool" and "L. V. Gool" all find the first."""
    keys: dict[str, None] = {}
    for author in authors:
        words = name_words(author)
        if not words:
            continue
        keys[" ".join(words)] = None
        for start in range(1, len(words)):
            surname = words[start:]
            keys[" ".join(surname)] = None
            keys[" ".join([*(w[0] for w in words[:start]), *surname])] = None
    return list(keys)


def author_filter_key(name: str) -> str | None:
    """The key an ``author=`` value is looked up by: its words, normalised as names are
    ("Chen, Hao" → "hao chen", "H. Chen" → "h chen"); None when it has no letters."""
    words = name_words(name)
    return " ".join(words) if words else None


def venue_key(venue: str) -> str:
    """What the venue filter matches: the name in NFKC, case-folded (every script's case,
    not ASCII's alone), single-spaced."""
    return " ".join(unicodedata.normalize("NFKC", venue).casefold().split())


def category_keys(categories: Iterable[str]) -> list[str]:
    """Each category and every dotted prefix of it: cs.LG → cs.LG, cs; an ACM class
    I.2.6 → I.2.6, I.2, I."""
    keys: dict[str, None] = {}
    for category in categories:
        keys[category] = None
        parts = category.split(".")
        for end in range(len(parts) - 1, 0, -1):
            if all(parts[:end]):
                keys[".".join(parts[:end])] = None
    return list(keys)


NAME_WORDS = range(2, 6)  # a keyword query of this many words may be an author's name


def looks_like_a_name(text: str) -> bool:
    """Two to five words, each capitalised as typed (or a particle), no digits: a keyword
    query that may be an author's name (``SearchEngine`` looks only these up)."""
    words = text.replace(",", " ").split()
    if len(name_words(text)) not in NAME_WORDS or any(ch.isdigit() for ch in text):
        return False
    return all(word[0].isupper() or word.lower() in PARTICLES for word in words)
