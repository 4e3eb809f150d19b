"""What the engine answers with (result lists, papers, health) and how answers are
written out: snippets and the BibTeX/CSV/JSON exports."""

from __future__ import annotations

from search.answers.export import render
from search.answers.results import Hit, SearchResult

__all__ = ["Hit", "SearchResult", "render"]
