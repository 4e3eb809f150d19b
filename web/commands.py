"""``papersearch serve`` and ``papersearch demo``."""

from __future__ import annotations

import click

from search.cli_options import settings_options
from search.settings import Settings


def run_server(app, host: str, port: int) -> None:
    """Load the model and the index, then serve: the first page is served as every later
    one, and a broken start fails here, not on a request."""
    app.extensions["papersearch"].warm()
    click.echo(f"papersearch is serving on http://{host}:{port}/  (Ctrl+C to stop)")
    app.run(host=host, port=port, threaded=True, use_reloader=False)


@click.command("serve")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=5000, show_default=True, type=int)
@settings_options
def serve_command(host: str, port: int, settings: Settings) -> None:
    """Run the web UI and JSON API (the development server; docs/web.md has production
    serving)."""
    from web import create_app

    run_server(create_app(settings), host, port)


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
    from web import create_app, demo

    if "home" not in settings.given:
        settings = settings.replace(home=demo.DEMO_HOME)
    settings, encoder = demo.prepare(settings, click.echo)
    app = create_app(settings, encoder=encoder)
    click.echo("\n".join(demo.next_steps(settings, host, port)))
    run_server(app, host, port)
