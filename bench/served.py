"""Benchmark: what serving one build's papers costs keyword queries (one build, one view).

    python bench/served.py

A server of build N reads only the papers N holds (``Papers.serving``). On SQLite, a
keyword query over the full-text index alone first asks whether any stored paper is
outside that build, and leaves those out only when there are some. This runs SciFact
train's 809 queries through the keyword ranking of a copy of the SciFact store
(``bench/fusion.py`` indexes it once) three ways, the best of 5 rounds that alternate: as the write
path reads it (every stored paper), as a server of the current build reads it, and as
that server reads it once 1% more papers are stored after the build (a re-index in
progress, or ``builds use`` of an older build).
"""

from __future__ import annotations

import dataclasses
import shutil
import sys
import tempfile
import time
from pathlib import Path

from fusion import collect
from workload import SHARED

ROUNDS = 5


def main() -> int:
    if not (SHARED / "scifact-train").exists():
        print(f"skipped: {SHARED / 'scifact-train'} not found (the shared data directory)")
        return 0
    from search.filters import Filters
    from search.settings import Settings
    from search.store import Store

    _, pairs, _, engine = collect("scifact-train", None)
    queries = [keywords for _, _, keywords, _ in pairs.values() if not keywords.empty]
    database = Path(engine.store.url.removeprefix("sqlite:///"))
    with tempfile.TemporaryDirectory() as tmp:
        shutil.copy(database, Path(tmp) / database.name)
        settings = Settings(home=Path(tmp))
        writer = Store.open(settings)
        build = writer.builds.current_id()

        def timed(*stores) -> list[float]:
            """ms a query for each store, the best of ROUNDS rounds that alternate their
            order (the machine's noise falls on both alike)."""
            best = [float("inf")] * len(stores)
            for round_ in range(ROUNDS):
                order = range(len(stores)) if round_ % 2 else reversed(range(len(stores)))
                for i in order:
                    started = time.perf_counter()
                    for keywords in queries:
                        stores[i].fulltext.rank(keywords, 100, Filters())
                    best[i] = min(best[i], time.perf_counter() - started)
            return [1000 * b / len(queries) for b in best]

        timed(writer, writer.serving(build))  # warm-up
        every, served = timed(writer, writer.serving(build))
        papers = list(writer.papers.get_many(range(1, len(queries) * 10)).values())
        later = [_record(p, f"later-{p.external_id}") for p in papers[: len(papers) // 100]]
        writer.papers.upsert(later)
        every_again, outside = timed(writer, writer.serving(build))
    print(f"SciFact train: {len(queries)} keyword queries, top 100, SQLite, best of {ROUNDS}")
    print(f"  every stored paper (the write path)        {every:6.2f} ms a query  1.000×")
    print(
        f"  the papers of build {build} (a server)           {served:6.2f} ms a query  "
        f"{served / every:.3f}×"
    )
    print(
        f"  the same, {len(later)} papers stored after the build  {outside:6.2f} ms a query  "
        f"{outside / every:.3f}×"
    )
    return 0


def _record(paper, external_id: str):
    from search.records import PaperRecord

    fields = {f.name for f in dataclasses.fields(PaperRecord)}
    values = {name: getattr(paper, name) for name in fields if hasattr(paper, name)}
    return PaperRecord(**{**values, "external_id": external_id})


if __name__ == "__main__":
    sys.exit(main())
