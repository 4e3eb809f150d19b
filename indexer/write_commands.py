"""``papersearch index``, ``reindex`` and ``builds``: the command-line face of the write path."""

from __future__ import annotations

import json
import logging
import time
import traceback
from collections.abc import Callable
from datetime import datetime, timezone
from pathlib import Path

import click

from indexer.build_lifecycle import ASKED
from indexer.lock import AlreadyRunning
from indexer.pipeline import RunSummary, index_corpus, run
from indexer.readers import FORMATS
from search.base import logs
from search.base.errors import PapersearchError
from search.base.metrics import write_reindex_outcome
from search.base.settings import Settings
from search.cli.options import JSON_OPTION, settings_options
from search.store import Store

log = logging.getLogger("papersearch.indexer")
FORMAT_OPTION = click.option(
    "--format",
    "fmt",
    type=click.Choice(("auto",) + FORMATS),
    default="auto",
    show_default=True,
    help="Corpus layout; auto detects it from the file (a folder is read as PDFs).",
)
REJECTS_OPTION = click.option(
    "--rejects",
    type=click.Path(path_type=Path),
    help="Where to write rejected records (JSON Lines).",
)
CORPUS_ARGUMENT = click.argument("corpus", nargs=-1, required=True, type=click.Path(path_type=Path))


def print_summary(summary: RunSummary, as_json: bool) -> None:
    if as_json:
        click.echo(json.dumps(summary.to_dict()))
        return
    click.echo(
        f"read {summary.read}: added {summary.added}, updated {summary.updated}, "
        f"unchanged {summary.unchanged}, removed {summary.removed}; "
        f"rejected {summary.rejected}, duplicates {summary.duplicates}"
    )
    if summary.warnings:
        fields = ", ".join(f"{name} {count}" for name, count in summary.dropped_fields.items())
        papers = "1 paper" if summary.warnings == 1 else f"{summary.warnings} papers"
        click.echo(f"kept {papers} after dropping a bad optional field ({fields})")
    click.echo(
        f"embedded {summary.embedded} in {summary.seconds:.1f} s total "
        f"({summary.papers_per_second:.1f} papers/s)"
    )
    if not summary.published:
        click.echo(
            f"nothing changed: build {summary.build_id} stays current ({summary.index_type}, "
            f"{summary.vector_count} vectors); nothing published, nothing pruned"
        )
    else:
        centroids = (
            f"centroids trained ({summary.retrain_reason})"
            if summary.retrained
            else "centroids reused"
        )
        click.echo(
            f"build {summary.build_id} is current: {summary.index_type}, "
            f"{summary.vector_count} vectors, {centroids}"
        )
        source = summary.keywords_derived_from
        click.echo(
            f"keyword index {'derived from build ' + str(source) if source else 'written'} "
            f"in {summary.keywords_seconds:.1f} s"
        )
        if summary.graph_seconds is not None:
            source = summary.graph_derived_from
            click.echo(
                f"citation graph {'derived from build ' + str(source) if source else 'written'} "
                f"in {summary.graph_seconds:.1f} s"
            )
    if summary.rejects_file:
        click.echo(
            f"rejected records and dropped fields, with line numbers and reasons: "
            f"{summary.rejects_file}"
        )


@click.command("index")
@CORPUS_ARGUMENT
@FORMAT_OPTION
@REJECTS_OPTION
@JSON_OPTION
@settings_options
def index_command(
    corpus: tuple[Path, ...], fmt: str, rejects: Path | None, as_json: bool, settings: Settings
) -> None:
    """Read CORPUS files (or folders of PDFs), store and embed their papers, and build a
    new index."""
    say = narrator(settings, as_json, "index")
    summary = index_corpus(settings, list(corpus), fmt=fmt, rejects_path=rejects,
                           progress=say is click.echo, say=say)  # fmt: skip
    print_summary(summary, as_json)


