"""search.answers.snippets and .export on their own."""

from __future__ import annotations

import csv
import io

from search.answers.export import bibtex_escape, csv_safe, to_csv
from search.answers.snippets import snippet


def test_the_snippet_holds_the_query_words_and_their_spans():
    text = "Filler sentence. " * 40 + "Graph neural networks for molecules. " + "More. " * 40
    shown, spans = snippet(text, ("graph", "molecules"), width=120)
    assert "Graph neural networks for molecules" in shown and len(shown) <= 160
    assert sorted(shown[a:b].lower() for a, b in spans) == ["graph", "molecules"]
    assert snippet(None, ("graph",)) == ("", [])


def test_exports_escape_what_their_readers_would_take_as_syntax():
    assert bibtex_escape("50% of {x} & y_z") == r"50\% of \{x\} \& y\_z"
    assert csv_safe("=HYPERLINK(1)") == "'=HYPERLINK(1)" and csv_safe(3) == 3
    header = next(csv.reader(io.StringIO(to_csv([]))))
    assert header[:4] == ["rank", "id", "external_id", "title"]
