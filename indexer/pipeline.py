"""The write path: corpus files → store → embeddings → FAISS index build → publish.

``index`` and ``reindex`` are the same run with different options. Each stage
commits as it goes, so an interrupted run loses no finished work: stored
papers stay stored, computed vectors stay computed, and the next run embeds
only what is still missing. A new build becomes current only after its file
is complete and fsynced, in one transaction; until then searches keep using
the previous build.
"""

from __future__ import annotations

import json
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from pathlib import Path

from tqdm import tqdm

from indexer.checkpoints import checkpoint
from indexer.lock import write_lock
from indexer.readers import Reject, read_corpus
from search import index as faiss_index
from search import tuning
from search.db import make_engine, session_factory, upgrade
from search.encoder import Encoder
from search.records import PaperRecord
from search.schema import IndexBuild
from search.settings import Settings
from search.store import ADDED, UNCHANGED, UPDATED, PaperStore

UPSERT_BATCH = 1000
TUNE_QUERIES = 200  # corpus titles used as queries when new centroids are tuned
EMBED_CHUNK = 512  # vectors are committed this often: a crash loses at most one chunk
# Re-train IVF centroids when the corpus has drifted this much since training.
RETRAIN_GROWTH = 2.0  # corpus grew or shrank by this factor
RETRAIN_NEW_FRACTION = 0.2  # new or changed vectors since training, as a share of trained ones


class NothingToIndex(RuntimeError):
    """The store holds no embedded paper (for example: every record was rejected)."""


class UnsafeSnapshot(RuntimeError):
    """A full snapshot would withdraw papers it should not: nothing was withdrawn."""


@dataclass
class RunSummary:
    read: int = 0
    stored: int = 0
    added: int = 0
    updated: int = 0
    unchanged: int = 0
    removed: int = 0
    rejected: int = 0
    duplicates: int = 0
    embedded: int = 0
    seconds: float = 0.0
    papers_per_second: float = 0.0
    build_id: int | None = None
    index_type: str | None = None
    vector_count: int = 0
    retrained: bool = False
    retrain_reason: str | None = None
    pruned: list[int] = field(default_factory=list)
    rejects_file: str | None = None
    files: list[str] = field(default_factory=list)
    truncated: bool = False

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
    summary: RunSummary,
) -> set[str]:
    """Read every file once, streaming, and store its papers; returns the ids they hold.

    For a repeated id the last record wins: it is stored over the earlier one,
    and counted once (as a duplicate, not as another paper).
    """
    # external id → (what its record did, the paper's state before this run)
    outcomes: dict[str, tuple[str, str | None]] = {}
    batch: dict[str, PaperRecord] = {}
    rejects_file = None

    def flush() -> None:
        for external_id, (outcome, before) in store.upsert(list(batch.values())).items():
            if external_id in outcomes:  # a duplicate from an earlier batch: judge the last
                before = outcomes[external_id][1]  # record against the state before the run
                record_hash = batch[external_id].content_hash
                outcome = (
                    ADDED if before is None else UNCHANGED if before == record_hash else UPDATED
                )
            outcomes[external_id] = (outcome, before)
        batch.clear()

    try:
        for path in paths:
            for line, item in read_corpus(path, fmt):
                if isinstance(item, Reject):
                    if rejects_file is None:
                        rejects_path.parent.mkdir(parents=True, exist_ok=True)
                        rejects_file = rejects_path.open("w", encoding="utf-8")
                    record = {"file": str(path), "line": line, **asdict(item)}
                    rejects_file.write(json.dumps(record, ensure_ascii=False) + "\n")
                    summary.rejected += 1
                    summary.truncated |= item.truncated
                    continue
                summary.read += 1
                if item.external_id in batch or item.external_id in outcomes:
                    summary.duplicates += 1
                    batch.pop(item.external_id, None)  # keeps the batch in file order
                batch[item.external_id] = item
                if len(batch) >= UPSERT_BATCH:
                    flush()
        flush()
    finally:
        if rejects_file is not None:
            rejects_file.close()
    tally = Counter(outcome for outcome, _ in outcomes.values())
    summary.added, summary.updated, summary.unchanged = (
        tally[ADDED],
        tally[UPDATED],
        tally[UNCHANGED],
    )
    summary.stored = len(outcomes)
    summary.rejects_file = str(rejects_path) if summary.rejected else None
    return set(outcomes)


