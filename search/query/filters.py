"""Search filters in Semantic Scholar's style: ``year=2019-2021``, ``venue=``, ``category=``,
``author=``.

A filter is turned into the set of paper ids that satisfy it (by the store, in
SQL) and that set is handed to FAISS, so the nearest-neighbour search itself
only considers matching papers: a filtered query returns k results whenever k
papers match, which filtering after the search cannot promise.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass

from search.base.errors import FilterError

MIN_YEAR, MAX_YEAR = 1000, 9999
MAX_FILTER_CHARS = 200
MAX_FILTER_VALUES = 20
YEAR_PATTERN = r"^\s*(\d{4})?\s*-?\s*(\d{4})?\s*$"


@dataclass(frozen=True)
class FilterParameter:
    """One filter, declared once: the API's query parameter and the OpenAPI document's, the
    page form's field and the commands' ``--option`` are all made from it."""

    name: str  # the parameter, the form field, the option
    label: str  # the form's label
    help: str  # what it takes, in one line
    plural: str  # what the corpus may lack ("no venues")
    counted_by: str  # the CorpusFacts field that counts the papers carrying it
    example_from: str  # the CorpusFacts field that gives an example value from the corpus
    example: str  # the placeholder when the corpus gives none
    schema: tuple[tuple[str, object], ...]  # JSON Schema keywords of its value
    max_chars: int = MAX_FILTER_CHARS


FILTER_PARAMETERS = (
    FilterParameter("year", "Year", "A year or range: 2019, 2019-2021, 2020- (from), -2015 "
                    "(up to).", "years", "with_year", "example_year", "2019-2021, 2020-",
                    (("pattern", YEAR_PATTERN),), max_chars=20),
    FilterParameter("venue", "Venue", "Venue names, comma-separated (any of them; "
                    "case-insensitive).", "venues", "with_venue", "example_venue", "NeurIPS",
                    (("maxLength", MAX_FILTER_CHARS),)),
    FilterParameter("category", "Category", "Categories/fields, comma-separated: cs.LG exactly, "
                    "or cs for every cs.* category.", "categories", "with_categories",
                    "example_category", "cs.LG or cs", (("maxLength", MAX_FILTER_CHARS),)),
    FilterParameter("author", "Author", "An author's name, matched as a name (case, accents and "
                    "punctuation aside; never part of another name): Hao Chen, H. Chen, Chen, "
                    "Hao, or a surname. Alternatives are separated by semicolons.", "authors",
                    "with_authors", "example_author", "Hinton",
                    (("maxLength", MAX_FILTER_CHARS),)),
)  # fmt: skip


@dataclass(frozen=True)
class Filters:
    """Conditions a paper must meet. Lists are alternatives (any may match)."""

    year_min: int | None = None
    year_max: int | None = None
    venues: tuple[str, ...] = ()
    categories: tuple[str, ...] = ()  # "cs.LG" exactly, or "cs" for every cs.* category
    authors: tuple[str, ...] = ()  # names, matched whole as names (search.query.filter_keys)

    @property
    def active(self) -> bool:
        years = self.year_min is not None or self.year_max is not None
        return years or bool(self.venues or self.categories or self.authors)

    @classmethod
    def parse(
        cls,
        year: str | None = None,
        venue: str | None = None,
        category: str | None = None,
        author: str | None = None,
    ) -> Filters:
        """From request parameters; empty ones mean no condition."""
        year_min, year_max = parse_year_range(year)
        return cls(
            year_min=year_min,
            year_max=year_max,
            venues=_values("venue", venue),
            categories=_values("category", category),
            authors=_values("author", author, separator=";"),
        )

    @classmethod
    def from_params(cls, params: Mapping[str, str | None]) -> Filters:
        """From a mapping of request parameters or command options (the others ignored)."""
        return cls.parse(**{f.name: params.get(f.name) for f in FILTER_PARAMETERS})

    def to_params(self) -> dict[str, str]:
        """The request parameters that give these filters back (for links and the API)."""
        params: dict[str, str] = {}
        if self.year_min is not None or self.year_max is not None:
            if self.year_min == self.year_max:
                params["year"] = str(self.year_min)
            else:
                low = "" if self.year_min is None else str(self.year_min)
                high = "" if self.year_max is None else str(self.year_max)
                params["year"] = f"{low}-{high}"
        for name, values, separator in (
            ("venue", self.venues, ","),
            ("category", self.categories, ","),
            ("author", self.authors, ";"),  # "Chen, Hao" holds a comma
        ):
            if values:
                params[name] = separator.join(values)
        return params


def parse_year_range(raw: str | None) -> tuple[int | None, int | None]:
    """``2019``, ``2019-2021``, ``2020-`` (from 2020), ``-2015`` (up to 2015)."""
    if raw is None or not raw.strip():
        return None, None
    text = raw.strip()
    match = re.fullmatch(r"(\d{4})?\s*(-)?\s*(\d{4})?", text)
    if match is None or not (match.group(1) or match.group(3)):
        raise FilterError(
            f"year must be a year or a range such as 2019, 2019-2021, 2020- or -2015, "
            f"not {text[:40]!r}."
        )
    low = int(match.group(1)) if match.group(1) else None
    high = int(match.group(3)) if match.group(3) else None
    if match.group(2) is None:  # one year
        high = low
    if low is not None and high is not None and low > high:
        raise FilterError(f"year range {text!r} starts after it ends.")
    for value in (low, high):
        if value is not None and not MIN_YEAR <= value <= MAX_YEAR:
            raise FilterError(f"year {value} is out of range.")
    return low, high


def _values(name: str, raw: str | None, separator: str = ",") -> tuple[str, ...]:
    """Alternatives (comma-separated; semicolons for authors, whose names may hold a comma:
    "Chen, Hao"), trimmed, empty ones dropped, duplicates removed."""
    if raw is None:
        return ()
    if len(raw) > MAX_FILTER_CHARS:
        raise FilterError(f"{name} is longer than {MAX_FILTER_CHARS} characters.")
    values = tuple(dict.fromkeys(" ".join(v.split()) for v in raw.split(separator) if v.strip()))
    if len(values) > MAX_FILTER_VALUES:
        raise FilterError(f"{name} takes at most {MAX_FILTER_VALUES} alternatives.")
    return values
