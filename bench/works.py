"""Benchmark: versions of one work (``indexer.works``), the title matcher's quality and
linking at scale.

    python bench/works.py [--part matcher|scale|both] [--papers 1000000,10000000]
                          [--duplicates 0.1] [--memory 2GB]

matcher: the conservative title matcher on a labelled sample built from linked pairs.
Each hep-th paper of ../shared/data whose arXiv record gives a journal reference with a
year is a preprint linked to its published version; the published record is the one a
journal's metadata gives: the journal's year (from the reference), the title as
journals typeset it (title case, a final period, TeX math as text, one of them chosen
per paper) and the first author's given names as initials. The matcher runs on every
preprint and every published record together, with no ids; a link between a preprint
and its own published record is right, any other link is wrong. Prints precision and
recall. Skips cleanly without the shared data.

scale: a generated corpus of N papers of which a share (``--duplicates``) are second
versions of another paper, half linked by a DOI both records give, half by title alone
(the same title and first author, a year later): the works and the author index written
afresh, then again after a nightly change to 1% of the papers (the unchanged papers'
features and author keys carried over), and authors' papers looked up in the index.
Each run is a process of its own (its peak RSS is its own); the baseline in the same
run is one pass reading every record's fields, what any linking must at least do.
"""

from __future__ import annotations

import argparse
import gzip
import json
import random
import re
import resource
import shutil
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from graph_scale import BATCH, in_child, splitmix
from workload import SHARED

HEPTH = SHARED / "hepth-citations" / "works.jsonl.gz"
JOURNAL_YEAR = re.compile(r"\((1[89]\d\d|20\d\d)\)")


def published_title(title: str, rng: random.Random) -> str:
    """The title as a journal's metadata may give it."""
    styles = [
        lambda t: t,
        lambda t: t.title(),
        lambda t: t.rstrip(".") + ".",
        lambda t: re.sub(r"\$([^$]*)\$", r"\1", t).replace("\\", ""),
        lambda t: t[:1].upper() + t[1:].lower(),
    ]
    return rng.choice(styles)(title)


def initials(name: str) -> str:
    words = name.split()
    return " ".join([*(w[0] + "." for w in words[:-1]), *words[-1:]])


def matcher() -> None:
    from indexer.works.features import features

    if not HEPTH.exists():
        print(f"skipped: {HEPTH} is not there")
        return
    rows, truth = [], {}
    rng = random.Random(7)
    with gzip.open(HEPTH, "rt") as lines:
        for line in lines:
            work = json.loads(line)
            authors = [a["author"]["display_name"] for a in work.get("authorships") or []]
            paper = len(rows)
            rows.append((paper, work["id"], None, None, work["title"], False, authors,
                         work.get("publication_year"), None))  # fmt: skip
            year = JOURNAL_YEAR.search(work.get("journal_ref") or "")
            if year and authors:
                truth[len(rows)] = paper
                rows.append((len(rows), f"journal:{work['id']}", None, None,
                             published_title(work["title"], rng),
                             False, [initials(authors[0]), *authors[1:]], int(year.group(1)),
                             work["journal_ref"]))  # fmt: skip
    keys, meta = features(rows)
    preprint = np.ones(len(rows), dtype=bool)
    preprint[list(truth)] = False
    for label, kept in (("title evidence alone (no ids)", False),
                        ("as built (preprints keep their arXiv ids)", True)):  # fmt: skip
        ids = keys.copy()
        ids[:, 1] = 0
        if not kept:
            ids[:, 2] = 0
        right, wrong = _links(ids, meta, truth)
        precision, recall = right / max(right + wrong, 1), right / len(truth)
        print(f"{label}: pairs linked {right + wrong:,}, right {right:,}, wrong {wrong:,}; "
              f"precision {precision:.4f}, recall {recall:.4f}")  # fmt: skip
    print(f"labelled sample: {int(preprint.sum()):,} hep-th preprints, {len(truth):,} with a "
          f"published record (journal reference with a year)")  # fmt: skip


def _links(keys: np.ndarray, meta: np.ndarray, truth: dict[int, int]) -> tuple[int, int]:
    """(right, wrong) pairs among the works the title matcher makes of the records."""
    from indexer.works.linking import Linker, title_matches
    from search.graph.works import BY_TITLE

    linker = Linker(keys)
    for pairs in title_matches(keys, meta, 1 << 30):
        for a, b in pairs.tolist():
            linker.union(a, b, BY_TITLE)
    groups: dict[int, list[int]] = {}
    for position in linker.linked:
        groups.setdefault(linker.find(position), []).append(position)
    right = wrong = 0
    for members in groups.values():  # every pair a work puts together
        members.sort()
        for i, a in enumerate(members):
            for b in members[i + 1 :]:
                right += truth.get(b) == a or truth.get(a) == b
                wrong += not (truth.get(b) == a or truth.get(a) == b)
    return right, wrong


