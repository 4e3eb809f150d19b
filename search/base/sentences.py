"""A title made from an abstract's first sentence, for a paper that has none: a corpus
record without a title (indexer.fields) and a PDF whose title could not be read
(search.engine.pdf_example) are titled the same way."""

from __future__ import annotations

import re

TITLE_FROM_ABSTRACT_CHARS = 200  # the longest title cut from an abstract's first sentence
_SENTENCE = re.compile(r"(.+?[.!?])(?=\s+[A-Z0-9(\[]|$)")


def first_sentence(text: str, limit: int = TITLE_FROM_ABSTRACT_CHARS) -> str:
    """The text's first sentence, cut at a word (with "…") past ``limit`` characters."""
    match = _SENTENCE.match(text)
    sentence = match.group(1) if match else text
    if len(sentence) <= limit:
        return sentence
    cut = sentence[:limit].rsplit(" ", 1)[0]
    return cut.rstrip(" ,;:") + "…"
