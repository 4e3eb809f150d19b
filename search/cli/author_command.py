"""``papersearch author``: an author and their papers, as the API's ``/authors/{id}``
answers them."""

from __future__ import annotations

import json

import click

from search.base.settings import Settings
from search.cli.options import JSON_OPTION, filter_options, settings_options
from search.cli.read_commands import print_result
from search.engine.authors import AUTHOR_SORTS
from search.query.filters import Filters


@click.command("author")
@click.argument("author_ref", metavar="AUTHOR")
@click.option("-k", "--k", "k", default=10, show_default=True, help="Number of papers.")
@click.option("--offset", default=0, show_default=True, help="Skip this many papers.")
@click.option("--sort", type=click.Choice(AUTHOR_SORTS), default=AUTHOR_SORTS[0],
              show_default=True,
              help="date: newest first; citations: most cited first.")  # fmt: skip
@filter_options
@JSON_OPTION
@settings_options
def author_command(author_ref: str, k: int, offset: int, sort: str, as_json: bool,
                   settings: Settings, filters: Filters) -> None:  # fmt: skip
    """An AUTHOR (an id the sources give: orcid:…, openalex:A…, s2:…, a bare ORCID; or a
    name) and their papers: who, co-authors, years and topics."""
    from search.engine.engine import SearchEngine

    profile = SearchEngine.open(settings).authors.profile(author_ref, k, offset, sort=sort,
                                                          filters=filters)  # fmt: skip
    if as_json:
        click.echo(json.dumps(profile.to_dict(), ensure_ascii=False, indent=2))
        return
    known = "grouped by name" if profile.grouped_by_name else ", ".join(profile.ids)
    years = f", {profile.first_year}–{profile.last_year}" if profile.first_year else ""
    click.echo(f"{profile.name} ({known}): {profile.papers.total:,} papers{years}")
    if profile.coauthors:
        click.echo("co-authors: " + ", ".join(f"{c.name} ({c.papers})" for c in profile.coauthors))
    if profile.topics:
        click.echo("topics: " + ", ".join(f"{t.name} ({t.papers})" for t in profile.topics))
    if profile.notice:
        click.echo(profile.notice)
    print_result(profile.papers, False)
