"""The ``papersearch`` command.

Sub-commands load lazily (``--help`` does not import torch), and live with the
part of the code they drive: read-path commands here, ``index`` in
``indexer.commands``.
"""

from __future__ import annotations

import functools
import importlib
import json
from collections.abc import Callable
from pathlib import Path

import click

from search.settings import (
    DEVICES,
    POOLINGS,
    PRECISIONS,
    QUERY_BACKENDS,
    Settings,
    SettingsError,
)


def expected_errors() -> tuple[type[BaseException], ...]:
    """Failures that deserve one clear line, not a traceback."""
    from indexer.lock import AlreadyRunning
    from indexer.pipeline import NothingToIndex, UnsafeSnapshot
    from indexer.readers import CorpusFormatError
    from search.db import SchemaOutOfDate
    from search.engine import InvalidRequest, ModelMismatch, NoIndex, PaperNotFound
    from search.evaluation import EvalDataError
    from search.index import IndexCorrupt
    from search.model_source import ModelUnavailable
    from search.onnx_query import OnnxUnavailable

    return (
        SettingsError,
        FileNotFoundError,
        CorpusFormatError,
        NothingToIndex,
        UnsafeSnapshot,
        AlreadyRunning,
        SchemaOutOfDate,
        InvalidRequest,
        ModelMismatch,
        NoIndex,
        PaperNotFound,
        ModelUnavailable,
        OnnxUnavailable,
        EvalDataError,
        IndexCorrupt,
    )


def settings_options(command: Callable) -> Callable:
    """Add the settings flags to a command; it receives ``settings`` instead of them.

    Each flag overrides the ``PAPERSEARCH_*`` variable of the same name.
    """
    options = [
        click.option(
            "--home", type=click.Path(path_type=Path), help="Data directory [PAPERSEARCH_HOME]."
        ),
        click.option("--database-url", help="SQLAlchemy URL [PAPERSEARCH_DATABASE_URL]."),
        click.option("--base-model", help="Hub id or directory [PAPERSEARCH_BASE_MODEL]."),
        click.option(
            "--paper-adapter", help="Hub id, directory or 'none' [PAPERSEARCH_PAPER_ADAPTER]."
        ),
        click.option(
            "--query-adapter", help="Hub id, directory or 'none' [PAPERSEARCH_QUERY_ADAPTER]."
        ),
        click.option(
            "--model-revision",
            help="Hub revision for models without @rev [PAPERSEARCH_MODEL_REVISION].",
        ),
        click.option("--pooling", type=click.Choice(POOLINGS), help="[PAPERSEARCH_POOLING]"),
        click.option("--device", type=click.Choice(DEVICES), help="[PAPERSEARCH_DEVICE]"),
        click.option("--precision", type=click.Choice(PRECISIONS), help="[PAPERSEARCH_PRECISION]"),
        click.option(
            "--query-backend",
            type=click.Choice(QUERY_BACKENDS),
            help="Encode queries with PyTorch or ONNX Runtime [PAPERSEARCH_QUERY_BACKEND].",
        ),
        click.option(
            "--batch-size", type=int, help="Papers per encoder batch [PAPERSEARCH_BATCH_SIZE]."
        ),
        click.option(
            "--nlist", type=int, help="IVF lists (default from corpus size) [PAPERSEARCH_NLIST]."
        ),
        click.option("--nprobe", type=int, help="IVF lists probed per query [PAPERSEARCH_NPROBE]."),
        click.option(
            "--index-memory",
            help="Memory the index's vectors may take, e.g. 2GB [PAPERSEARCH_INDEX_MEMORY].",
        ),
        click.option(
            "--keep-builds", type=int, help="Index builds kept [PAPERSEARCH_KEEP_BUILDS]."
        ),
    ]
    names = (
        "home",
        "database_url",
        "base_model",
        "paper_adapter",
        "query_adapter",
        "model_revision",
        "pooling",
        "device",
        "precision",
        "query_backend",
        "batch_size",
        "nlist",
        "nprobe",
        "index_memory",
        "keep_builds",
    )

    @functools.wraps(command)
    def wrapper(*args, **kwargs):
        overrides = {name: kwargs.pop(name) for name in names}
        try:
            kwargs["settings"] = Settings.from_env(**overrides)
            return command(*args, **kwargs)
        except expected_errors() as exc:
            raise click.ClickException(str(exc)) from exc

    for option in reversed(options):
        wrapper = option(wrapper)
    return wrapper


