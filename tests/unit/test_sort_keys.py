"""search.store.sort_keys on its own: the orders of sort=date and sort=citations."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from search.store.sort_keys import LOWEST, SortKeys

YEARS = st.sampled_from([0, 1999, 2020, 2021])
DATES = st.sampled_from(["", "2020-01-05", "2020-12-31", "2021-06-01"])


@given(
    st.dictionaries(st.integers(1, 200), st.tuples(YEARS, DATES), max_size=60),
    st.lists(st.integers(1, 220), max_size=40),
)
def test_newest_first_is_a_stable_sort_by_year_then_date(keys, wanted):
    recency = SortKeys.of((i, year, date) for i, (year, date) in keys.items())
    order = recency.highest_first(wanted)
    expected = sorted(range(len(wanted)), key=lambda n: keys.get(wanted[n], (0, "")),
                      reverse=True)  # fmt: skip
    assert order.tolist() == expected


@given(
    st.dictionaries(st.integers(1, 200), st.one_of(st.none(), st.integers(0, 5)), max_size=60),
    st.lists(st.integers(1, 220), max_size=40),
)
def test_most_cited_first_puts_papers_without_a_count_with_the_unknown(counts, wanted):
    keys = SortKeys.of(((i, -1 if n is None else n, "") for i, n in counts.items()),
                       unknown=(-1, ""))  # fmt: skip
    order = keys.highest_first(wanted)
    expected = sorted(range(len(wanted)), key=lambda n: -1 if counts.get(wanted[n]) is None
                      else counts[wanted[n]], reverse=True)  # fmt: skip
    assert order.tolist() == expected


def test_ids_not_served_sort_with_the_undated_papers():
    recency = SortKeys.of([(1, 2020, ""), (2, 0, ""), (3, 2019, "2019-01-01")])
    assert recency.of_ids([2, 99]).tolist() == [LOWEST, LOWEST]
    assert recency.highest_first([2, 99, 3, 1]).tolist() == [3, 2, 0, 1]
    assert SortKeys.of([]).highest_first([5, 4]).tolist() == [0, 1]
