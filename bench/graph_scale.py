"""The citation graph at scale (``bench/graph.py --part scale``): a generated corpus at
Semantic Scholar's density, written afresh and derived after a nightly change.

Each paper cites on average 12 papers of the corpus (uniform 0 to 24) and 4 outside it
(0 to 8), by DOI. Whom it cites follows a power law: the paper of popularity rank r
(a fixed random order) is cited in proportion to r^-0.6, so the most cited papers have
hundreds of thousands of citers and most have a few. Records are generated a batch at
a time from each id (the same record every time it is read), standing in for the store
(``indexer.graph.source.GraphSource``): the write time includes making them.
"""

from __future__ import annotations

import multiprocessing
import queue
import resource
import shutil
import time
from pathlib import Path

import numpy as np

BATCH = 20_000  # records at a time, as the store reads them
REFS, OUTSIDE = 12, 4  # each paper's references in and outside the corpus, on average
POWER = 2.5  # cited position = papers × u ** POWER: popularity rank r cited ∝ r ** (1/POWER - 1)


def splitmix(x: np.ndarray) -> np.ndarray:
    """SplitMix64 of each value: a counter-based random stream (the same for an id always)."""
    with np.errstate(over="ignore"):
        z = np.asarray(x, dtype=np.uint64) + np.uint64(0x9E3779B97F4A7C15)
        z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
        z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
        return z ^ (z >> np.uint64(31))


class GeneratedCorpus:
    """Papers 1..``papers`` (and any later ids), each with its record; ``updated`` ids
    have a second version of it (other references, another content hash)."""

    def __init__(self, papers: int, updated: np.ndarray | None = None) -> None:
        self.papers = papers
        self.popular = np.random.default_rng(7).permutation(papers).astype(np.int64) + 1
        self.updated = np.sort(updated) if updated is not None else np.zeros(0, np.int64)

    def _seeds(self, ids: np.ndarray) -> np.ndarray:
        return splitmix(ids * 2 + np.isin(ids, self.updated))

    def hashes(self, ids: np.ndarray) -> np.ndarray:
        return (self._seeds(ids) >> np.uint64(4)).astype(np.int64)

    def keys(self, ids):
        for start in range(0, len(ids), BATCH):
            batch = ids[start : start + BATCH].tolist()
            yield [(i, f"P{i}", f"10.5555/p{i}", None) for i in batch]

    def work_fields(self, ids):
        """Every paper a work of its own: its own DOI and title (``indexer.works``)."""
        for start in range(0, len(ids), BATCH):
            batch = ids[start : start + BATCH].tolist()
            yield [(i, f"P{i}", f"10.5555/p{i}", None, f"Generated paper number {i}", False,
                    [f"Author {i}"], 2000 + i % 25, None) for i in batch]  # fmt: skip

    def author_fields(self, ids):
        """Two authors a paper, one of them with an ORCID-like id."""
        for start in range(0, len(ids), BATCH):
            batch = ids[start : start + BATCH].tolist()
            yield [(i, [f"Author {i}", f"Author {i // 10}"], [[f"s2:{i}"], []]) for i in batch]

    def links(self, ids):
        for start in range(0, len(ids), BATCH):
            batch = ids[start : start + BATCH]
            yield self._records(batch)

    def _records(self, ids: np.ndarray) -> list[tuple]:
        seeds = self._seeds(ids)
        inside = (seeds % np.uint64(2 * REFS + 1)).astype(np.int64)
        outside = ((seeds >> np.uint64(20)) % np.uint64(2 * OUTSIDE + 1)).astype(np.int64)
        counts = inside + outside
        owner = np.repeat(np.arange(len(ids)), counts)
        place = np.arange(counts.sum()) - np.repeat(np.cumsum(counts) - counts, counts)
        draws = splitmix(seeds[owner] ^ (place.astype(np.uint64) + np.uint64(1)))
        rank = (self.papers * (draws / 2.0**64) ** POWER).astype(np.int64)
        cited = self.popular[np.minimum(rank, self.papers - 1)].tolist()
        is_inside = (place < inside[owner]).tolist()
        places = place.tolist()
        rows, at = [], 0
        for i, count in zip(ids.tolist(), counts.tolist(), strict=True):
            references = [
                f"doi:10.5555/p{cited[j]}" if is_inside[j] else f"doi:10.9999/x{i}.{places[j]}"
                for j in range(at, at + count)
            ]
            at += count
            rows.append((i, f"P{i}", f"10.5555/p{i}", None, references, None))
        return rows


def _child(job: dict, results) -> None:
    """One graph write in a process of its own, so that its peak RSS is its own."""
    from indexer import graph

    corpus = GeneratedCorpus(job["papers"], job.get("updated"))
    ids = job["ids"]
    previous = graph.PreviousGraph(1, Path(job["previous"])) if job.get("previous") else None
    written = graph.write(
        corpus,
        Path(job["target"]),
        ids,
        corpus.hashes(ids),
        previous=previous,
        memory=job["memory"],
    )
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    results.put(
        {
            "seconds": written.seconds,
            "edges": written.edges,
            "rss": peak,
            "derived": written.derived_from is not None,
        }
    )


def write_in_child(**job) -> dict:
    return in_child(_child, job)


