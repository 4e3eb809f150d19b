"""``papersearch paper``: one work by any id of any of its versions, as the API's
``/papers/{id}`` answers it: its most published version, and the others."""

from __future__ import annotations

import json

import click

from search.base.settings import Settings
from search.cli.options import JSON_OPTION, settings_options


@click.command("paper")
@click.argument("paper")
@JSON_OPTION
@settings_options
def paper_command(paper: str, as_json: bool, settings: Settings) -> None:
    """A PAPER (an internal id, the corpus's own id such as an arXiv id, a DOI, or any id
    a version's record gives) as its work: the published version's fields, then the
    other versions."""
    from search.engine.engine import SearchEngine
    from search.query.paper_refs import paper_ref

    engine = SearchEngine.open(settings)
    detail = engine.detail(engine.resolve_paper(paper_ref(paper)))
    if as_json:
        click.echo(json.dumps(detail.to_dict(), ensure_ascii=False, indent=2))
        return
    facts = ", ".join(str(f) for f in (detail.venue, detail.year, detail.doi) if f)
    click.echo(f"[{detail.id}] {detail.title}" + (f" ({facts})" if facts else ""))
    if detail.authors:
        click.echo("    " + ", ".join(detail.authors))
    if detail.url:
        click.echo(f"    {detail.url}")
    for version in detail.versions:
        where = version.url or version.doi or version.external_id
        click.echo(f"    also published as [{version.id}] {version.external_id}: {where} "
                   f"({version.linked})")  # fmt: skip
