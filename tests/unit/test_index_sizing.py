"""search.ann.faiss_index's sizing arithmetic on its own."""

from __future__ import annotations

import pytest

from search.ann.faiss_index import (
    MIN_POINTS_PER_LIST,
    bytes_per_vector,
    choose_encoding,
    choose_nlist,
    default_nprobe,
    encoding_of,
)
from search.base.errors import SettingsError


def test_nlist_is_four_square_roots_and_needs_points_to_train():
    assert choose_nlist(1_000_000) == 4000
    assert choose_nlist(100) is None  # too few for an IVF index: exact search
    assert choose_nlist(10_000, override=50) == 50
    with pytest.raises(SettingsError):
        choose_nlist(100, override=100 // MIN_POINTS_PER_LIST + 1)


def test_the_most_exact_codes_that_fit_the_budget():
    assert bytes_per_vector("Flat", 768) == 3080 and bytes_per_vector("PQ96", 768) == 104
    assert choose_encoding(1000, 768, None) == "Flat"
    assert choose_encoding(100_000_000, 768, 100_000_000 * 104) == "PQ96"
    with pytest.raises(SettingsError, match="INDEX_MEMORY"):
        choose_encoding(100_000_000, 768, 1000)
    assert encoding_of("IVF273,SQ8") == "SQ8" and encoding_of("Flat") == "Flat"
    assert default_nprobe(4000) == 250 and default_nprobe(20) == 8