def withdraw_missing(
    store: PaperStore, present: set[str], summary: RunSummary, max_removed: float
) -> None:
    """Full snapshot: papers it no longer holds leave search (rows and ids are kept)."""
    if summary.truncated:
        raise UnsafeSnapshot(
            "The corpus file is truncated or corrupt, so it is not a full snapshot: "
            "no paper was withdrawn and no new index was built. New and changed papers "
            "were stored. Fix the file, or run with --delta."
        )
    missing = store.missing_ids(present)
    active = store.count()
    if missing and len(missing) > max_removed * max(active, 1):
        raise UnsafeSnapshot(
            f"The snapshot lacks {len(missing)} of {active} papers "
            f"(more than --max-removed {max_removed:.0%}): nothing was withdrawn and no "
            "new index was built. If that is right, run again with a higher --max-removed."
        )
    store.withdraw(missing)
    summary.removed = len(missing)


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
        checkpoint("embedding")
    return done


def retrain_reason(
    previous: IndexBuild | None,
    model_key: str,
    n_vectors: int,
    added: int,
    settings: Settings,
    forced: bool,
) -> str | None:
    """Why the IVF centroids must be trained anew, or None to reuse the current build's.

    The rule: retrain when asked (--retrain), when there is no IVF build of this
    model to take centroids from, when nlist is set to another value, when the
    memory budget calls for another encoding of the vectors, when the
    corpus has grown or shrunk by 2× since the centroids were trained, or when
    the vectors added since training exceed 20% of those trained on.
    """
    if forced:
        return "asked to retrain"
    if previous is None or previous.nlist is None or previous.model_key != model_key:
        return "no IVF build of this model to reuse"
    if faiss_index.choose_nlist(n_vectors) is None and settings.nlist is None:
        return "corpus now small enough for an exact index"
    if settings.nlist is not None and settings.nlist != previous.nlist:
        return f"nlist set to {settings.nlist}"
    encoding = faiss_index.choose_encoding(n_vectors, previous.dim, settings.index_memory)
    if encoding != faiss_index.encoding_of(previous.index_type):
        return f"index encoding changes to {encoding} (PAPERSEARCH_INDEX_MEMORY)"
    trained = previous.trained_vectors or previous.vector_count
    if not trained / RETRAIN_GROWTH <= n_vectors <= trained * RETRAIN_GROWTH:
        return f"corpus changed from {trained} to {n_vectors} vectors since training"
    if previous.added_since_training + added > RETRAIN_NEW_FRACTION * trained:
        return "over 20% of the vectors are new since training"
    if not Path(previous.path).is_file():
        return "the previous index file is missing"
    return None


def build_index(
    store: PaperStore,
    encoder: Encoder,
    settings: Settings,
    *,
    retrain: bool = True,
    added: int = 0,
) -> tuple[IndexBuild, str | None]:
    """Build a new index file from the stored vectors and make it the current build.

    Returns the build and why its centroids were trained (None: reused).
    """
    started = time.perf_counter()
    info = encoder.info
    ids, vectors = store.all_vectors(info.key)
    if len(ids) == 0:
        raise NothingToIndex(
            "There are no papers to index: the corpus gave no usable record "
            "(see the rejects file for why)."
        )
    previous = store.current_build()
    reason = retrain_reason(previous, info.key, len(ids), added, settings, retrain)
    if reason is None:
        try:
            faiss_index.verify(Path(previous.path), previous.checksum)
        except faiss_index.IndexCorrupt as exc:
            reason = f"the previous build cannot be reused ({exc})"
    trained = None if reason else faiss_index.VectorIndex.read(Path(previous.path), mmap=False)
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
    path = build_path(settings, build.id)
    try:
        built = faiss_index.build(
            vectors,
            ids,
            nlist=settings.nlist,
            nprobe=settings.nprobe or (previous.nprobe if trained else None),
            device=settings.device,
            memory_budget=settings.index_memory,
            trained=trained,
        )
        tuned_recall = previous.tuned_recall if trained else None
        if built.nlist and trained is None and settings.nprobe is None:
            built.nprobe, tuned_recall = tune_new_index(store, encoder, built.index, ids, vectors)
        checksum = faiss_index.write(
            built.index, path, before_rename=lambda: checkpoint("index-written")
        )
        checkpoint("publish")
        lineage = (
            {"trained_vectors": len(ids), "centroids_from": None, "added_since_training": 0}
            if trained is None
            else {
                "trained_vectors": previous.trained_vectors or previous.vector_count,
                "centroids_from": previous.centroids_from or previous.id,
                "added_since_training": previous.added_since_training + added,
            }
        )
        finished = store.finish_build(
            build.id,
            index_type=built.index_type,
            nlist=built.nlist,
            nprobe=built.nprobe,
            vector_count=len(ids),
            device=built.device,
            path=str(path.resolve()),
            seconds=round(time.perf_counter() - started, 3),
            tuned_recall=tuned_recall,
            checksum=checksum,
            **lineage,
        )
        return finished, reason
    except BaseException:
        store.fail_build(build.id)
        path.unlink(missing_ok=True)
        raise


