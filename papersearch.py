"""The ``papersearch`` command: the commands of ``search``, ``indexer`` and ``web`` in one group.

Sub-commands are imported only when used (``--help`` does not import torch),
and each lives with the part of the code it drives. A
:class:`~search.errors.PapersearchError` from any of them is printed as one
line; anything else is a bug and keeps its traceback.
"""

from __future__ import annotations

import importlib
from pathlib import Path

import click

from search.errors import PapersearchError

COMMANDS = {
    "index": "indexer.commands:index_command",
    "reindex": "indexer.commands:reindex_command",
    "builds": "indexer.commands:builds_group",
    "tune": "indexer.commands:tune_command",
    "search": "search.commands:search_command",
    "similar": "search.commands:similar_command",
    "eval": "search.commands:eval_command",
    "db": "indexer.commands:db_group",
    "model": "search.commands:model_group",
    "serve": "web.commands:serve_command",
    "demo": "web.commands:demo_command",
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


if __name__ == "__main__":
    main()
