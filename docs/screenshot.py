"""Regenerate the README's screenshot of the search page, from the demo as it is now.

    python docs/screenshot.py [--home papersearch-demo] [--out web/static/screenshot-search.png]

Indexes the bundled sample into the demo directory when it has not been (as
``papersearch demo`` does, with the same model choice), serves it on a loopback port
and photographs the search page in headless Chromium (Debian's ``chromium``, driven
by Playwright from the ``test`` extra). The query, mode and filter are the ones the
README's caption names; ``tests/test_docs.py`` holds the caption to them.
"""

from __future__ import annotations

import argparse
import shutil
import sys
import threading
from pathlib import Path
from urllib.parse import urlencode

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

QUERY = "diffusion models for image editing"
PARAMS = {"q": QUERY, "mode": "hybrid", "year": "2025-"}
CAPTION = f'The search page: "{QUERY}", hybrid ranking, papers from 2025 on'
SIZE = {"width": 1000, "height": 1100}
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update",
                 "--disable-sync"]  # fmt: skip


def photograph(home: Path, out: Path, chromium: str) -> None:
    from playwright.sync_api import sync_playwright
    from werkzeug.serving import make_server

    from indexer import demo
    from search.base.settings import Settings
    from web import create_app

    settings, encoder = demo.prepare(Settings.from_env().replace(home=home), print)
    app = create_app(settings, encoder=encoder)
    app.extensions["papersearch"].warm()
    server = make_server("127.0.0.1", 0, app, threaded=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS)
            page = browser.new_page(viewport=SIZE)
            page.goto(f"http://127.0.0.1:{server.server_port}/?{urlencode(PARAMS)}")
            page.screenshot(path=str(out))
            browser.close()
    finally:
        server.shutdown()
    print(f"wrote {out} ({out.stat().st_size:,} bytes)")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--home", type=Path, default=REPO / "papersearch-demo")
    parser.add_argument("--out", type=Path, default=REPO / "web/static/screenshot-search.png")
    parser.add_argument("--chromium", default=shutil.which("chromium") or "/usr/bin/chromium")
    args = parser.parse_args()
    photograph(args.home, args.out, args.chromium)
    return 0


if __name__ == "__main__":
    sys.exit(main())
