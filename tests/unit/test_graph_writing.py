"""The citation graph's writers against each other and against a plain reading of the
records: a graph derived from the previous build's equals the one written afresh, after
random changes of every kind (new, updated and withdrawn papers, keys taken over and
shared, pending references finding their paper, citers lists, files of edges), and a
full write in many small buckets equals one in memory."""

from __future__ import annotations

import random

import numpy as np
import pytest

from indexer import graph
from indexer.graph import rows as graph_rows
from indexer.graph.spill import ArrayFile
from search.graph.files import CLAIMS, GraphManifest, indices_file, indptr_file
from search.graph.keys import key_hashes
from search.graph.reader import CitationGraph

BATCH = 7  # records read at a time: batches end mid-corpus


class Records:
    """A corpus as ``GraphSource`` reads it: id → (external id, DOI, other keys,
    references, citers)."""

    def __init__(self, papers: dict[int, tuple]) -> None:
        self.papers = dict(papers)

    def ids(self) -> np.ndarray:
        return np.asarray(sorted(self.papers), dtype=np.int64)

    def hashes(self) -> np.ndarray:
        return np.asarray([hash(repr(self.papers[i])) & (2**62 - 1) for i in self.ids()])

    def keys(self, ids):
        rows = [(int(i), *self.papers[int(i)][:3]) for i in ids]
        for start in range(0, len(rows), BATCH):
            yield rows[start : start + BATCH]

    def work_fields(self, ids):
        """Titles, first authors and years that many papers share: versions matched by
        title, across updates, as well as by shared DOIs and arXiv ids."""
        rows = [(int(i), *self.papers[int(i)][:3], f"A study of topic {i % 40} in depth",
                 False, [f"Ann Surname{i % 3}"], 2000 + i % 4, None) for i in ids]  # fmt: skip
        for start in range(0, len(rows), BATCH):
            yield rows[start : start + BATCH]

    def author_fields(self, ids):
        """Names many papers share, and ids some give (changing with the record): the
        author index's keys."""
        rows = [(int(i), [f"Ann Surname{i % 3}", f"Bo Other{len(repr(self.papers[int(i)])) % 7}"],
                 [[f"orcid:0000-0002-1825-009{i % 2}"], []]) for i in ids]  # fmt: skip
        for start in range(0, len(rows), BATCH):
            yield rows[start : start + BATCH]

    def links(self, ids):
        rows = [(int(i), *self.papers[int(i)]) for i in ids]
        for start in range(0, len(rows), BATCH):
            yield rows[start : start + BATCH]


def paper(rng: random.Random, number: int, known: int) -> tuple:
    """Paper ``number``'s record: a DOI most of the time, sometimes an arXiv id or a DOI
    another paper has too; references by DOI or arXiv id, alternatives, unknown ids."""
    doi = f"10.1/{number}" if rng.random() < 0.8 else None
    if rng.random() < 0.05:
        doi = f"10.1/{rng.randrange(known)}"  # a DOI two papers claim
    other = [f"arxiv:2101.{number:05d}"] if rng.random() < 0.3 else []
    references = []
    for _ in range(rng.randrange(8)):
        cited = rng.randrange(known + 5)
        choice = rng.random()
        if choice < 0.5:
            references.append(f"doi:10.1/{cited}")
        elif choice < 0.7:
            references.append([f"doi:10.1/{cited}", f"arxiv:2101.{cited:05d}"])
        elif choice < 0.85:
            references.append(f"arxiv:2101.{cited:05d}")
        else:
            references.append(f"id:P{cited}")
    citers = [f"doi:10.1/{rng.randrange(known + 5)}"] if rng.random() < 0.1 else []
    return f"P{number}", doi, other, references, citers


def arrays(directory) -> dict[str, np.ndarray]:
    names = GraphManifest.read(directory).files
    return {name: np.load(directory / name) for name in names}


def edge_pairs(rng: random.Random, known: int) -> np.ndarray:
    pairs = [(f"doi:10.1/{rng.randrange(known)}", f"id:P{rng.randrange(known)}") for _ in range(30)]
    return np.unique(
        np.stack([key_hashes(a for a, _ in pairs), key_hashes(b for _, b in pairs)], 1), axis=0
    )


@pytest.mark.parametrize("seed", range(12))
def test_a_derived_graph_equals_one_written_afresh(tmp_path, seed):
    rng = random.Random(seed)
    known = 60
    records = Records({n: paper(rng, n, known) for n in range(1, known)})
    pairs = edge_pairs(rng, known) if seed % 3 == 0 else np.zeros((0, 2), np.uint64)
    digest = "d" if len(pairs) else ""
    first = graph.write(records, tmp_path / "build-1.graph", records.ids(), records.hashes(),
                        edges=(pairs, digest))  # fmt: skip
    assert first.derived_from is None
    previous = graph.PreviousGraph(1, tmp_path / "build-1.graph")
    for day in range(2, 5):
        ids = list(records.papers)
        for gone in rng.sample(ids, 2):  # withdrawn
            del records.papers[gone]
        for changed in rng.sample(list(records.papers), 3):  # updated
            records.papers[changed] = paper(rng, changed, known)
        for _ in range(3):  # new, some taking over a key or fulfilling a pending reference
            known += 1
            records.papers[known] = paper(rng, known, known)
        target = tmp_path / f"build-{day}.graph"
        derived = graph.write(records, target, records.ids(), records.hashes(),
                              edges=(pairs, digest), previous=previous)  # fmt: skip
        assert derived.derived_from == day - 1
        fresh = graph.write(records, tmp_path / f"fresh-{day}.graph", records.ids(),
                            records.hashes(), edges=(pairs, digest))  # fmt: skip
        assert fresh.derived_from is None and derived.edges == fresh.edges
        got, want = arrays(target), arrays(tmp_path / f"fresh-{day}.graph")
        for name in want:
            np.testing.assert_array_equal(got[name], want[name], err_msg=f"{name}, day {day}")
        previous = graph.PreviousGraph(day, target)


