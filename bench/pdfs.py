"""What reading a folder of PDFs costs, against embedding the same papers, in one run.

    python bench/pdfs.py [--papers 200]

Builds one PDF per paper of the bundled arXiv sample (title, authors, an Abstract
section, an introduction; the ASCII ones, which the standard Times font can set), then:

- reads them in this process with ``search.pdf.read_pdf`` (the baseline);
- reads them through the sandbox, one child process for the folder (as ``papersearch
  index ./papers/`` does) and one child a file (as each upload to search by example does);
- embeds the same titles and abstracts with a random BERT-base in SPECTER2's shape (the
  proximity adapter), which is what indexing them costs besides reading.

It prints each as papers a second and as a ratio to the baseline, and how often the title
and the abstract read back are exactly the ones set.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

from workload import SAMPLE, scibert_shaped_specter

from search.pdf import PdfLimits, PdfSandbox, read_pdf
from tests import pdfs


def sample_papers(n: int) -> list[dict]:
    papers = []
    with SAMPLE.open(encoding="utf-8") as fh:
        for line in fh:
            paper = json.loads(line)
            text = paper["title"] + paper["summary"] + "".join(paper["authors"])
            if text.isascii() and "\\" not in text:
                papers.append(paper)
                if len(papers) == n:
                    break
    return papers


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--papers", type=int, default=200)
    args = parser.parse_args()
    papers = sample_papers(args.papers)
    folder = Path(tempfile.mkdtemp(prefix="papersearch-pdfs-"))
    files = []
    for i, paper in enumerate(papers):
        data = pdfs.paper_pdf(paper["title"], paper["summary"],
                              metadata={"/Author": "; ".join(paper["authors"][:20])})  # fmt: skip
        files.append(pdfs.write(folder, f"{i:04d}.pdf", data))
    size = sum(f.stat().st_size for f in files)
    print(f"{len(files)} PDFs, {size / len(files) / 1024:.1f} KB each, in {folder}")
    limits = PdfLimits()

    started = time.perf_counter()
    read = [read_pdf(f.read_bytes(), limits) for f in files]
    baseline = time.perf_counter() - started
    title_ok = sum(
        r.title == " ".join(p["title"].split()) for r, p in zip(read, papers, strict=True)
    )
    abstract_ok = sum(r.abstract == " ".join(p["summary"].split())
                      for r, p in zip(read, papers, strict=True))  # fmt: skip
    started = time.perf_counter()
    with PdfSandbox(limits) as sandbox:
        for f in files:
            sandbox.read(f)
    folder_seconds = time.perf_counter() - started
    uploads = files[:20]
    started = time.perf_counter()
    for f in uploads:
        with PdfSandbox(limits) as sandbox:
            sandbox.read(f)
    upload_seconds = (time.perf_counter() - started) / len(uploads) * len(files)

    from search.base.settings import Settings
    from search.model.encoder import Encoder

    root = Path(tempfile.mkdtemp(prefix="papersearch-pdfs-model-"))
    dirs = scibert_shaped_specter(root)
    encoder = Encoder.load(Settings(home=root / "home", base_model=str(dirs["base"]),
                                    paper_adapter=str(dirs["proximity"]),
                                    query_adapter="none"))  # fmt: skip
    texts = [(r.title, r.abstract) for r in read]
    encoder.encode_papers(texts[:4])  # warm-up
    started = time.perf_counter()
    encoder.encode_papers(texts)
    embed_seconds = time.perf_counter() - started

    n = len(files)
    print(f"read back exactly: titles {title_ok}/{n}, abstracts {abstract_ok}/{n}")
    print(f"{'':34}{'papers/s':>10}{'× in-process':>15}")
    for label, seconds in (("in-process read_pdf (baseline)", baseline),
                           ("sandbox, one child (a folder)", folder_seconds),
                           ("sandbox, a child a file (uploads)", upload_seconds),
                           ("embedding, SPECTER2-shaped", embed_seconds)):  # fmt: skip
        print(f"{label:34}{n / seconds:10.1f}{seconds / baseline:15.2f}")
    print(f"reading a folder costs {folder_seconds / embed_seconds:.1%} of embedding it")


if __name__ == "__main__":
    main()
