"""``papersearch serve`` and ``papersearch demo``."""

from __future__ import annotations

import json
import os
from importlib import resources
from pathlib import Path

import click

from search.cli_options import settings_options
from search.settings import Settings

DEMO_HOME = Path("papersearch-demo")


def demo_corpus() -> Path:
    """The 3,000-paper arXiv sample shipped with the package (arXiv metadata, CC0)."""
    return Path(str(resources.files("indexer.data") / "arxiv-sample-3000.jsonl"))


def run_server(app, host: str, port: int) -> None:
    click.echo(f"papersearch is serving on http://{host}:{port}/  (Ctrl+C to stop)")
    app.run(host=host, port=port, threaded=True, use_reloader=False)


@click.command("serve")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=5000, show_default=True, type=int)
@settings_options
def serve_command(host: str, port: int, settings: Settings) -> None:
    """Run the web UI and JSON API (development server; see README for production)."""
    from web import create_app

    app = create_app(settings)
    app.extensions["papersearch"].warm()
    run_server(app, host, port)


@click.command("demo")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=5000, show_default=True, type=int)
@settings_options
def demo_command(host: str, port: int, settings: Settings) -> None:
    """Index the bundled 3,000-paper arXiv sample (once) and serve it.

    Uses ./papersearch-demo as the data directory unless --home or
    PAPERSEARCH_HOME says otherwise.
    """
    from indexer.pipeline import index_corpus
    from search.encoder import Encoder
    from search.store import Store
    from web import create_app

    if not os.environ.get("PAPERSEARCH_HOME") and settings.home == Settings().home:
        settings = settings.replace(home=DEMO_HOME)
    corpus = demo_corpus()
    encoder = Encoder.load(settings)
    store = Store.open(settings, migrate=True)
    build = store.builds.current()
    with corpus.open(encoding="utf-8") as fh:
        first_id = json.loads(fh.readline())["id"]
    if (
        build is None
        or build.model_key != encoder.info.key
        or store.papers.get_by_external_id(first_id) is None
        or store.vectors.count_pending(encoder.info.key)
    ):
        click.echo(f"Indexing the demo corpus ({corpus.name}) into {settings.home} ...")
        summary = index_corpus(settings, [corpus], encoder=encoder, progress=True)
        click.echo(
            f"Indexed {summary.stored} papers: build {summary.build_id} ({summary.index_type})."
        )
    run_server(create_app(settings, encoder=encoder), host, port)
