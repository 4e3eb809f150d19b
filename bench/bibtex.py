"""Reading an uploaded BibTeX library: papersearch's linear LaTeX decoding and field bounds
against the decoding it replaced (bibtexparser's pylatexenc middleware), in one run.

    python bench/bibtex.py [--old-timeout 60] [--home DIR]

1. One entry whose abstract is 100 KB, 1 MB and 4 MB of LaTeX (accents, braces, math, as
   exports write them): ``parse_bibtex`` as the server reads an upload; the linear
   decoder on the whole field (not cut to its bound); and pylatexenc on the same field, in
   a child process stopped after ``--old-timeout`` seconds.
2. A 2 MB library of 900 entries with abstracts (the bundled arXiv sample as a Zotero
   export would write it): the whole read, then its parts (parsing, decoding).
3. With ``--home`` (a data directory with an index, such as the demo's): that library's
   whole request through the engine (``Recommendations.from_bibtex``: read, matched,
   the entries the corpus lacks embedded, ranked, kept), and where its time goes.

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


def library_text() -> str:
    """900 entries of the bundled sample as an export writes them (a note each); every
    other one retitled, so that the corpus lacks it and it is embedded."""
    rows = [json.loads(line) for line in (REPO / "indexer/data/arxiv-sample-3000.jsonl").open()]
    blocks = []
    for i, row in enumerate(rows[:900]):
        abstract = " ".join(row["summary"].split()).replace("{", "").replace("}", "")
        title = row["title"] if i % 2 else f"A study of {row['title']}"
        blocks.append(f"@article{{e{i}, title = {{{title}}}, author = "
                      f"{{{' and '.join(row['authors'])}}}, abstract = {{{abstract}}}, "
                      f"note = {{{'n' * 600}}}}}\n")  # fmt: skip
    return "".join(blocks)


def whole_request(home: Path) -> None:
    """The 900-entry library through the engine, twice (the second read from the cache
    of library centres), with its parts timed."""
    from search.base.settings import Settings
    from search.engine import bibtex_library, recommendations
    from search.engine.engine import SearchEngine
    from search.model.identity import display_name

    engine = SearchEngine.open(Settings.from_env(home=str(home)))
    text, parts = library_text(), {}
    for module, name in ((recommendations, "parse_bibtex"), (bibtex_library, "match_library")):
        original = getattr(module, name)

        def timed_part(*args, _original=original, _name=name, **kwargs):
            started = time.perf_counter()
            try:
                return _original(*args, **kwargs)
            finally:
                parts[_name] = parts.get(_name, 0.0) + time.perf_counter() - started

        setattr(module, name, timed_part)
    assert engine.encoder is not None  # loaded before the clock starts, as a server's is
    started = time.perf_counter()
    result = engine.recommendations.from_bibtex(text, k=20)
    whole = time.perf_counter() - started
    again = timed(lambda: engine.recommendations.from_bibtex(text, k=20))
    facts = result.library
    print(f"the 900-entry library through the engine ({home}, "
          f"{display_name(engine.build.base_model)}):")  # fmt: skip
    print(f"  {whole:.2f} s: read {parts.get('parse_bibtex', 0):.2f} s, matched "
          f"{parts.get('match_library', 0):.2f} s ({facts.matched} in the corpus), "
          f"{facts.embedded} embedded ({facts.not_embedded} more left out), ranked and kept "
          f"in the rest; again (its centre remembered): {again:.2f} s")  # fmt: skip


def library_of_900(timeout: float) -> None:
    import bibtexparser

    from search.engine.bibtex_library import parse_bibtex

    text = library_text()
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
    parser.add_argument("--home", type=Path, help="a data directory with an index (part 3)")
    args = parser.parse_args()
    one_field(args.old_timeout)
    library_of_900(args.old_timeout)
    if args.home:
        whole_request(args.home)


if __name__ == "__main__":
    main()