class LazyGroup(click.Group):
    """A group whose sub-commands are imported only when used."""

    def __init__(self, *args, lazy: dict[str, str], **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.lazy = lazy

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(set(super().list_commands(ctx)) | set(self.lazy))

    def get_command(self, ctx: click.Context, name: str) -> click.Command | None:
        if name in self.lazy:
            module, _, attr = self.lazy[name].partition(":")
            return getattr(importlib.import_module(module), attr)
        return super().get_command(ctx, name)


@click.group(
    cls=LazyGroup,
    lazy={
        "index": "indexer.commands:index_command",
        "reindex": "indexer.commands:reindex_command",
        "builds": "indexer.commands:builds_group",
        "tune": "indexer.commands:tune_command",
        "search": "search.cli:search_command",
        "similar": "search.cli:similar_command",
        "eval": "search.cli:eval_command",
        "db": "search.cli:db_group",
        "model": "search.cli:model_group",
        "serve": "web.commands:serve_command",
        "demo": "web.commands:demo_command",
    },
)
@click.version_option(package_name="papersearch")
def main() -> None:
    """papersearch: semantic search over scientific papers (SPECTER2 + FAISS + SQLite)."""


def print_result(result, as_json: bool) -> None:
    """One JSON document (the API's shape) or a readable ranked list."""
    if as_json:
        click.echo(json.dumps(result.to_dict(), ensure_ascii=False))
        return
    click.echo(f"{len(result.results)} of {result.total} papers, {result.took_ms:.1f} ms")
    for hit in result.results:
        authors = ", ".join(hit.authors[:3]) + (" et al." if len(hit.authors) > 3 else "")
        year = f" ({hit.year})" if hit.year else ""
        click.echo(f"\n[{hit.id}] {hit.score:.4f}  {hit.title}{year}")
        if authors:
            click.echo(f"    {authors}")
        click.echo(f"    {hit.url or hit.external_id}")


def filter_options(command: Callable) -> Callable:
    """--year, --venue, --category, --author: the API's filters."""
    options = [
        click.option("--year", help="A year or range: 2019, 2019-2021, 2020-, -2015."),
        click.option("--venue", help="Venue name(s), comma-separated."),
        click.option("--category", help="Category/field, e.g. cs.LG or cs (comma-separated)."),
        click.option("--author", help="Part of an author's name (comma-separated)."),
    ]
    for option in reversed(options):
        command = option(command)
    return command


def filters_from(options: dict):
    from search.engine import parse_filters

    return parse_filters(**{name: options.pop(name) for name in FILTER_NAMES})


FILTER_NAMES = ("year", "venue", "category", "author")


@click.command("search")
@click.argument("query")
@click.option("-k", "--k", "k", default=10, show_default=True, help="Number of results.")
@click.option("--offset", default=0, show_default=True, help="Skip this many results.")
@click.option(
    "--mode",
    type=click.Choice(["semantic", "keyword", "hybrid"]),
    default="semantic",
    show_default=True,
    help="Ranking: embeddings, BM25 keywords, or both fused.",
)
@filter_options
@click.option("--json", "as_json", is_flag=True, help="Print one JSON document.")
@settings_options
def search_command(
    query: str, k: int, offset: int, mode: str, as_json: bool, settings: Settings, **filters
) -> None:
    """Search the current index with a free-text QUERY ("quoted phrases" must match in
    keyword and hybrid modes)."""
    from search.engine import SearchEngine

    engine = SearchEngine.open(settings)
    result = engine.search(query, k=k, offset=offset, mode=mode, filters=filters_from(filters))
    print_result(result, as_json)


@click.command("similar")
@click.argument("papers", nargs=-1, required=True)
@click.option("--unlike", multiple=True, help="A paper the results should be unlike (repeatable).")
@click.option("--external", is_flag=True, help="Numbers are the corpus's ids, not internal ids.")
@click.option("-k", "--k", "k", default=10, show_default=True, help="Number of results.")
@filter_options
@click.option("--json", "as_json", is_flag=True, help="Print one JSON document.")
@settings_options
def similar_command(
    papers: tuple[str, ...],
    unlike: tuple[str, ...],
    external: bool,
    k: int,
    as_json: bool,
    settings: Settings,
    **filters,
) -> None:
    """Papers similar to stored PAPERS (internal ids, the corpus's own ids such as arXiv ids,
    or DOIs); with several, or with --unlike, a recommendation from all of them."""
    from search.engine import SearchEngine, paper_ref

    engine = SearchEngine.open(settings)
    chosen = filters_from(filters)
    refs = list(papers) if external else [paper_ref(p) for p in papers]
    if len(refs) == 1 and not unlike:
        result = engine.similar(engine.resolve_paper(refs[0]).id, k=k, filters=chosen)
    else:
        result = engine.recommend(refs, list(unlike), k=k, filters=chosen)
    print_result(result, as_json)


@click.command("eval")
@click.option(
    "--queries",
    "queries_path",
    required=True,
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="BEIR queries.jsonl (_id, text).",
)
@click.option(
    "--qrels",
    "qrels_path",
    required=True,
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="BEIR qrels TSV (query-id, corpus-id, score) or TREC qrels.",
)
@click.option(
    "--mode", "modes", default="semantic,keyword,hybrid", show_default=True,
    help="One mode or a comma-separated list.",
)  # fmt: skip
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
@settings_options
def eval_command(
    queries_path: Path, qrels_path: Path, modes: str, as_json: bool, settings: Settings
) -> None:
    """Measure the current index on judged queries: nDCG@10, Recall@100 and MRR@10 per mode,
    exact search for comparison, and the ANN's recall@10. The corpus must have been indexed
    with its document ids as external ids (as `papersearch index` does for BEIR corpora)."""
    from tqdm import tqdm

    from search.engine import SearchEngine
    from search.evaluation import evaluate, parse_modes, read_judged

    chosen = parse_modes(modes)
    judged = read_judged(queries_path, qrels_path)
    engine = SearchEngine.open(settings)
    progress_bar = tqdm(total=len(judged.queries) * len(chosen), unit="query",
                        disable=True if as_json else None)  # fmt: skip
    with progress_bar as bar:
        report = evaluate(engine, judged, chosen, progress=bar.update)
    if as_json:
        click.echo(json.dumps(report))
        return
    click.echo(f"{report['queries']} queries, {engine.index.ntotal:,} papers indexed")
    click.echo(f"{'mode':<16}{'nDCG@10':>9}{'R@100':>9}{'MRR@10':>9}")
    rows = [*report["modes"].items(), ("semantic, exact", report["semantic_exact"])]
    for mode, scores in rows:
        click.echo(
            f"{mode:<16}{scores['ndcg@10']:>9.4f}{scores['recall@100']:>9.4f}"
            f"{scores['mrr@10']:>9.4f}"
        )
    click.echo(f"ANN recall@10 against exact search: {report['ann_recall@10']:.4f}")


@click.group("db")
def db_group() -> None:
    """Database schema (Alembic migrations)."""


@db_group.command("upgrade")
@click.option("--revision", default="head", show_default=True)
@settings_options
def db_upgrade(revision: str, settings: Settings) -> None:
    """Apply pending migrations."""
    from search.db import current_revision, make_engine, upgrade

    engine = make_engine(settings)
    upgrade(engine, revision)
    click.echo(f"Database at revision {current_revision(engine)}: {engine.url.render_as_string()}")


@db_group.command("current")
@settings_options
def db_current(settings: Settings) -> None:
    """Show the applied and the latest migration."""
    from search.db import current_revision, head_revision, make_engine

    engine = make_engine(settings)
    click.echo(f"current: {current_revision(engine)}  head: {head_revision()}")


@click.group("model")
def model_group() -> None:
    """Model files."""


@model_group.command("download")
@click.option(
    "--to", "target", type=click.Path(path_type=Path), help="Directory (default: the HF cache)."
)
@settings_options
def model_download(target: Path | None, settings: Settings) -> None:
    """Fetch the base model and both adapters, for machines that will run offline."""
    from search.model_source import PACKAGE_PREFIX, download

    wanted = {
        "PAPERSEARCH_BASE_MODEL": settings.base_model,
        "PAPERSEARCH_PAPER_ADAPTER": settings.paper_adapter,
        "PAPERSEARCH_QUERY_ADAPTER": settings.query_adapter,
    }
    lines = []
    for variable, spec in wanted.items():
        if not spec or spec.startswith(PACKAGE_PREFIX) or Path(spec).expanduser().is_dir():
            continue
        sub = target / spec.partition("@")[0].replace("/", "--") if target else None
        got = download(spec, settings.model_revision, sub)
        click.echo(f"{spec}: {got.path}", err=True)
        lines.append(f"export {variable}={got.path}")
    if target:
        click.echo("# on the offline machine, after copying the directory:")
        click.echo("\n".join(lines))


if __name__ == "__main__":
    main()
