"""Benchmark: what serving one build's papers costs keyword queries (one build, one view).

    python bench/served.py                       # SQLite
    python bench/served.py --database-url URL    # PostgreSQL (after bench/fusion.py on it)

A server of build N reads only the papers N holds (``Papers.serving``). On SQLite, a
keyword query over the full-text index alone first asks whether any stored paper is
outside that build, and leaves those out only when there are some; on PostgreSQL the
condition is one more column test on rows the query reads anyway. This runs SciFact
train's 809 queries through the keyword ranking of a copy of the SciFact store
(``bench/fusion.py`` indexes it once; on PostgreSQL the copy is a database made from
it as a template) three ways, the best of 5 rounds that alternate: as the write
path reads it (every stored paper), as a server of the current build reads it, and as
that server reads it once 1% more papers are stored after the build (a re-index in
progress, or ``builds use`` of an older build).
"""

from __future__ import annotations

import argparse
import dataclasses
import shutil
import sys
import tempfile
import time
from pathlib import Path

from fusion import collect
from workload import SHARED

ROUNDS = 5  # 3 on PostgreSQL, whose keyword queries take ten times as long


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url", help="a PostgreSQL server (bench/fusion.py's)")
    args = parser.parse_args()
    if not (SHARED / "scifact-train").exists():
        print(f"skipped: {SHARED / 'scifact-train'} not found (the shared data directory)")
        return 0
    from search.filters import Filters
    from search.settings import Settings
    from search.store import Store

    rounds = 3 if args.database_url else ROUNDS
    _, pairs, _, engine = collect("scifact-train", args.database_url)
    queries = [keywords for _, _, keywords, _ in pairs.values() if not keywords.empty]
    source = engine.store.sessions.kw["bind"]
    with tempfile.TemporaryDirectory() as tmp:
        if args.database_url:
            url = _copy_database(args.database_url, source.url.database, "bench_served")
            settings = Settings(home=Path(tmp), database_url=url)
        else:
            database = Path(source.url.database)
            shutil.copy(database, Path(tmp) / database.name)
            settings = Settings(home=Path(tmp))
        writer = Store.open(settings)
        build = writer.builds.current_id()

        def timed(*stores) -> list[float]:
            """ms a query for each store, the best of ROUNDS rounds that alternate their
            order (the machine's noise falls on both alike)."""
            best = [float("inf")] * len(stores)
            for round_ in range(rounds):
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
    store = "PostgreSQL" if args.database_url else "SQLite"
    print(f"SciFact train: {len(queries)} keyword queries, top 100, {store}, best of {rounds}")
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


def _copy_database(server_url: str, template: str, name: str) -> str:
    from sqlalchemy import create_engine, make_url, text

    admin = create_engine(server_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        conn.execute(  # a template must have no sessions: this process's pools still do
            text("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = :t"),
            {"t": template},
        )
        conn.execute(text(f'CREATE DATABASE "{name}" TEMPLATE "{template}"'))
    admin.dispose()
    return make_url(server_url).set(database=name).render_as_string(False)


def _record(paper, external_id: str):
    from search.records import PaperRecord

    fields = {f.name for f in dataclasses.fields(PaperRecord)}
    values = {name: getattr(paper, name) for name in fields if hasattr(paper, name)}
    return PaperRecord(**{**values, "external_id": external_id})


if __name__ == "__main__":
    sys.exit(main())
