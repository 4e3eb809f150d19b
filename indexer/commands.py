"""``papersearch index``, ``reindex`` and ``builds``: the command-line face of the write path."""

from __future__ import annotations

import json
import traceback
from datetime import datetime, timezone
from pathlib import Path

import click

from indexer.pipeline import RunSummary, index_corpus, open_store, prune, run
from indexer.readers import FORMATS
from search.cli import settings_options
from search.settings import Settings

FORMAT_OPTION = click.option(
    "--format",
    "fmt",
    type=click.Choice(("auto",) + FORMATS),
    default="auto",
    show_default=True,
    help="Corpus layout; auto detects it from the file.",
)
REJECTS_OPTION = click.option(
    "--rejects",
    type=click.Path(path_type=Path),
    help="Where to write rejected records (JSON Lines).",
)
JSON_OPTION = click.option(
    "--json", "as_json", is_flag=True, help="Print the summary as one JSON object."
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
    click.echo(
        f"embedded {summary.embedded} in {summary.seconds:.1f} s total "
        f"({summary.papers_per_second:.1f} papers/s)"
    )
    centroids = (
        f"centroids trained ({summary.retrain_reason})" if summary.retrained else "centroids reused"
    )
    click.echo(
        f"build {summary.build_id} is current: {summary.index_type}, "
        f"{summary.vector_count} vectors, {centroids}"
    )
    if summary.rejects_file:
        click.echo(f"rejected records with line numbers and reasons: {summary.rejects_file}")


@click.command("index")
@CORPUS_ARGUMENT
@FORMAT_OPTION
@REJECTS_OPTION
@JSON_OPTION
@settings_options
def index_command(
    corpus: tuple[Path, ...], fmt: str, rejects: Path | None, as_json: bool, settings: Settings
) -> None:
    """Read CORPUS files, store and embed their papers, and build a new index."""
    summary = index_corpus(
        settings, list(corpus), fmt=fmt, rejects_path=rejects, progress=not as_json
    )
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
    try:
        summary = run(
            settings,
            list(corpus),
            fmt=fmt,
            snapshot=not delta,
            retrain=retrain,
            max_removed=max_removed,
            rejects_path=rejects,
            progress=not as_json,
        )
    except click.ClickException:
        raise
    except Exception as exc:
        from search.cli import expected_errors

        if isinstance(exc, expected_errors()):
            raise
        log = write_crash_log(settings, exc)
        raise click.ClickException(
            f"reindex failed: {type(exc).__name__}: {exc} (traceback in {log})"
        ) from exc
    print_summary(summary, as_json)


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
    store = open_store(settings)
    current = store.current_build_id()
    rows = [
        {
            "id": b.id,
            "current": b.id == current,
            "status": b.status,
            "index_type": b.index_type,
            "vectors": b.vector_count,
            "nprobe": b.nprobe,
            "finished_at": b.finished_at.isoformat(timespec="seconds") if b.finished_at else None,
            "published_at": b.published_at.isoformat(timespec="seconds")
            if b.published_at
            else None,
            "base_model": b.base_model,
            "path": b.path,
        }
        for b in store.list_builds()
    ]
    if as_json:
        click.echo(json.dumps(rows))
        return
    for row in rows:
        mark = "*" if row["current"] else " "
        click.echo(
            f"{mark} {row['id']:>5}  {row['status']:<9} {row['index_type']:<14} "
            f"{row['vectors']:>9} vectors  finished {row['finished_at'] or '-'}  "
            f"{row['base_model']}"
        )


@builds_group.command("use")
@click.argument("build_id", type=int)
@settings_options
def builds_use(build_id: int, settings: Settings) -> None:
    """Make BUILD_ID the current build (roll back); running servers switch to it."""
    from indexer.lock import write_lock

    with write_lock(settings.home):
        store = open_store(settings)
        build = store.get_build(build_id)
        if build is not None and build.status == "complete" and not Path(build.path).is_file():
            raise click.ClickException(f"Build {build_id}'s file {build.path} is missing.")
        try:
            store.publish(build_id)
        except LookupError as exc:
            raise click.ClickException(str(exc)) from exc
        prune(store, settings)
    click.echo(f"build {build_id} is current")


@click.command("tune")
@click.option("--queries", default=500, show_default=True, help="Corpus titles used as queries.")
@click.option("--target", default=0.95, show_default=True, help="recall@10 to reach.")
@click.option("--dry-run", is_flag=True, help="Measure and print; store nothing.")
@JSON_OPTION
@settings_options
def tune_command(
    queries: int, target: float, dry_run: bool, as_json: bool, settings: Settings
) -> None:
    """Measure recall@10 vs exact search across nprobe; store the smallest reaching TARGET.

    Running servers pick up the new nprobe within seconds.
    """
    from search.engine import SearchEngine
    from search.tuning import measure, smallest_nprobe

    engine = SearchEngine.open(settings)
    if engine.index.ivf is None:
        raise click.ClickException(
            f"Build {engine.build.id} is an exact (flat) index: there is no nprobe to tune."
        )
    ids, vectors = engine.store.all_vectors(engine.build.model_key)
    titles = engine.store.sample_titles(queries)
    rows = measure(engine.index, ids, vectors, engine.encoder.encode_queries(titles))
    best = smallest_nprobe(rows, target)
    recall = next(row.recall for row in rows if row.nprobe == best)
    if not dry_run:
        engine.store.set_tuning(engine.build.id, best, recall)
    if as_json:
        click.echo(json.dumps({"build_id": engine.build.id, "nprobe": best, "recall@10": recall,
                               "rows": [row.__dict__ for row in rows]}))  # fmt: skip
        return
    click.echo(f"build {engine.build.id} ({engine.build.index_type}), {len(titles)} title queries")
    click.echo("  nprobe  recall@10  ms/query")
    for row in rows:
        mark = "*" if row.nprobe == best else " "
        click.echo(f"{mark} {row.nprobe:>6}  {row.recall:9.4f}  {row.ms_per_query:8.3f}")
    stored = "not stored (--dry-run)" if dry_run else "stored with the build"
    click.echo(f"nprobe {best} reaches recall@10 {recall:.4f} (target {target}): {stored}")