def test_an_edge_passes_to_the_paper_that_shares_the_key_of_a_withdrawn_one(tmp_path):
    """Papers 1 and 2 both claim one DOI (1 holds it, the lower id); a file of edges says 3
    cites it and paper 4's references name it. Once 1 is withdrawn, both go to 2."""
    records = Records({
        1: ("P1", "10.1/shared", [], [], []),
        2: ("P2", "10.1/shared", [], [], []),
        3: ("P3", None, [], [], []),
        4: ("P4", None, [], ["doi:10.1/shared"], []),
    })  # fmt: skip
    pairs = np.stack([key_hashes(["id:P3"]), key_hashes(["doi:10.1/shared"])], 1)
    graph.write(records, tmp_path / "g1", records.ids(), records.hashes(), edges=(pairs, "d"))
    assert set(CitationGraph(tmp_path / "g1").linked(1, "cited_by").tolist()) == {3, 4}
    del records.papers[1]
    previous = graph.PreviousGraph(1, tmp_path / "g1")
    derived = graph.write(records, tmp_path / "g2", records.ids(), records.hashes(),
                          edges=(pairs, "d"), previous=previous)  # fmt: skip
    assert derived.derived_from == 1
    assert set(CitationGraph(tmp_path / "g2").linked(2, "cited_by").tolist()) == {3, 4}


def test_a_change_too_large_for_memory_or_for_derivation_is_written_afresh(tmp_path):
    """The fallback writes afresh into the directory a derivation began (its keys written):
    the same graph as a fresh write."""
    rng = random.Random(3)
    records = Records({n: paper(rng, n, 40) for n in range(1, 40)})
    graph.write(records, tmp_path / "g1", records.ids(), records.hashes())
    previous = graph.PreviousGraph(1, tmp_path / "g1")
    records.papers[5] = paper(rng, 5, 40)
    small = graph.write(records, tmp_path / "g2", records.ids(), records.hashes(),
                        previous=previous, memory=1)  # fmt: skip
    assert small.derived_from is None  # its claims resolved again would not fit
    graph.write(records, tmp_path / "fresh", records.ids(), records.hashes())
    got, want = arrays(tmp_path / "g2"), arrays(tmp_path / "fresh")
    for name in want:
        np.testing.assert_array_equal(got[name], want[name], err_msg=name)
    for number in range(1, 20):
        records.papers[number] = paper(rng, number, 40)
    many = graph.write(records, tmp_path / "g3", records.ids(), records.hashes(), previous=previous)
    assert many.derived_from is None  # half the papers changed


def test_the_graph_is_what_the_records_say(tmp_path):
    """Each paper's references, read plainly: first known key, lowest id for a shared key,
    no self-citation or repeat; citers as edges towards the paper."""
    rng = random.Random(99)
    records = Records({n: paper(rng, n, 80) for n in range(1, 80)})
    graph.write(records, tmp_path / "g", records.ids(), records.hashes())
    owner: dict[str, int] = {}
    for number in sorted(records.papers):
        external, doi, other, _, _ = records.papers[number]
        for key in (f"id:{external}", f"doi:{doi}" if doi else None, *other):
            if key:
                owner.setdefault(key, number)
    expected = set()
    for number, (_, _, _, references, citers) in records.papers.items():
        for entry in references:
            found = next(
                (owner[k] for k in (entry if isinstance(entry, list) else [entry]) if k in owner),
                None,
            )
            if found is not None and found != number:
                expected.add((number, found))
        for key in citers:
            if key in owner and owner[key] != number:
                expected.add((owner[key], number))
    read = CitationGraph(tmp_path / "g")
    got = {(int(p), int(c)) for p in records.ids() for c in read.own(int(p), "references")}
    assert got == expected
    cited = {(int(c), int(p)) for p in records.ids() for c in read.own(int(p), "cited_by")}
    assert cited == expected


def test_spilled_rows_in_many_buckets_equal_rows_in_one(tmp_path, monkeypatch):
    rng = random.Random(5)
    records = Records({n: paper(rng, n, 300) for n in range(1, 300)})
    graph.write(records, tmp_path / "one", records.ids(), records.hashes())
    monkeypatch.setattr(graph_rows, "ROWS_PER_BUCKET", 7)
    graph.write(records, tmp_path / "many", records.ids(), records.hashes())
    one, many = arrays(tmp_path / "one"), arrays(tmp_path / "many")
    for name in one:
        np.testing.assert_array_equal(one[name], many[name], err_msg=name)
    assert len(one[indices_file(CLAIMS)]) and len(one[indptr_file(CLAIMS)]) == 300


def test_an_array_file_of_unknown_length_is_a_npy_file(tmp_path):
    for length in (0, 1, 1000):
        out = ArrayFile(tmp_path / "a.npy", np.int32)
        for start in range(0, length, 300):
            out.write(np.arange(start, min(length, start + 300)))
        out.close()
        np.testing.assert_array_equal(np.load(tmp_path / "a.npy"), np.arange(length))
