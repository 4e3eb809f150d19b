"""The discovery corpus: 800 sample papers given years, dates, venues and DOIs so that
filters and date sorting have something to select, and the filters' meaning written
independently of the SQL (for property tests)."""

from __future__ import annotations

import json
import re
import unicodedata

from hypothesis import strategies as st

from search.query.filters import Filters
from tests.helpers import sample_lines, write_lines

N_PAPERS = 800
RARE_VENUE = "Journal of Rare Results"  # 8 papers: 1% of the corpus
# Venues in scripts and forms whose case ASCII's lower() does not fold (SQLite's did not).
VENUES = ["Physical Review Letters", "NeurIPS", "Nature", None, "Études Économiques",
          "Zeitschrift für Physik", "Физика Плазмы", None]  # fmt: skip


def corpus_rows(n: int = N_PAPERS) -> list[dict]:
    rows = []
    for i, line in enumerate(sample_lines(n)):
        row = json.loads(line)
        row["year"] = 2000 + i % 20
        if i % 5:  # a day for most papers, none for every fifth (sorted by year alone)
            row["listing_date"] = f"{row['year']}-{1 + i % 12:02d}-{1 + i % 28:02d}"
        row["journal_ref"] = RARE_VENUE if i % 100 == 7 else VENUES[i % len(VENUES)]
        if i % 3 == 0:
            row["doi"] = f"10.1234/Test.{i}"
        rows.append(row)
    return rows


def write_corpus(path, rows) -> object:
    return write_lines(path, [json.dumps(row) for row in rows])


def satisfies(paper, filters: Filters) -> bool:
    """The filters' meaning, written independently of the SQL."""
    if filters.year_min is not None and (paper.year is None or paper.year < filters.year_min):
        return False
    if filters.year_max is not None and (paper.year is None or paper.year > filters.year_max):
        return False
    if filters.venues and _folded(paper.venue or "") not in {_folded(v) for v in filters.venues}:
        return False
    if filters.categories and not any(
        c == want or c.startswith(want + ".")
        for c in paper.categories
        for want in filters.categories
    ):
        return False
    return not filters.authors or any(
        name_matches(a, want) for a in paper.authors for want in filters.authors
    )


def _folded(venue: str) -> str:
    return " ".join(unicodedata.normalize("NFKC", venue).casefold().split())


def _name_words(name: str) -> list[str]:
    given, comma, surname = name.partition(",")
    if comma and surname.strip():
        name = f"{surname} {given}"
    plain = "".join(c for c in unicodedata.normalize("NFKD", name) if not unicodedata.combining(c))
    return re.sub(r"[^\w-]+|_", " ", plain.casefold()).split()


def name_matches(author: str, wanted: str) -> bool:
    """``wanted`` names ``author``, written independently of search.query.filter_keys: the
    whole name, its last words (a surname, "Van Gool" too), or initials for the given names
    before the surname ("H. Chen"). Never part of a word: "Hao Chen" is not "Guohao Chen"."""
    a, w = _name_words(author), _name_words(wanted)
    if not a or not w:
        return False
    for cut in range(len(w)):  # w[:cut] are initials, w[cut:] the author's last words
        surname, initials = w[cut:], w[:cut]
        if surname != a[-len(surname) :]:
            continue
        given = a[: len(a) - len(surname)]
        if not initials or (
            all(len(i) == 1 for i in initials) and [g[0] for g in given] == initials
        ):
            return True
    return False


def filter_strategy(papers):
    categories = sorted({c for p in papers for c in p.categories})
    surnames = sorted({a.split()[-1] for p in papers for a in p.authors if a.split()})
    years = st.one_of(
        st.none(),
        st.integers(2000, 2019).map(str),
        st.tuples(st.integers(2000, 2019), st.integers(0, 5)).map(
            lambda t: f"{t[0]}-{t[0] + t[1]}"
        ),
        st.integers(2000, 2019).map(lambda y: f"{y}-"),
        st.integers(2000, 2019).map(lambda y: f"-{y}"),
    )
    return st.builds(
        Filters.parse,
        year=years,
        venue=st.one_of(
            st.none(),
            st.sampled_from(
                [
                    RARE_VENUE,
                    "nature",
                    "NeurIPS,Nature",
                    "ÉTUDES  économiques",
                    "études économiques",
                    "zeitschrift FÜR physik",
                    "физика плазмы",
                    "Études Économiques,Nature",
                ]
            ),
        ),
        category=st.one_of(st.none(), st.sampled_from(categories + ["cs", "math", "q-bio"])),
        author=st.one_of(st.none(), st.sampled_from(surnames)),
    )
