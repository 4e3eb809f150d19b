"""The ``papersearch`` command: the commands of ``search``, ``indexer`` and ``web`` in one group.

Sub-commands are imported only when used (``--help`` does not import torch),
and each lives with the part of the code it drives (``demo`` indexes and then serves,
so it lives here, at the root that knows all three parts). A
:class:`~search.base.errors.PapersearchError` from any of them is printed as one
line; anything else is a bug and keeps its traceback.
"""

from __future__ import annotations

import importlib
from pathlib import Path

import click

from search.base.errors import PapersearchError
from search.base.settings import Settings
from search.cli.options import settings_options

COMMANDS = {
    "index": "indexer.write_commands:index_command",
    "reindex": "indexer.write_commands:reindex_command",
    "builds": "indexer.write_commands:builds_group",
    "tune": "indexer.write_commands:tune_command",
    "search": "search.cli.read_commands:search_command",
    "similar": "search.cli.read_commands:similar_command",
    "references": "search.cli.link_commands:references_command",
    "citations": "search.cli.link_commands:citations_command",
    "connected": "search.cli.link_commands:connected_command",
    "author": "search.cli.author_command:author_command",
    "paper": "search.cli.paper_command:paper_command",
    "eval": "search.cli.read_commands:eval_command",
    "db": "indexer.write_commands:db_group",
    "alerts": "indexer.alert_digests:alerts_group",
    "model": "search.cli.read_commands:model_group",
    "shards": "search.cli.shard_commands:shards_group",
    "serve": "web.serve_commands:serve_command",
    "demo": "papersearch:demo_command",
}


class Commands(click.Group):
    """Sub-commands imported on first use, and one handler for the errors users can act on."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(COMMANDS)

    def get_command(self, ctx: click.Context, name: str) -> click.Command | None:
        if name not in COMMANDS:
            return None
        module, _, attr = COMMANDS[name].partition(":")
        return getattr(importlib.import_module(module), attr)

    def invoke(self, ctx: click.Context):
        try:
            return super().invoke(ctx)
        except PapersearchError as exc:
            raise click.ClickException(str(exc)) from exc


@click.group(cls=Commands)
@click.option(
    "--home",
    type=click.Path(path_type=Path),
    help="Data directory, for any command (as the command's own --home) [PAPERSEARCH_HOME].",
)
@click.version_option(package_name="papersearch")
def main(home: Path | None) -> None:
    """papersearch: semantic search over scientific papers (SPECTER2 + FAISS + SQLite).

    Start with `papersearch demo`; then `papersearch --home papersearch-demo search "..."`.
    """


@click.command("demo")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=5000, show_default=True, type=int)
@settings_options
def demo_command(host: str, port: int, settings: Settings) -> None:
    """Index the bundled 3,000-paper arXiv sample (once) and serve it.

    Uses ./papersearch-demo as the data directory unless --home or
    PAPERSEARCH_HOME says otherwise, and SPECTER2 when it can be had (else the
    bundled all-MiniLM-L6-v2), with no settings needed.
    """
    from indexer import demo
    from web import create_app
    from web.serve_commands import run_server

    if "home" not in settings.given:
        settings = settings.replace(home=demo.DEMO_HOME)
    settings, encoder = demo.prepare(settings, click.echo)
    app = create_app(settings, encoder=encoder)
    click.echo("\n".join(demo.next_steps(settings, host, port)))
    run_server(app, host, port)


if __name__ == "__main__":
    main()
