"""Regenerate the docs' screenshots: the README's search page, from the demo as it is now,
and docs/search.md's citation map.

    python docs/screenshot.py [--home papersearch-demo] [--out web/static/screenshot-search.png]
    python docs/screenshot.py --map [--home papersearch-hepth] [--out web/static/screenshot-map.png]

Indexes the bundled sample into the demo directory when it has not been (as
``papersearch demo`` does, with the same model choice), serves it on a loopback port
and photographs the search page in headless Chromium (Debian's ``chromium``, driven
by Playwright from the ``test`` extra). The query, mode and filter are the ones the
README's caption names; ``tests/test_docs.py`` holds the caption to them. With ``--map``,
the 400 hep-th papers of ``tests/data/hepth-400.jsonl.gz`` (a slice of the KDD Cup 2003
citation graph, with their citations) are indexed into the home directory when it has
no index, and the citation map on the page of its most cited paper is photographed.
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
    from indexer import demo
    from search.base.settings import Settings
    from web import create_app

    settings, encoder = demo.prepare(Settings.from_env().replace(home=home), print)
    app = create_app(settings, encoder=encoder)
    app.extensions["papersearch"].warm()
    shoot(app, f"/?{urlencode(PARAMS)}", None, out, chromium)


def shoot(app, path: str, element: str | None, out: Path, chromium: str) -> None:
    """Serve ``app`` on a loopback port and photograph ``path`` (the page, or the element
    that the CSS selector ``element`` names) in headless Chromium."""
    from playwright.sync_api import sync_playwright
    from werkzeug.serving import make_server

    server = make_server("127.0.0.1", 0, app, threaded=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS)
            page = browser.new_page(viewport=SIZE)
            page.goto(f"http://127.0.0.1:{server.server_port}{path}")
            (page.locator(element) if element else page).screenshot(path=str(out))
            browser.close()
    finally:
        server.shutdown()
    print(f"wrote {out} ({out.stat().st_size:,} bytes)")


MAP_CORPUS = REPO / "tests" / "data" / "hepth-400.jsonl.gz"
MAP_PAPER = "hep-th/9711200"  # the slice's most cited paper


def photograph_map(home: Path, out: Path, chromium: str) -> None:
    from indexer.pipeline import index_corpus
    from search.base.settings import Settings
    from search.store import Store
    from web import create_app

    settings = Settings.from_env().replace(home=home)
    if Store.open(settings, migrate=True).builds.current() is None:
        index_corpus(settings, [MAP_CORPUS])
    shoot(create_app(settings), f"/papers/{MAP_PAPER}", "figure.citation-map", out, chromium)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--map", action="store_true", help="the citation map, not the search")
    parser.add_argument("--home", type=Path)
    parser.add_argument("--out", type=Path)
    parser.add_argument("--chromium", default=shutil.which("chromium") or "/usr/bin/chromium")
    args = parser.parse_args()
    static = REPO / "web" / "static"
    if args.map:
        home, out = args.home or REPO / "papersearch-hepth", static / "screenshot-map.png"
        photograph_map(home, args.out or out, args.chromium)
    else:
        home, out = args.home or REPO / "papersearch-demo", static / "screenshot-search.png"
        photograph(home, args.out or out, args.chromium)
    return 0


if __name__ == "__main__":
    sys.exit(main())
