"""indexer.fields on its own: the values readers take from a record."""

from __future__ import annotations

import pytest

from indexer.fields import BadRecord, date_of, identifier, split_author_string, year_of


def test_years_and_dates():
    assert year_of(2019) == 2019 and year_of("2019") == 2019 and year_of(None) is None
    assert date_of("2021-03-04") == "2021-03-04"
    assert date_of(None) is None


def test_an_identifier_is_required():
    assert identifier(" 2212.09525 ", "id") == "2212.09525"
    with pytest.raises(BadRecord):
        identifier(None, "id")


def test_author_strings_split_into_names():
    assert split_author_string("Hao Chen and Luc Van Gool") == ["Hao Chen", "Luc Van Gool"]