def in_child(child, job: dict) -> dict:
    """``child(job, results)`` run in a process of its own (its peak RSS is its own); what
    it put in ``results``. A child that dies without answering is an error, not a hang."""
    context = multiprocessing.get_context("spawn")
    results = context.Queue()
    process = context.Process(target=child, args=(job, results))
    process.start()
    while True:
        try:
            found = results.get(timeout=5)
            break
        except queue.Empty:
            if not process.is_alive():
                raise SystemExit(f"the benchmark's child exited with {process.exitcode}") from None
    process.join()
    return found


def percentiles(seconds: list[float]) -> str:
    ms = np.asarray(seconds) * 1000
    return f"p50 {np.percentile(ms, 50):7.2f} ms   p95 {np.percentile(ms, 95):7.2f} ms"


def measure_pages(directory: Path, samples: int) -> None:
    """A references and a cited-by page (the first 20 in-corpus citation order, as an
    arXiv corpus sorts them) and connected papers' graph part, for random papers."""
    from search.engine import connected
    from search.graph.reader import CitationGraph

    graph = CitationGraph(directory)
    rng = np.random.default_rng(3)
    chosen = rng.choice(np.asarray(graph.papers), samples, replace=False)
    ranker = connected.ConnectedPapers(None, graph)
    for direction in ("references", "cited_by"):
        times = []
        for paper in chosen.tolist():
            started = time.perf_counter()
            ids = graph.linked(paper, direction)
            cited = graph.cited_by_counts(ids)
            page = ids[np.argsort(-cited, kind="stable")[:20]]
            graph.counts(paper)
            times.append(time.perf_counter() - started)
            assert len(page) <= 20
        print(f"  {direction:<12} page          {percentiles(times)}", flush=True)
    times, largest = [], 0
    for paper in chosen.tolist():
        started = time.perf_counter()
        coupled, _ = ranker._through(paper, "references", "cited_by")
        cocited, _ = ranker._through(paper, "cited_by", "references")
        ids, _, _ = connected._blend(coupled, cocited, [], paper)
        times.append(time.perf_counter() - started)
        largest = max(largest, len(ids))
    print(
        f"  connected (graph part) {percentiles(times)}   largest candidate set {largest:,}; "
        f"caps: {connected.MAX_LINKED:,} references and citers read, linked papers with "
        f"more than {connected.MAX_FANOUT:,} links skipped",
        flush=True,
    )


def run(papers: int, memory: int, work: Path, samples: int) -> None:
    from search.graph.files import DIRECTIONS, PAPERS, indices_file, indptr_file

    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    ids = np.arange(1, papers + 1, dtype=np.int64)
    print(
        f"graph at scale: {papers:,} papers, about {REFS} references in the corpus and "
        f"{OUTSIDE} outside it each; build memory {memory / 2**30:.1f} GiB",
        flush=True,
    )
    full = write_in_child(papers=papers, ids=ids, target=str(work / "build-1.graph"), memory=memory)
    first = work / "build-1.graph"
    served = (
        sum((first / f(d)).stat().st_size for d in DIRECTIONS for f in (indptr_file, indices_file))
        + (first / PAPERS).stat().st_size
    )
    total = sum(p.stat().st_size for p in first.iterdir())
    print(
        f"  full write        {full['seconds']:8.1f} s   {full['edges']:,} edges   "
        f"peak RSS {full['rss'] / 2**30:.2f} GiB",
        flush=True,
    )
    print(
        f"  bytes an edge: {served / full['edges']:.1f} served (both directions and the "
        f"papers), {total / full['edges']:.1f} with what derivation keeps",
        flush=True,
    )
    measure_pages(first, samples)

    rng = np.random.default_rng(11)
    shuffled = rng.permutation(ids)
    gone = shuffled[: papers // 1000]  # 0.1% withdrawn
    updated = shuffled[papers // 1000 : papers // 1000 + papers // 200]  # 0.5% new versions
    added = np.arange(papers + 1, papers + 1 + papers * 4 // 1000, dtype=np.int64)  # 0.4% new
    nightly = np.union1d(np.setdiff1d(ids, gone), added)
    derived = write_in_child(
        papers=papers,
        ids=nightly,
        updated=updated,
        target=str(work / "build-2.graph"),
        previous=str(first),
        memory=memory,
    )
    assert derived["derived"], "the nightly graph was not derived"
    fresh = write_in_child(
        papers=papers,
        ids=nightly,
        updated=updated,
        target=str(work / "fresh-2.graph"),
        memory=memory,
    )
    same = all(
        np.array_equal(
            np.load(work / "build-2.graph" / name, mmap_mode="r"),
            np.load(work / "fresh-2.graph" / name, mmap_mode="r"),
        )
        for name in sorted(p.name for p in first.glob("*.npy"))
    )
    print(
        f"  nightly, 1% changed (0.1% withdrawn, 0.5% updated, 0.4% new): derived "
        f"{derived['seconds']:.1f} s, peak RSS {derived['rss'] / 2**30:.2f} GiB; "
        f"written afresh {fresh['seconds']:.1f} s",
        flush=True,
    )
    print(
        f"  nightly / full write: {derived['seconds'] / fresh['seconds']:.3f}   "
        f"(goal <= 0.10); derived graph identical to the fresh one: {same}",
        flush=True,
    )
    print(
        f"  peak RSS / build memory: full {full['rss'] / memory:.2f}, nightly "
        f"{derived['rss'] / memory:.2f}   (goal <= 1)",
        flush=True,
    )
    shutil.rmtree(work, ignore_errors=True)
