"""The keyword ranking papersearch had before keyword indexes, rebuilt for comparison:
SQLite's FTS5 over title, abstract and authors (porter stemming, diacritics removed),
BM25 with equal column weights, the query's words (less the stopwords of that release)
OR'ed, the top k and the total counted, as ``search/store/fulltext_sqlite.py`` ran it
at commit 871f263. The benchmarks measure the keyword index against it in the same run.
"""

from __future__ import annotations

import re
import sqlite3
from pathlib import Path

WORD = re.compile(r"\w+", re.UNICODE)
_STOPWORDS_TEXT = """a an and are as at be by can do does for from has have how in into is it
    its of on or than that the their there these this those to was were what when where which
    while who why will with within without"""
STOPWORDS = frozenset(_STOPWORDS_TEXT.split())


class Fts5:
    """An FTS5 table of papers in a SQLite file of its own."""

    def __init__(self, path: Path) -> None:
        self.db = sqlite3.connect(path, check_same_thread=False)
        self.db.execute(
            "CREATE VIRTUAL TABLE IF NOT EXISTS papers_fts USING fts5(title, abstract, authors, "
            "tokenize='porter unicode61 remove_diacritics 2')"
        )

    def add(self, rows) -> None:
        """(rowid, title, abstract, authors as text) rows."""
        self.db.executemany(
            "INSERT INTO papers_fts(rowid, title, abstract, authors) VALUES (?, ?, ?, ?)", rows
        )
        self.db.commit()

    def rank(self, text: str, limit: int) -> tuple[list[tuple[int, float]], int]:
        """([(rowid, score)] best first, total matches) for free text, as before."""
        words = [w.lower() for w in WORD.findall(text)]
        terms = list(dict.fromkeys(w for w in words if w not in STOPWORDS)) or words
        if not terms:
            return [], 0
        match = " OR ".join('"' + t.replace('"', '""') + '"' for t in terms[:64])
        rows = self.db.execute(
            "SELECT rowid, bm25(papers_fts, 1.0, 1.0, 1.0) AS r FROM papers_fts "
            "WHERE papers_fts MATCH ? ORDER BY r, rowid LIMIT ?", (match, limit)
        ).fetchall()  # fmt: skip
        total = self.db.execute(
            "SELECT count(*) FROM papers_fts WHERE papers_fts MATCH ?", (match,)
        ).fetchone()[0]
        return [(rowid, -score) for rowid, score in rows], total
