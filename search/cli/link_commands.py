"""``papersearch references``, ``citations`` and ``connected``: a paper's links in the
corpus, as the API's ``/papers/{id}/references``, ``/citations`` and ``/connected``
answer them."""

from __future__ import annotations

import click

from search.base.settings import Settings
from search.cli.options import JSON_OPTION, filter_options, settings_options
from search.cli.read_commands import print_result
from search.engine.citations import LIST_SORTS
from search.query.filters import Filters


def _list_command(kind: str, summary: str) -> click.Command:
    @click.command(kind, help=summary)
    @click.argument("paper")
    @click.option("-k", "--k", "k", default=10, show_default=True, help="Number of papers.")
    @click.option("--offset", default=0, show_default=True, help="Skip this many papers.")
    @click.option("--sort", type=click.Choice(LIST_SORTS), default=LIST_SORTS[0],
                  show_default=True,
                  help="citations: most cited first (within this corpus where the source "
                  "gives no counts); date: newest first.")  # fmt: skip
    @filter_options
    @JSON_OPTION
    @settings_options
    def command(paper: str, k: int, offset: int, sort: str, as_json: bool,
                settings: Settings, filters: Filters) -> None:  # fmt: skip
        from search.engine.engine import SearchEngine
        from search.query.paper_refs import paper_ref

        engine = SearchEngine.open(settings)
        found = engine.resolve_paper(paper_ref(paper))
        result = engine.citations.listed(found.id, kind, k, offset, sort=sort, filters=filters)
        if not as_json:
            source = "listed" if kind == "references" else "worldwide"
            listed = "" if result.listed is None else f" ({result.listed:,} {source})"
            click.echo(f"{kind} of [{found.id}] {found.title}: {result.total:,} in this "
                       f"corpus{listed}")  # fmt: skip
            if result.notice:
                click.echo(result.notice)
        print_result(result, as_json)

    return command


references_command = _list_command(
    "references", "The papers of this corpus that PAPER cites (an internal id, the "
    "corpus's own id such as an arXiv id, or a DOI)."
)  # fmt: skip
citations_command = _list_command(
    "citations", "The papers of this corpus that cite PAPER (an internal id, the corpus's "
    "own id such as an arXiv id, or a DOI)."
)  # fmt: skip


@click.command("connected")
@click.argument("paper")
@click.option("-k", "--k", "k", default=10, show_default=True, help="Number of papers.")
@click.option("--offset", default=0, show_default=True, help="Skip this many papers.")
@filter_options
@JSON_OPTION
@settings_options
def connected_command(paper: str, k: int, offset: int, as_json: bool, settings: Settings,
                      filters: Filters) -> None:  # fmt: skip
    """Papers connected to PAPER by their citations (references in common, cited
    together) and by similar text, each with why."""
    from search.engine.engine import SearchEngine
    from search.query.paper_refs import paper_ref

    engine = SearchEngine.open(settings)
    found = engine.resolve_paper(paper_ref(paper))
    result = engine.citations.connected(found.id, k, offset, filters=filters)
    if not as_json and result.notice:
        click.echo(result.notice)
    print_result(result, as_json)
