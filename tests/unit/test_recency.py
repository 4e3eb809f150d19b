"""search.store.recency on its own: the date order of sort=date, without a store."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from search.store.recency import UNDATED, Recency

YEARS = st.sampled_from([0, 1999, 2020, 2021])
DATES = st.sampled_from(["", "2020-01-05", "2020-12-31", "2021-06-01"])


@given(
    st.dictionaries(st.integers(1, 200), st.tuples(YEARS, DATES), max_size=60),
    st.lists(st.integers(1, 220), max_size=40),
)
def test_newest_first_is_a_stable_sort_by_year_then_date(keys, wanted):
    recency = Recency.of((i, year, date) for i, (year, date) in keys.items())
    order = recency.newest_first(wanted)
    expected = sorted(range(len(wanted)), key=lambda n: keys.get(wanted[n], (0, "")),
                      reverse=True)  # fmt: skip
    assert order.tolist() == expected


def test_ids_not_served_sort_with_the_undated_papers():
    recency = Recency.of([(1, 2020, ""), (2, 0, ""), (3, 2019, "2019-01-01")])
    assert recency.of_ids([2, 99]).tolist() == [UNDATED, UNDATED]
    assert recency.newest_first([2, 99, 3, 1]).tolist() == [3, 2, 0, 1]
    assert Recency.of([]).newest_first([5, 4]).tolist() == [0, 1]
