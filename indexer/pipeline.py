"""The write path: corpus files → store → embeddings → FAISS index build.

Each stage commits as it goes, so an interrupted run loses no finished work:
stored papers stay stored, computed vectors stay computed, and the next run
embeds only what is still missing. A new index build becomes current only
once its file is complete (see :func:`build_index`).
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from pathlib import Path

from tqdm import tqdm

from indexer.readers import Reject, read_corpus
from search import index as faiss_index
from search.db import make_engine, session_factory, upgrade
from search.encoder import Encoder
from search.records import PaperRecord
from search.schema import IndexBuild
from search.settings import Settings
from search.store import PaperStore, UpsertCounts

UPSERT_BATCH = 1000
EMBED_CHUNK = 2048


class NothingToIndex(RuntimeError):
    """The store holds no embedded paper (for example: every record was rejected)."""


@dataclass
class IndexSummary:
    read: int = 0
    stored: int = 0
    added: int = 0
    updated: int = 0
    unchanged: int = 0
    rejected: int = 0
    duplicates: int = 0
    embedded: int = 0
    seconds: float = 0.0
    papers_per_second: float = 0.0
    build_id: int | None = None
    index_type: str | None = None
    vector_count: int = 0
    rejects_file: str | None = None
    files: list[str] = field(default_factory=list)

    def to_dict(self) -> dict:
        return asdict(self)


def open_store(settings: Settings) -> PaperStore:
    """The store with its schema brought up to date (write commands migrate themselves)."""
    engine = make_engine(settings)
    upgrade(engine)
    return PaperStore(session_factory(engine))


def default_rejects_path(settings: Settings) -> Path:
    stamp = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%SZ")
    return settings.home / "rejects" / f"rejects-{stamp}.jsonl"


def ingest(
    store: PaperStore,
    paths: Sequence[Path],
    fmt: str,
    rejects_path: Path,
    summary: IndexSummary,
) -> None:
    """Read every file and store its papers; for a repeated id the last record wins."""
    # Pass 1 finds where each id last occurs, so pass 2 can store each paper
    # once while streaming (no whole corpus in memory).
    last_seen: dict[str, tuple[int, int]] = {}
    good = 0
    for file_no, path in enumerate(paths):
        for line, item in read_corpus(path, fmt):
            if isinstance(item, PaperRecord):
                last_seen[item.external_id] = (file_no, line)
                good += 1
    summary.read = good
    summary.duplicates = good - len(last_seen)

    counts = UpsertCounts()
    batch: list[PaperRecord] = []
    rejects_file = None
    try:
        for file_no, path in enumerate(paths):
            for line, item in read_corpus(path, fmt):
                if isinstance(item, Reject):
                    if rejects_file is None:
                        rejects_path.parent.mkdir(parents=True, exist_ok=True)
                        rejects_file = rejects_path.open("w", encoding="utf-8")
                    rejects_file.write(
                        json.dumps(
                            {
                                "file": str(path),
                                "line": line,
                                "reason": item.reason,
                                "excerpt": item.excerpt,
                            },
                            ensure_ascii=False,
                        )
                        + "\n"
                    )
                    summary.rejected += 1
                elif last_seen.get(item.external_id) == (file_no, line):
                    batch.append(item)
                    if len(batch) >= UPSERT_BATCH:
                        counts += store.upsert(batch)
                        batch = []
        counts += store.upsert(batch)
    finally:
        if rejects_file is not None:
            rejects_file.close()
    summary.added, summary.updated, summary.unchanged = (
        counts.added,
        counts.updated,
        counts.unchanged,
    )
    summary.stored = counts.added + counts.updated + counts.unchanged
    summary.rejects_file = str(rejects_path) if summary.rejected else None


def embed_pending(
    store: PaperStore,
    encoder: Encoder,
    on_batch: Callable[[int], object] | None = None,
) -> int:
    """Embed every paper that has no current vector for this model; returns how many."""
    key = encoder.info.key
    done = 0
    for chunk in store.pending_embeddings(key, EMBED_CHUNK):
        vectors = encoder.encode_papers([(p.title, p.abstract) for p in chunk], on_batch=on_batch)
        store.save_embeddings(key, chunk, vectors)
        done += len(chunk)
    return done


def build_index(store: PaperStore, encoder: Encoder, settings: Settings) -> IndexBuild:
    """Build a new index file from the stored vectors and make it the current build.

    The build row is marked complete in one transaction only after the file
    is written and fsynced; until then searches keep using the previous build.
    """
    started = time.perf_counter()
    info = encoder.info
    ids, vectors = store.all_vectors(info.key)
    if len(ids) == 0:
        raise NothingToIndex(
            "There are no papers to index: the corpus gave no usable record "
            "(see the rejects file for why)."
        )
    build = store.start_build(
        model_key=info.key,
        base_model=info.base_model,
        base_revision=info.base_revision,
        paper_adapter=info.paper_adapter,
        paper_adapter_revision=info.paper_adapter_revision,
        query_adapter=info.query_adapter,
        query_adapter_revision=info.query_adapter_revision,
        pooling=info.pooling,
        dim=info.dim,
        index_type="pending",
        path="",
    )
    path = settings.builds_dir / f"build-{build.id:06d}.faiss"
    try:
        built = faiss_index.build(
            vectors, ids, nlist=settings.nlist, nprobe=settings.nprobe, device=settings.device
        )
        faiss_index.write(built.index, path)
        return store.finish_build(
            build.id,
            index_type=built.index_type,
            nlist=built.nlist,
            nprobe=built.nprobe,
            vector_count=len(ids),
            device=built.device,
            path=str(path.resolve()),
            seconds=round(time.perf_counter() - started, 3),
        )
    except BaseException:
        store.fail_build(build.id)
        path.unlink(missing_ok=True)
        raise


def index_corpus(
    settings: Settings,
    paths: Sequence[Path],
    *,
    fmt: str = "auto",
    rejects_path: Path | None = None,
    encoder: Encoder | None = None,
    progress: bool = False,
) -> IndexSummary:
    """``papersearch index``: migrate, read, store, embed, build, record the build."""
    started = time.perf_counter()
    summary = IndexSummary(files=[str(p) for p in paths])
    for path in paths:
        if not Path(path).is_file():
            raise FileNotFoundError(f"Corpus file not found: {path}")
    store = open_store(settings)
    ingest(store, paths, fmt, rejects_path or default_rejects_path(settings), summary)
    encoder = encoder or Encoder.load(settings)
    pending = store.count_pending_embeddings(encoder.info.key)
    embed_started = time.perf_counter()
    # disable=None: a progress bar on a terminal, nothing in cron logs.
    with tqdm(
        total=pending, unit="paper", desc="embedding", disable=None if progress else True
    ) as bar:
        summary.embedded = embed_pending(store, encoder, bar.update)
    embed_seconds = time.perf_counter() - embed_started
    build = build_index(store, encoder, settings)
    summary.build_id = build.id
    summary.index_type = build.index_type
    summary.vector_count = build.vector_count
    summary.seconds = round(time.perf_counter() - started, 2)
    if summary.embedded:
        summary.papers_per_second = round(summary.embedded / max(embed_seconds, 1e-9), 2)
    return summary
