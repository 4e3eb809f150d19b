"""Reading an uploaded BibTeX library: papersearch's linear LaTeX decoding and field bounds
against the decoding it replaced (bibtexparser's pylatexenc middleware), in one run.

    python bench/bibtex.py [--old-timeout 60]

1. One entry whose abstract is 100 KB, 1 MB and 4 MB of LaTeX (accents, braces, math, as
   exports write them): ``parse_bibtex`` as the server reads an upload; the linear
   decoder on the whole field (not cut to its bound); and pylatexenc on the same field, in
   a child process stopped after ``--old-timeout`` seconds.
2. A 2 MB library of 900 entries with abstracts (the bundled arXiv sample as a Zotero
   export would write it): the whole read, then its parts (parsing, decoding).

Each line prints the seconds and the ratio to the baseline of the same run.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

WORDS = r"Schr\"{o}dinger's equation on {\em curved} spaces --- a {\'E}tude of $\alpha$-helices, "
# What each abstract is made of: LaTeX as exports write it, and one unbroken word (the
# worst input found for pylatexenc: its time grows faster than the text).
KINDS = {"exports' LaTeX": WORDS, "one unbroken word": "a"}


def pylatexenc_decode(fields: list[str]) -> None:
    """What parse_bibtex did before: bibtexparser's LatexDecodingMiddleware on the fields."""
    from bibtexparser import Library
    from bibtexparser.middlewares import LatexDecodingMiddleware
    from bibtexparser.model import Entry, Field

    library = Library([Entry("article", f"e{i}", [Field("abstract", text)])
                       for i, text in enumerate(fields)])  # fmt: skip
    LatexDecodingMiddleware().transform(library)


def _child(fields: list[str], out) -> None:
    started = time.perf_counter()
    pylatexenc_decode(fields)
    out.put(time.perf_counter() - started)


def old_seconds(fields: list[str], timeout: float) -> float | None:
    """pylatexenc's seconds on ``fields`` in a child process; None past ``timeout``."""
    out = multiprocessing.Queue()
    child = multiprocessing.Process(target=_child, args=(fields, out))
    child.start()
    child.join(timeout)
    if child.is_alive():
        child.kill()
        child.join()
        return None
    return out.get()


def timed(work) -> float:
    started = time.perf_counter()
    work()
    return time.perf_counter() - started


def one_field(timeout: float) -> None:
    from search.base.latex import latex_to_text
    from search.engine.bibtex_library import parse_bibtex

    for kind, phrase in KINDS.items():
        print(f"one entry, its abstract {kind}:")
        print("  size     upload read   linear decoder   pylatexenc (before)   before / now")
        for size in (100_000, 1_000_000, 4_000_000):
            abstract = phrase * (size // len(phrase))  # whole phrases: balanced braces
            text = f"@article{{big, title = {{A large abstract}}, abstract = {{{abstract}}}}}"
            read = timed(lambda text=text: parse_bibtex(text))
            decoded = timed(lambda abstract=abstract: latex_to_text(abstract))
            old = old_seconds([abstract], timeout)
            before = f"{old:10.2f} s" if old is not None else f"> {timeout:.0f} s (stopped)"
            ratio = f"{old / read:,.0f}x" if old is not None else f"> {timeout / read:,.0f}x"
            print(
                f"  {size / 1e6:4.1f} MB {read:10.3f} s {decoded:12.3f} s   {before:>20}   {ratio}"
            )


def library_of_900(timeout: float) -> None:
    import bibtexparser

    from search.engine.bibtex_library import parse_bibtex

    rows = [json.loads(line) for line in (REPO / "indexer/data/arxiv-sample-3000.jsonl").open()]
    blocks = []
    for i, row in enumerate(rows[:900]):
        abstract = " ".join(row["summary"].split()).replace("{", "").replace("}", "")
        blocks.append(f"@article{{e{i}, title = {{{row['title']}}}, author = "
                      f"{{{' and '.join(row['authors'])}}}, abstract = {{{abstract}}}, "
                      f"note = {{{'n' * 600}}}}}\n")  # fmt: skip
    text = "".join(blocks)
    parsed = timed(lambda: bibtexparser.parse_string(text))
    read = timed(lambda: parse_bibtex(text))
    fields = [f.value for entry in bibtexparser.parse_string(text).entries
              for f in entry.fields if f.key in ("title", "abstract")]  # fmt: skip
    old = old_seconds(fields, timeout)
    print(f"a library of 900 entries with abstracts ({len(text.encode()) / 1e6:.1f} MB):")
    print(f"  bibtexparser's parsing alone {parsed:.3f} s; the whole read now {read:.3f} s")
    if old is None:
        print(f"  pylatexenc on its titles and abstracts (before): > {timeout:.0f} s (stopped)")
    else:
        print(
            f"  pylatexenc on its titles and abstracts (before): {old:.2f} s, "
            f"{old / read:,.0f}x the whole read now"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--old-timeout", type=float, default=60.0)
    args = parser.parse_args()
    one_field(args.old_timeout)
    library_of_900(args.old_timeout)


if __name__ == "__main__":
    main()