def tune_new_index(store: PaperStore, encoder: Encoder, index, ids, vectors) -> tuple[int, float]:
    """The smallest nprobe reaching the target recall@10, measured on corpus titles as queries."""
    queries = encoder.encode_queries(store.sample_titles(TUNE_QUERIES))
    rows = tuning.measure(faiss_index.VectorIndex(index), ids, vectors, queries)
    nprobe = tuning.smallest_nprobe(rows)
    return nprobe, next(row.recall for row in rows if row.nprobe == nprobe)


def build_path(settings: Settings, build_id: int) -> Path:
    return settings.builds_dir / f"build-{build_id:06d}.faiss"


def clean_up_after_crashes(store: PaperStore, settings: Settings) -> None:
    """Builds a killed run left unfinished become failed; their files go."""
    for build in store.fail_unfinished_builds():
        build_path(settings, build.id).unlink(missing_ok=True)
    if settings.builds_dir.is_dir():
        for tmp in settings.builds_dir.glob("*.tmp"):
            tmp.unlink(missing_ok=True)


def prune(store: PaperStore, settings: Settings) -> list[int]:
    """Keep the last N published builds (PAPERSEARCH_KEEP_BUILDS); delete older files."""
    pruned = store.prune_builds(settings.keep_builds)
    for build in pruned:
        Path(build.path).unlink(missing_ok=True)
    return [build.id for build in pruned]


def run(
    settings: Settings,
    paths: Sequence[Path],
    *,
    fmt: str = "auto",
    snapshot: bool = False,
    retrain: bool = False,
    max_removed: float = 0.25,
    rejects_path: Path | None = None,
    encoder: Encoder | None = None,
    progress: bool = False,
) -> RunSummary:
    """One write run: read, store, (withdraw), embed what changed, build, publish, prune."""
    started = time.perf_counter()
    summary = RunSummary(files=[str(p) for p in paths])
    for path in paths:
        if not Path(path).is_file():
            raise FileNotFoundError(f"Corpus file not found: {path}")
    with write_lock(settings.home):
        store = open_store(settings)
        clean_up_after_crashes(store, settings)
        present = ingest(store, paths, fmt, rejects_path or default_rejects_path(settings), summary)
        if snapshot:
            withdraw_missing(store, present, summary, max_removed)
        encoder = encoder or Encoder.load(settings)
        pending = store.count_pending_embeddings(encoder.info.key)
        embed_started = time.perf_counter()
        # disable=None: a progress bar on a terminal, nothing in cron logs.
        with tqdm(
            total=pending, unit="paper", desc="embedding", disable=None if progress else True
        ) as bar:
            summary.embedded = embed_pending(store, encoder, bar.update)
        embed_seconds = time.perf_counter() - embed_started
        build, reason = build_index(
            store, encoder, settings, retrain=retrain, added=summary.embedded
        )
        summary.pruned = prune(store, settings)
    summary.build_id = build.id
    summary.index_type = build.index_type
    summary.vector_count = build.vector_count
    summary.retrained = reason is not None
    summary.retrain_reason = reason
    summary.seconds = round(time.perf_counter() - started, 2)
    if summary.embedded:
        summary.papers_per_second = round(summary.embedded / max(embed_seconds, 1e-9), 2)
    return summary


def index_corpus(settings: Settings, paths: Sequence[Path], **options) -> RunSummary:
    """``papersearch index``: add or update papers and build an index with fresh centroids."""
    return run(settings, paths, snapshot=False, retrain=True, **options)
