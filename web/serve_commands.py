"""``papersearch serve``: the development server (``docs/web.md`` has production serving)."""

from __future__ import annotations

import click

from search.base.settings import Settings
from search.cli.options import settings_options


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
