"""``papersearch index``: the command-line face of the indexing pipeline."""

from __future__ import annotations

import json
from pathlib import Path

import click

from indexer.pipeline import index_corpus
from indexer.readers import FORMATS
from search.cli import settings_options
from search.settings import Settings


@click.command("index")
@click.argument("corpus", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option(
    "--format",
    "fmt",
    type=click.Choice(("auto",) + FORMATS),
    default="auto",
    show_default=True,
    help="Corpus layout; auto detects it from the file.",
)
@click.option(
    "--rejects",
    type=click.Path(path_type=Path),
    help="Where to write rejected records (JSON Lines).",
)
@click.option("--json", "as_json", is_flag=True, help="Print the summary as one JSON object.")
@settings_options
def index_command(
    corpus: tuple[Path, ...], fmt: str, rejects: Path | None, as_json: bool, settings: Settings
) -> None:
    """Read CORPUS files, store and embed their papers, and build a new index."""
    summary = index_corpus(
        settings, list(corpus), fmt=fmt, rejects_path=rejects, progress=not as_json
    )
    if as_json:
        click.echo(json.dumps(summary.to_dict()))
        return
    click.echo(
        f"read {summary.read}, stored {summary.stored} "
        f"(added {summary.added}, updated {summary.updated}, unchanged {summary.unchanged}), "
        f"rejected {summary.rejected}, duplicates {summary.duplicates}, "
        f"embedded {summary.embedded} in {summary.seconds:.1f} s "
        f"({summary.papers_per_second:.1f} papers/s)"
    )
    click.echo(f"build {summary.build_id}: {summary.index_type}, {summary.vector_count} vectors")
    if summary.rejects_file:
        click.echo(f"rejected records with line numbers and reasons: {summary.rejects_file}")
