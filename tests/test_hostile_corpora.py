"""The indexer's memory on hostile corpora: `papersearch index` in a child process, its peak
RSS measured (os.wait4) against the same command on a small ordinary corpus, and what it
made of each file: an OpenAlex abstract that an inverted index inflates, a gzipped line
of a gigabyte, a PubMed file of non-article elements, a paper with 500,000 authors.
Before their bounds: 3.29 GB, 1 GB and more, 1.27 GB, and every author stored."""

from __future__ import annotations

import gzip
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from indexer.readers.bounds import MAX_AUTHORS, TEXT_CHARS
from tests.helpers import REPO, sample_lines, write_lines

pytestmark = pytest.mark.slow
HEADROOM_MB = 250  # what a hostile file may add to an ordinary run's peak


def index(corpus: Path, home: Path) -> tuple[float, dict, str]:
    """(peak RSS in MB, the run's JSON summary or {}, its stderr)."""
    process = subprocess.Popen(
        [sys.executable, "-m", "papersearch", "--home", str(home), "index", str(corpus),
         "--json", "--rejects", str(home.parent / f"{corpus.name}.rejects.jsonl")],
        cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=dict(os.environ),
    )  # fmt: skip
    out, err = process.stdout.read(), process.stderr.read()
    _, _, usage = os.wait4(process.pid, 0)
    process.returncode = 0
    summary = json.loads(out.splitlines()[-1]) if out.strip() else {}
    print(f"{corpus.name}: peak RSS {usage.ru_maxrss / 1024:.0f} MB")  # pytest -s shows it
    return usage.ru_maxrss / 1024, summary, err.decode()


def rejects(corpus: Path, home: Path) -> list[dict]:
    path = home.parent / f"{corpus.name}.rejects.jsonl"
    return [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []


@pytest.fixture(scope="module")
def baseline(tmp_path_factory, tiny_model_dirs) -> float:
    root = tmp_path_factory.mktemp("ordinary")
    peak, summary, err = index(write_lines(root / "c.jsonl", sample_lines(20)), root / "home")
    assert summary.get("stored") == 20, err[-2000:]
    return peak


def test_an_inflating_inverted_index_is_cut_as_it_is_built(baseline, tmp_path):
    """A 131 KB line naming a 2 KB word at 20,000 positions: a 40 MB abstract before."""
    word = "w" * 2000
    work = {"id": "https://openalex.org/W1", "title": "An inflated abstract",
            "abstract_inverted_index": {word: list(range(20_000))}}  # fmt: skip
    corpus = write_lines(tmp_path / "works.jsonl", [json.dumps(work)])
    peak, summary, err = index(corpus, tmp_path / "home")
    assert summary.get("stored") == 1 and summary["dropped_fields"] == {"abstract": 1}, err
    assert peak < baseline + HEADROOM_MB, (peak, baseline)
    (cut,) = rejects(corpus, tmp_path / "home")
    assert cut["kept"] and f"the first {TEXT_CHARS['abstract']:,} kept" in cut["reason"]


def test_a_gigabyte_line_is_skipped_unread(baseline, tmp_path):
    """One 1 GB line in a 1 MB .gz (a 1 GB title before), then an ordinary paper."""
    corpus = tmp_path / "huge.jsonl.gz"
    with gzip.open(corpus, "wb", compresslevel=1) as fh:
        fh.write(b'{"id": "2101.00001", "title": "')
        block = b"a" * 2**20
        for _ in range(1024):
            fh.write(block)
        fh.write(b'", "summary": "x"}\n')
        fh.write(sample_lines(1)[0].encode() + b"\n")
    assert corpus.stat().st_size < 8 * 2**20
    peak, summary, err = index(corpus, tmp_path / "home")
    assert summary.get("stored") == 1 and summary["rejected"] == 1, err
    assert peak < baseline + HEADROOM_MB, (peak, baseline)
    assert "line longer than 16 MB" in rejects(corpus, tmp_path / "home")[0]["reason"]


def test_a_pubmed_file_of_other_elements_is_refused_after_a_few_megabytes(baseline, tmp_path):
    """An article, then 90 MB of elements that are not articles (1.27 GB before)."""
    article = (REPO / "tests/data/pubmed/baseline.xml").read_text()
    first = article[article.index("<PubmedArticle>") : article.index("</PubmedArticle>") + 16]
    corpus = tmp_path / "junk.xml"
    with corpus.open("wb") as fh:
        fh.write(b'<?xml version="1.0"?>\n<PubmedArticleSet>' + first.encode() + b"<Junk>")
        chunk = b"<a>x</a>" * 100_000
        for _ in range(90 * 2**20 // len(chunk)):
            fh.write(chunk)
        fh.write(b"</Junk></PubmedArticleSet>")
    peak, summary, err = index(corpus, tmp_path / "home")
    assert summary.get("stored") == 1 and summary["rejected"] == 1, err
    assert peak < baseline + HEADROOM_MB, (peak, baseline)
    refused = [r for r in rejects(corpus, tmp_path / "home") if not r.get("kept")]
    assert "MB of XML without an article" in refused[0]["reason"]


def test_half_a_million_authors_are_cut_to_the_bound(baseline, tmp_path):
    paper = json.loads(sample_lines(1)[0])
    paper["authors"] = [f"Author Number{n}" for n in range(500_000)]
    corpus = write_lines(tmp_path / "authors.jsonl", [json.dumps(paper)])
    peak, summary, err = index(corpus, tmp_path / "home")
    assert summary.get("stored") == 1 and summary["dropped_fields"] == {"authors": 1}, err
    assert peak < baseline + HEADROOM_MB, (peak, baseline)
    from search.base.settings import Settings
    from search.store import Store

    stored = Store.open(Settings(home=tmp_path / "home")).papers.get_by_external_id(paper["id"])
    assert len(stored.authors) == MAX_AUTHORS