class DuplicatedCorpus:
    """Papers 1..N; a paper whose predecessor is not itself a version is, with
    probability ``rate``, a second version of it: by DOI (even ids) or by title (odd)."""

    def __init__(self, papers: int, rate: float, updated: np.ndarray | None = None) -> None:
        self.papers, self.rate = papers, rate
        self.updated = np.sort(updated) if updated is not None else np.zeros(0, np.int64)

    def second(self, ids: np.ndarray) -> np.ndarray:
        draw = (splitmix(ids * 7 + 1) >> np.uint64(11)) / 2.0**53
        previous = (splitmix((ids - 1) * 7 + 1) >> np.uint64(11)) / 2.0**53
        return (draw < self.rate) & ~(previous < self.rate) & (ids > 1)

    def hashes(self, ids: np.ndarray) -> np.ndarray:
        return (splitmix(ids * 2 + np.isin(ids, self.updated)) >> np.uint64(4)).astype(np.int64)

    def _fields(self, ids: np.ndarray) -> list[tuple]:
        second = self.second(ids).tolist()
        rows = []
        for i, is_second in zip(ids.tolist(), second, strict=True):
            base = i - 1 if is_second else i
            doi = f"10.5555/p{base}" if not is_second or i % 2 == 0 else f"10.7777/j{i}"
            if not is_second and self.second(np.asarray([i + 1]))[0] and (i + 1) % 2 == 1:
                doi = None  # its journal version is linked by title alone
            title = f"Generated paper number {base} of the corpus"
            year = 2000 + base % 25 + is_second
            rows.append((i, f"P{i}", doi, None, title, False, [f"Author {base}"], year, None))
        return rows

    def work_fields(self, ids):
        for start in range(0, len(ids), BATCH):
            yield self._fields(ids[start : start + BATCH])

    def author_fields(self, ids):
        for rows in self.work_fields(ids):
            yield [(row[0], row[6], []) for row in rows]

    def keys(self, ids):
        for rows in self.work_fields(ids):
            yield [row[:4] for row in rows]

    def links(self, ids):
        for rows in self.work_fields(ids):
            yield [(*row[:4], None, None) for row in rows]


def _child(job: dict, results) -> None:
    from indexer import graph

    corpus = DuplicatedCorpus(job["papers"], job["rate"], job.get("updated"))
    ids = np.arange(1, job["papers"] + 1, dtype=np.int64)
    if job.get("baseline"):
        started = time.perf_counter()
        read = sum(len(rows) for rows in corpus.work_fields(ids))
        results.put({"seconds": time.perf_counter() - started, "read": read})
        return
    previous = graph.PreviousGraph(1, Path(job["previous"])) if job.get("previous") else None
    written = graph.write(corpus, Path(job["target"]), ids, corpus.hashes(ids),
                          previous=previous, memory=job["memory"])  # fmt: skip
    works = written.works
    planted = int(corpus.second(ids).sum())
    results.put({"seconds": works.seconds, "graph": written.seconds, "read": works.read,
                 "versions": works.versions, "works": works.works, "planted": planted,
                 "rss": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024,
                 "counts": works.summary(), "authors": written.authors_seconds,
                 "lookup": author_lookups(Path(job["target"]), job["papers"])})  # fmt: skip


def author_lookups(directory: Path, papers: int, samples: int = 2000) -> list[float]:
    """(p50, p95) ms of an author's papers found in the written index, for random authors."""
    from search.graph.authors import AuthorIndex

    index, rng = AuthorIndex(directory), np.random.default_rng(11)
    seconds, found = [], 0
    for base in rng.integers(1, papers, samples).tolist():
        started = time.perf_counter()
        papers_of, _ = index.papers_of([f"name:author {base}"], 20_000)
        seconds.append(time.perf_counter() - started)
        found += len(papers_of) > 0  # a second version's number names no author
    assert found > samples // 2, found
    return [float(np.percentile(seconds, q)) * 1000 for q in (50, 95)]


def run_in_child(**job) -> dict:
    return in_child(_child, job)


def scale(papers: int, rate: float, memory: int) -> None:
    work = Path(tempfile.mkdtemp(prefix="works-bench-"))
    try:
        base = run_in_child(papers=papers, rate=rate, memory=memory, baseline=True)
        full = run_in_child(papers=papers, rate=rate, memory=memory, target=str(work / "g1"))
        updated = np.random.default_rng(3).choice(np.arange(1, papers + 1), papers // 100,
                                                  replace=False)  # fmt: skip
        nightly = run_in_child(papers=papers, rate=rate, memory=memory, target=str(work / "g2"),
                           previous=str(work / "g1"), updated=updated)  # fmt: skip
        found = full["works"] and full["versions"] - full["works"]
        print(f"{papers:,} papers, {full['planted']:,} planted second versions "
              f"({rate:.0%} rate): {found:,} found, "
              f"refused {full['counts']['refused']:,}")  # fmt: skip
        print(f"  reading every record once (baseline): {base['seconds']:8.1f} s")
        gib = 2**30
        print(
            f"  works written afresh: {full['seconds']:8.1f} s "
            f"({full['seconds'] / base['seconds']:.2f}x the baseline), peak RSS "
            f"{full['rss'] / gib:.2f} GiB (graph and works; memory {memory / gib:.1f} GiB)"
        )
        print(f"  author index written afresh: {full['authors']:8.1f} s "
              f"({full['authors'] / base['seconds']:.2f}x the baseline); after the nightly "
              f"change {nightly['authors']:.1f} s; an author's papers found in "
              f"p50 {full['lookup'][0]:.3f} ms, p95 {full['lookup'][1]:.3f} ms")  # fmt: skip
        print(
            f"  after a nightly change to 1%: {nightly['seconds']:8.1f} s "
            f"({nightly['seconds'] / full['seconds']:.3f} of afresh), "
            f"{nightly['read']:,} records read, peak RSS {nightly['rss'] / gib:.2f} GiB"
        )
    finally:
        shutil.rmtree(work, ignore_errors=True)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--part", choices=("matcher", "scale", "both"), default="both")
    parser.add_argument("--papers", default="1000000,10000000")
    parser.add_argument("--duplicates", type=float, default=0.1)
    parser.add_argument("--memory", default="2GB")
    args = parser.parse_args()
    from search.base.units import parse_size

    if args.part in ("matcher", "both"):
        matcher()
    if args.part in ("scale", "both"):
        for papers in (int(p) for p in args.papers.split(",")):
            scale(papers, args.duplicates, parse_size(args.memory))
    return 0


if __name__ == "__main__":
    sys.exit(main())
