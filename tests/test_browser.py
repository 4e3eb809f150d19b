"""A real browser (headless Chromium from Debian, driven by Playwright) against a live server,
and the production server command (gunicorn) answering /api/v1/health."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
import urllib.request

import pytest

from indexer.pipeline import index_corpus
from search.base.settings import Settings
from tests.helpers import REPO, free_port, sample_lines, serve_in_thread, write_lines
from web import create_app

pytestmark = pytest.mark.slow  # a real browser, a real production server

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@pytest.fixture(scope="module")
def small_index(tmp_path_factory, tiny_encoder) -> Settings:
    root = tmp_path_factory.mktemp("live")
    settings = Settings(home=root / "data")
    index_corpus(settings, [write_lines(root / "c.jsonl", sample_lines(120))], encoder=tiny_encoder)
    return settings


@pytest.fixture(scope="module")
def live_server(small_index, tiny_encoder):
    with serve_in_thread(create_app(small_index, encoder=tiny_encoder)) as url:
        yield url


@pytest.fixture(scope="module")
def browser():
    playwright = pytest.importorskip("playwright.sync_api")
    if not os.path.exists(CHROMIUM):
        pytest.skip("Chromium is not installed (apt-get install chromium)")
    with playwright.sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


def test_search_flow_in_a_real_browser(browser, live_server):
    page = browser.new_page()
    page.goto(live_server + "/")
    box = page.locator("input[name=q]")
    assert box.evaluate("el => document.activeElement === el")  # autofocus on the landing page
    box.fill("transformer models for vision")
    box.press("Enter")
    page.wait_for_url("**/?q=transformer+models+for+vision")
    results = page.locator("ol.results > li")
    assert results.count() == 10
    assert "Results 1–10 of all 120 papers" in " ".join(
        page.locator(".summary").inner_text().split()
    )
    assert page.locator("input[name=q]").input_value() == "transformer models for vision"

    first_title = results.first.locator("h2 a").inner_text()
    page.locator("a[rel=next]").click()
    page.wait_for_url("**page=2")
    assert page.locator("ol.results").get_attribute("start") == "11"
    assert page.locator("ol.results > li").count() == 10
    assert page.locator("[aria-current=page]").inner_text() == "2"

    page.go_back()
    page.locator("ol.results > li").first.locator("h2 a").click()
    page.wait_for_url("**/papers/*")
    assert page.locator("h1").inner_text() == first_title
    assert page.locator("section.similar ol.results > li").count() == 10

    # "/" focuses the search box (the small script), and the page is keyboard-usable.
    page.locator("body").press("/")
    assert page.locator("input[name=q]").evaluate("el => document.activeElement === el")
    page.close()


def test_filters_modes_and_more_like_these_in_a_real_browser(browser, live_server):
    page = browser.new_page()
    page.goto(live_server + "/?q=graph")
    page.locator("details.search-options summary").click()
    page.select_option("select[name=mode]", "keyword")
    page.fill("input[name=category]", "cs")
    page.locator("input[name=q]").press("Enter")
    page.wait_for_url("**/?q=graph&mode=keyword&category=cs")  # empty fields stay out
    assert page.locator("select[name=mode]").input_value() == "keyword"  # state from the URL
    assert page.locator("input[name=category]").input_value() == "cs"
    assert page.locator("ol.results mark").count() > 0  # matched words highlighted
    nxt = page.locator("a[rel=next]")
    if nxt.count():
        assert "mode=keyword" in nxt.get_attribute("href") and "category=cs" in nxt.get_attribute(
            "href"
        )
    bib = page.locator(".downloads a", has_text="BibTeX").get_attribute("href")
    assert "format=bibtex" in bib and "mode=keyword" in bib

    page.select_option("select[name=mode]", "hybrid")  # the default mode stays out of the URL
    page.locator("input[name=q]").press("Enter")
    page.wait_for_url("**/?q=graph&category=cs")
    assert page.locator("select[name=mode]").input_value() == "hybrid"

    boxes = page.locator("ol.results input[name=like]")
    chosen = [boxes.nth(0).get_attribute("value"), boxes.nth(1).get_attribute("value")]
    boxes.nth(0).check()
    boxes.nth(1).check()
    page.get_by_role("button", name="More like the checked papers").click()
    page.wait_for_url("**/recommend?like=*")
    assert page.locator("h1").inner_text() == "More like 2 papers"
    shown = page.locator("ol.results input[name=like]")
    assert shown.count() == 20
    assert not set(chosen) & {shown.nth(i).get_attribute("value") for i in range(20)}

    page.goto(live_server + "/example")
    page.fill("input[name=title]", "Graph neural networks for molecules")
    page.fill("textarea[name=abstract]", "We predict molecular properties with message passing.")
    page.get_by_role("button", name="Find similar papers").click()
    page.wait_for_url("**/example")
    assert page.locator("ol.results > li").count() == 20
    page.close()


def test_dark_mode_follows_the_system(browser, live_server):
    light = browser.new_page(color_scheme="light")
    dark = browser.new_page(color_scheme="dark")
    colours = []
    for page in (light, dark):
        page.goto(live_server + "/")
        colours.append(page.evaluate("getComputedStyle(document.body).backgroundColor"))
        page.close()
    assert colours[0] != colours[1]


def test_production_server_starts_and_answers_health(small_index):
    if shutil.which("gunicorn", path=os.path.dirname(sys.executable)) is None:
        pytest.skip("gunicorn is not installed")
    port = free_port()
    env = {
        **os.environ,
        "PAPERSEARCH_HOME": str(small_index.home),
        "PAPERSEARCH_BIND": f"127.0.0.1:{port}",
        "PAPERSEARCH_WORKERS": "1",
    }
    proc = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "-c", "python:web.gunicorn_conf", "web.wsgi:app"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    try:
        deadline = time.monotonic() + 60
        body = None
        while time.monotonic() < deadline and proc.poll() is None:
            try:
                with urllib.request.urlopen(
                    f"http://127.0.0.1:{port}/api/v1/health", timeout=5
                ) as r:
                    body = r.read().decode()
                    break
            except OSError:
                time.sleep(0.3)
        assert body is not None, (
            proc.stdout.read1().decode() if proc.poll() is not None else "no answer"
        )
        assert '"status":"ok"' in body and '"papers":120' in body
    finally:
        proc.terminate()
        proc.wait(timeout=30)


def test_the_screenshot_script_photographs_the_search_page(small_index, tmp_path):
    """docs/screenshot.py, which makes the README's picture, on a small index."""
    import struct

    pytest.importorskip("playwright.sync_api")
    if not os.path.exists(CHROMIUM):
        pytest.skip("Chromium is not installed (apt-get install chromium)")
    out = tmp_path / "shot.png"
    # Its own process, as it is run: Playwright's sync API refuses to start inside the
    # event loop the module's browser fixture keeps running.
    subprocess.run(
        [sys.executable, str(REPO / "docs/screenshot.py"), "--home", str(small_index.home),
         "--out", str(out), "--chromium", CHROMIUM],
        check=True, cwd=REPO, timeout=300,
    )  # fmt: skip
    header = out.read_bytes()[:24]
    assert header[:8] == b"\x89PNG\r\n\x1a\n"
    assert struct.unpack(">II", header[16:24]) == (1000, 1100)


