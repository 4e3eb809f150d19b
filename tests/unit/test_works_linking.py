"""The rules versions are linked by (``indexer.works``): ids shared by a few papers link
them, by many link none; two DOIs never meet in one work, however the links chain; the
title matcher wants a real title, a first author and years within one."""

from __future__ import annotations

import numpy as np

from indexer.works.features import features, title_block
from indexer.works.linking import MAX_VERSIONS, LinkCounts, Linker, shared_keys, title_matches
from search.graph.works import BY_ID, BY_TITLE, Works


def test_a_key_shared_by_too_many_papers_links_none(tmp_path):
    keys = np.asarray([5, 5, 7] + [9] * (MAX_VERSIONS + 1), dtype=np.uint64)
    owners = np.asarray([0, 1, 2, *range(3, 3 + MAX_VERSIONS + 1)], dtype=np.int32)
    np.save(tmp_path / "k.npy", keys)
    np.save(tmp_path / "o.npy", owners)
    counts = LinkCounts()
    pairs = np.concatenate(list(shared_keys(tmp_path / "k.npy", tmp_path / "o.npy", counts)))
    assert pairs.tolist() == [[0, 1]] and counts.crowded_keys == 1


def test_two_dois_never_meet_in_one_work_however_links_chain():
    keys = np.zeros((4, 3), dtype=np.uint64)
    keys[0, 1], keys[2, 1] = 11, 22  # papers 0 and 2 have different DOIs; 1 and 3 none
    linker = Linker(keys)
    assert linker.union(0, 1, BY_ID) and linker.union(2, 3, BY_ID)
    assert not linker.union(1, 3, BY_TITLE)  # would join DOI 11 and DOI 22
    assert linker.find(0) != linker.find(2) and linker.counts.refused == 1


def test_a_work_has_at_most_max_versions():
    linker = Linker(np.zeros((MAX_VERSIONS + 2, 3), dtype=np.uint64))
    for other in range(1, MAX_VERSIONS + 2):
        linker.union(0, other, BY_ID)
    assert linker.counts.refused == 2 and len({linker.find(i) for i in range(MAX_VERSIONS)}) == 1


def test_title_matches_want_years_within_one():
    keys = np.zeros((5, 3), dtype=np.uint64)
    keys[:, 0] = [3, 3, 3, 3, 4]
    meta = np.zeros((5, 2), dtype=np.int16)
    meta[:, 0] = [2000, 2001, 2003, 0, 2000]  # 2003 is too late, 0 unknown
    pairs = [p for part in title_matches(keys, meta, 64) for p in part.tolist()]
    assert pairs == [[0, 1]]


def test_what_the_title_matcher_will_not_match():
    assert title_block("Reply to comments", ["Ann Lee"]) == 0  # too short to tell works apart
    assert title_block("A long enough title here", []) == 0  # no first author
    assert title_block("A long enough title here", ["Ann Lee"], derived=True) == 0
    same = title_block("$\\alpha$-Stable laws: a study.", ["Lee, Ann"])
    assert same == title_block("α-stable Laws, a Study", ["A. Lee"]) != 0


def test_the_primary_is_the_most_published_version():
    rows = [(1, "2301.00001", None, None, "T", False, [], 2023, None),  # an arXiv listing
            (2, "W2", "10.48550/arXiv.2301.00001", None, "T", False, [], 2023, "arXiv"),
            (3, "W3", "10.1/j", None, "T", False, [], 2024, "Journal")]  # fmt: skip
    keys, meta = features(rows)
    assert keys[1, 1] == 0 and keys[1, 2] == keys[0, 2] != 0  # arXiv's DOI is an arXiv id
    assert meta[:, 1].tolist() == [0, 1, 7]


def test_works_collapse_a_ranking_to_one_row_per_work():
    works = Works(np.asarray([[2, 5, BY_ID], [5, 5, 0], [7, 5, BY_TITLE]]))
    assert works.collapse([(7, 0.9), (1, 0.8), (2, 0.7), (5, 0.6)]) == [(5, 0.9), (1, 0.8)]
    assert works.versions(2) == [(5, 0), (2, BY_ID), (7, BY_TITLE)]
    assert works.count(None, 10) == 8 and works.count(np.asarray([2, 7, 9]), 10) == 2
