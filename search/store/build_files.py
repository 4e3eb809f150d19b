"""Every file of an index build, named in one place: its FAISS index, its on-disk inverted
lists when it has them, its keyword index and its citation graph (directories), side by
side in the builds directory. What a build's checksum covers, what a killed run may
leave behind and what pruning deletes are all read from here.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path

INDEX_SUFFIX = ".faiss"
LISTS_SUFFIX = ".ivfdata"  # FAISS's on-disk inverted lists, for a build too large for memory
KEYWORDS_SUFFIX = ".keywords"  # the build's Tantivy index, a directory
GRAPH_SUFFIX = ".graph"  # the build's citation graph (search.graph), a directory


@dataclass(frozen=True)
class BuildFiles:
    """One build's files: ``lists``, ``keywords`` and ``graph`` None when it has none."""

    index: Path
    lists: Path | None
    keywords: Path | None
    graph: Path | None = None

    @classmethod
    def named(cls, directory: Path, build_id: int) -> BuildFiles:
        """The names a build's files are written under, all of them (what a killed run may
        have left of any)."""
        stem = f"build-{build_id:06d}"
        return cls(*(directory / f"{stem}{suffix}" for suffix in
                     (INDEX_SUFFIX, LISTS_SUFFIX, KEYWORDS_SUFFIX, GRAPH_SUFFIX)))  # fmt: skip

    @classmethod
    def recorded(
        cls, directory: Path, path: str, lists: str | None, keywords: str | None,
        graph: str | None = None,
    ) -> BuildFiles:  # fmt: skip
        """The files a build's row records: names in ``directory`` (rows from older releases
        hold absolute paths, still honoured)."""
        index = Path(path)
        return cls(index if index.is_absolute() else directory / index,
                   directory / lists if lists else None,
                   directory / keywords if keywords else None,
                   directory / graph if graph else None)  # fmt: skip

    def checksummed(self) -> list[Path]:
        """The files the build's checksum covers, in its order: the index, the lists, every
        file of the keyword index, then every file of the citation graph."""
        from search.graph.files import graph_files
        from search.keyword_index.documents import index_files

        lists = [self.lists] if self.lists else []
        keywords = index_files(self.keywords) if self.keywords else []
        return [self.index, *lists, *keywords, *(graph_files(self.graph) if self.graph else [])]

    def remove(self) -> None:
        """Delete whatever of them exists."""
        for path in (self.index, self.lists, self.keywords, self.graph):
            if path is None:
                continue
            if path.is_dir():
                shutil.rmtree(path, ignore_errors=True)
            else:
                path.unlink(missing_ok=True)