@click.command("reindex")
@CORPUS_ARGUMENT
@FORMAT_OPTION
@click.option(
    "--delta",
    is_flag=True,
    help="CORPUS holds only additions and updates; papers missing from it stay.",
)
@click.option(
    "--retrain", is_flag=True, help="Train new IVF centroids even if the corpus has not drifted."
)
@click.option(
    "--max-removed",
    type=click.FloatRange(0, 1),
    default=0.25,
    show_default=True,
    help="Refuse a snapshot that would withdraw more than this share of the papers.",
)
@REJECTS_OPTION
@JSON_OPTION
@settings_options
def reindex_command(
    corpus: tuple[Path, ...],
    fmt: str,
    delta: bool,
    retrain: bool,
    max_removed: float,
    rejects: Path | None,
    as_json: bool,
    settings: Settings,
) -> None:
    """Bring the index up to date with CORPUS (a full snapshot unless --delta).

    New papers are added, changed ones updated, papers missing from a full
    snapshot withdrawn; only new and changed papers are embedded. The new build
    replaces the current one atomically; running servers switch to it.
    """
    say = narrator(settings, as_json, "reindex")
    started: float | None = time.monotonic()
    summary = None
    try:
        summary = run(
            settings,
            list(corpus),
            fmt=fmt,
            snapshot=not delta,
            retrain=ASKED if retrain else None,
            max_removed=max_removed,
            rejects_path=rejects,
            progress=say is click.echo,
            say=say,
        )
    except AlreadyRunning:  # the run under way reports its own outcome
        started = None
        raise
    except (PapersearchError, click.ClickException):
        raise
    except Exception as exc:  # a bug: cron mails one line, the traceback goes to a file
        log_file = write_crash_log(settings, exc)
        raise click.ClickException(
            f"reindex failed: {type(exc).__name__}: {exc} (traceback in {log_file})"
        ) from exc
    finally:  # success or not, for Prometheus (a node exporter's textfile collector)
        if started is not None:
            write_reindex_outcome(
                settings.reindex_metrics_file,
                success=summary is not None,
                seconds=time.monotonic() - started,
                embedded=summary.embedded if summary else 0,
                build=summary.build_id if summary and summary.published else None,
                alerts=summary.alerts if summary else None,
            )
    print_summary(summary, as_json)


def narrator(settings: Settings, as_json: bool, command: str) -> Callable[[str], None] | None:
    """How a command says what it is doing: on the terminal (``click.echo``, with progress
    bars), as JSON log lines with ``--log-format json``, or not at all with ``--json``."""
    if settings.log_format == "json":
        logs.configure("json")
        return lambda message: log.info(message, extra={"fields": {"command": command}})
    return None if as_json else click.echo


def write_crash_log(settings: Settings, exc: BaseException) -> Path:
    """Cron mails one line; the whole traceback goes to a file in the data directory."""
    stamp = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%SZ")
    path = settings.home / "logs" / f"reindex-{stamp}.log"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(traceback.format_exception(exc)))
    return path


@click.group("builds")
def builds_group() -> None:
    """Index builds: list them, roll back to one."""


@builds_group.command("list")
@JSON_OPTION
@settings_options
def builds_list(as_json: bool, settings: Settings) -> None:
    """All builds, newest first; the current one is marked with *."""
    from search.answers.facts import BuildFacts

    store = Store.open(settings, migrate=True)
    current = store.builds.current_id()
    rows = [
        {
            **BuildFacts.of(b).to_dict(),
            "current": b.id == current,
            "base_model": b.base_model,
            "path": str(store.builds.files(b).index),
        }  # fmt: skip
        for b in store.builds.all()
    ]
    if as_json:
        click.echo(json.dumps(rows))
        return
    for row in rows:
        mark = "*" if row["current"] else " "
        click.echo(
            f"{mark} {row['id']:>5}  {row['status']:<9} {row['index_type']:<14} "
            f"{row['vectors']:>9} vectors  {row['shards']:>3} shard(s)  "
            f"finished {row['finished_at'] or '-'}  {row['base_model']}"
        )


@builds_group.command("use")
@click.argument("build_id", type=int)
@settings_options
def builds_use(build_id: int, settings: Settings) -> None:
    """Make BUILD_ID the current build (roll back); running servers switch to it."""
    from indexer.build_lifecycle import roll_back
    from indexer.lock import write_lock

    with write_lock(settings.home):
        roll_back(Store.open(settings, migrate=True), settings, build_id)
    click.echo(f"build {build_id} is current")


