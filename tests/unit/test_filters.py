"""search.query.filters on its own: what each parameter means, and its round trip."""

from __future__ import annotations

import pytest

from search.base.errors import InvalidRequest
from search.query.filters import Filters, parse_year_range


@pytest.mark.parametrize(
    "raw, years",
    [(None, (None, None)), ("", (None, None)), ("2019", (2019, 2019)),
     ("2019-2021", (2019, 2021)), ("2020-", (2020, None)), ("-2015", (None, 2015)),
     (" 2019 - 2021 ", (2019, 2021))],
)  # fmt: skip
def test_year_forms(raw, years):
    assert parse_year_range(raw) == years


@pytest.mark.parametrize("raw", ["20x9", "2021-2019", "19", "2019-20-21", "-"])
def test_a_year_that_means_nothing_is_refused(raw):
    with pytest.raises(InvalidRequest) as caught:
        parse_year_range(raw)
    assert caught.value.status == 422 and caught.value.code == "invalid_parameter"


def test_filters_round_trip_through_their_parameters():
    filters = Filters.parse(year="2019-2021", venue="NeurIPS,Nature", category="cs.LG,math",
                            author="Chen, Hao;Luc Van Gool")  # fmt: skip
    assert filters.authors == ("Chen, Hao", "Luc Van Gool")  # names hold commas
    assert Filters.parse(**filters.to_params()) == filters
    assert filters.active and not Filters.parse().active
    assert Filters.parse(year="2020").to_params() == {"year": "2020"}