@pytest.fixture(scope="module")
def citation_server(tmp_path_factory, tiny_encoder):
    """A live server over the 400 hep-th papers of tests/data, with their citations."""
    settings = Settings(home=tmp_path_factory.mktemp("hepth") / "data")
    index_corpus(settings, [REPO / "tests" / "data" / "hepth-400.jsonl.gz"], encoder=tiny_encoder)
    with serve_in_thread(create_app(settings, encoder=tiny_encoder)) as url:
        yield url


def test_the_citation_map_renders_in_a_real_browser(browser, citation_server):
    """The paper page draws its citation map: every paper a link to its page, the lines
    between them; it is there with JavaScript off too, and a click follows a node."""
    for scripts in (True, False):
        context = browser.new_context(java_script_enabled=scripts)
        page = context.new_page()
        page.goto(f"{citation_server}/papers/hep-th/9711200")
        drawn = page.locator("figure.citation-map svg")
        assert drawn.is_visible()
        box = drawn.bounding_box()
        assert box["width"] > 300 and box["height"] > 100
        nodes = page.locator("figure.citation-map svg a")
        assert nodes.count() >= 20 and page.locator("figure.citation-map svg path").count() > 20
        if scripts:
            target = nodes.nth(3).get_attribute("href")
            nodes.nth(3).locator("circle").click()
            page.wait_for_url(f"**{target}")
            assert page.locator("h1").inner_text()
        context.close()


def test_the_screenshot_script_photographs_the_citation_map(tmp_path):
    """docs/screenshot.py --map, which makes docs/search.md's picture."""
    pytest.importorskip("playwright.sync_api")
    if not os.path.exists(CHROMIUM):
        pytest.skip("Chromium is not installed (apt-get install chromium)")
    out = tmp_path / "map.png"
    subprocess.run(
        [sys.executable, str(REPO / "docs/screenshot.py"), "--map", "--home",
         str(tmp_path / "home"), "--out", str(out), "--chromium", CHROMIUM],
        check=True, cwd=REPO, timeout=600,
    )  # fmt: skip
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and out.stat().st_size > 20_000