@click.command("tune")
@click.option("--queries", default=500, show_default=True, help="Corpus titles used as queries.")
@click.option(
    "--target",
    default=0.95,
    show_default=True,
    help="recall@10 (first page) and recall@100 (deep rankings) to reach.",
)
@click.option("--dry-run", is_flag=True, help="Measure and print; store nothing.")
@JSON_OPTION
@settings_options
def tune_command(
    queries: int, target: float, dry_run: bool, as_json: bool, settings: Settings
) -> None:
    """Measure recall@10 and recall@100 vs exact search across nprobe; store the smallest
    nprobes reaching TARGET: one for the first page, one for deep rankings (hybrid's
    candidates, later pages).

    Running servers pick up the new nprobes within seconds.
    """
    from indexer.build_lifecycle import tune_index
    from search.engine.retriever import open_index
    from search.model.encoder import Encoder
    from search.model.identity import require_same_model

    store = Store.open(settings)
    build, index = open_index(store)
    if index.ivf is None:
        raise click.ClickException(
            f"Build {build.id} is an exact (flat) index: there is no nprobe to tune."
        )
    encoder = Encoder.load(settings.with_model_of(build))
    require_same_model(build, encoder.info)
    live = store.vectors.live(build.model_key)
    tuned = tune_index(store, encoder, index, live, queries=queries, target=target)
    if not dry_run:
        store.builds.set_tuning(build.id, tuned.nprobe, tuned.recall, tuned.deep_nprobe,
                                tuned.recall_100)  # fmt: skip
    if as_json:
        click.echo(json.dumps({"build_id": build.id, "nprobe": tuned.nprobe,
                               "recall@10": tuned.recall, "deep_nprobe": tuned.deep_nprobe,
                               "recall@100": tuned.recall_100,
                               "rows": [row.__dict__ for row in tuned.rows]}))  # fmt: skip
        return
    click.echo(f"build {build.id} ({build.index_type}), {tuned.queries} title queries")
    click.echo("  nprobe  recall@10  recall@100  ms/query (top 100)")
    for row in tuned.rows:
        mark = ("*" if row.nprobe == tuned.nprobe else " ") + (
            "+" if row.nprobe == tuned.deep_nprobe else " "
        )
        click.echo(f"{mark}{row.nprobe:>6}  {row.recall:9.4f}  {row.recall_100:10.4f}"
                   f"  {row.ms_per_query:8.3f}")  # fmt: skip
    stored = "not stored (--dry-run)" if dry_run else "stored with the build"
    click.echo(f"* nprobe {tuned.nprobe} reaches recall@10 {tuned.recall:.4f} (target "
               f"{target}), for the first page\n+ nprobe {tuned.deep_nprobe} reaches "
               f"recall@100 {tuned.recall_100:.4f}, for hybrid's candidates and later pages: "
               f"{stored}")  # fmt: skip


@click.group("db")
def db_group() -> None:
    """Database schema (Alembic migrations)."""


@db_group.command("upgrade")
@click.option("--revision", default="head", show_default=True)
@settings_options
def db_upgrade(revision: str, settings: Settings) -> None:
    """Apply pending migrations; to the latest, also move vectors an older release kept in
    the database to files, and write the current build's keyword index if it has none or
    one in an older format, and its citation graph if it has none."""
    from indexer.build_lifecycle import (
        add_citation_graph,
        add_keyword_index,
        keyword_index_outdated,
    )
    from indexer.lock import write_lock
    from search.store import Store
    from search.store.db import current_revision, make_engine, session_factory, upgrade

    engine = make_engine(settings, create=True)
    upgrade(engine, revision)
    url = engine.url.render_as_string(hide_password=True)
    click.echo(f"Database at revision {current_revision(engine)}: {url}")
    if revision != "head":
        return
    store = Store(session_factory(engine), settings.builds_dir, settings.vectors_dir)
    moved = store.vectors.move_from_table()
    if moved:
        click.echo(f"Moved {moved:,} vectors to {settings.vectors_dir}")
    current = store.builds.current()
    if current is not None and keyword_index_outdated(store, current):
        with write_lock(settings.home):
            written = add_keyword_index(store, settings, current)
        click.echo(f"Wrote the keyword index of build {current.id}: {written.papers:,} papers "
                   f"({written.name})")  # fmt: skip
        current = store.builds.current()
    if current is not None and store.builds.files(current).graph is None:
        with write_lock(settings.home):
            graph = add_citation_graph(store, settings, current)
        click.echo(f"Wrote the citation graph of build {current.id}: {graph.papers:,} papers, "
                   f"{graph.edges:,} citations ({graph.name})")  # fmt: skip


@db_group.command("current")
@settings_options
def db_current(settings: Settings) -> None:
    """Show the applied and the latest migration."""
    from search.store.db import current_revision, head_revision, make_engine

    engine = make_engine(settings)
    click.echo(f"current: {current_revision(engine)}  head: {head_revision()}")
