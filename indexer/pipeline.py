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

from indexer import fidelity
from indexer.build_lifecycle import FRESH_INDEX, build_index, clean_up_after_crashes, prune
from indexer.crash_points import checkpoint
from indexer.fields import warning_field
from indexer.lock import write_lock
from indexer.readers import CorpusNotFound, Reject, read_corpus
from search.base.errors import PapersearchError
from search.base.settings import Settings
from search.model.encoder import Encoder
from search.store import Store
from search.store import vectors as vector_files
from search.store.papers import ADDED, UNCHANGED, UPDATED
from search.store.records import PaperRecord

UPSERT_BATCH = 1000
EMBED_CHUNK = 512  # vectors are committed this often: a crash loses at most one chunk


class UnsafeSnapshot(PapersearchError):
    """A full snapshot would withdraw papers it should not: nothing was withdrawn."""

    code = "unsafe_snapshot"


@dataclass
class RunSummary:
    read: int = 0
    stored: int = 0
    added: int = 0
    updated: int = 0
    unchanged: int = 0
    removed: int = 0
    rejected: int = 0
    # Papers kept without a bad optional field (or titled from their abstract), and how
    # many times each field was dropped; each is listed in the rejects file, "kept": true.
    warnings: int = 0
    dropped_fields: dict[str, int] = field(default_factory=dict)
    duplicates: int = 0
    embedded: int = 0
    checked: int = 0  # of those, embedded by the fast precision's check (once per model)
    seconds: float = 0.0
    papers_per_second: float = 0.0
    build_id: int | None = None
    index_type: str | None = None
    vector_count: int = 0
    retrained: bool = False
    retrain_reason: str | None = None
    # The build's keyword index: how long writing it took, and the build it was derived
    # from (None: written afresh; both None when nothing was built).
    keywords_seconds: float | None = None
    keywords_derived_from: int | None = None
    published: bool = False  # False: nothing changed, the current build stays
    pruned: list[int] = field(default_factory=list)
    rejects_file: str | None = None
    files: list[str] = field(default_factory=list)
    truncated: bool = False

    def to_dict(self) -> dict:
        return asdict(self)


def default_rejects_path(settings: Settings) -> Path:
    stamp = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%SZ")
    return settings.home / "rejects" / f"rejects-{stamp}.jsonl"


def ingest(
    store: Store,
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
        for external_id, (outcome, before) in store.papers.upsert(list(batch.values())).items():
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
                if item.warnings:
                    if rejects_file is None:
                        rejects_path.parent.mkdir(parents=True, exist_ok=True)
                        rejects_file = rejects_path.open("w", encoding="utf-8")
                    for warning in item.warnings:
                        record = {"file": str(path), "line": line, "id": item.external_id,
                                  "reason": warning, "kept": True}  # fmt: skip
                        rejects_file.write(json.dumps(record, ensure_ascii=False) + "\n")
                        name = warning_field(warning)
                        summary.dropped_fields[name] = summary.dropped_fields.get(name, 0) + 1
                    summary.warnings += 1
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
    summary.rejects_file = str(rejects_path) if summary.rejected or summary.warnings else None
    return set(outcomes)


def withdraw_missing(
    store: Store, present: set[str], summary: RunSummary, max_removed: float
) -> None:
    """Full snapshot: papers it no longer holds leave search (rows and ids are kept)."""
    if summary.truncated:
        raise UnsafeSnapshot(
            "The corpus file is truncated or corrupt, so it is not a full snapshot: "
            "no paper was withdrawn and no new index was built. New and changed papers "
            "were stored. Fix the file, or run with --delta."
        )
    missing = store.papers.missing_ids(present)
    active = store.papers.count()
    if missing and len(missing) > max_removed * max(active, 1):
        raise UnsafeSnapshot(
            f"The snapshot lacks {len(missing)} of {active} papers "
            f"(more than --max-removed {max_removed:.0%}): nothing was withdrawn and no "
            "new index was built. If that is right, run again with a higher --max-removed."
        )
    store.papers.withdraw(missing)
    summary.removed = len(missing)


def embed_pending(
    store: Store,
    encoder: Encoder,
    on_batch: Callable[[int], object] | None = None,
) -> int:
    """Embed every paper that has no current vector for this model; returns how many."""
    key = encoder.info.key
    done = 0
    for number, chunk in enumerate(store.vectors.pending(key, EMBED_CHUNK), 1):
        vectors = encoder.encode_papers([(p.title, p.abstract) for p in chunk], on_batch=on_batch)
        store.vectors.save(key, chunk, vectors)
        done += len(chunk)
        checkpoint("embedding")
        if number % vector_files.SMALL_SHARDS == 0:  # one shard per chunk: keep the files few
            store.vectors.merge_small(key)
    return done


def run(
    settings: Settings,
    paths: Sequence[Path],
    *,
    fmt: str = "auto",
    snapshot: bool = False,
    retrain: str | None = None,
    max_removed: float = 0.25,
    rejects_path: Path | None = None,
    encoder: Encoder | None = None,
    progress: bool = False,
    on_embedded: Callable[[int, int, float], object] | None = None,
    say: Callable[[str], object] | None = None,
) -> RunSummary:
    """One write run: read, store, (withdraw), embed what changed, build, publish, prune.

    ``progress`` shows a bar on a terminal; ``on_embedded(done, pending, seconds)`` is
    called after each encoder batch (the demo prints how long embedding will take);
    ``say`` takes a line for the person watching, between stages that take minutes.
    """
    started = time.perf_counter()
    summary = RunSummary(files=[str(p) for p in paths])
    for path in paths:
        if not Path(path).is_file():
            raise CorpusNotFound(f"Corpus file not found: {path}")
    with write_lock(settings.home):
        store = Store.open(settings, migrate=True)
        clean_up_after_crashes(store, settings)
        present = ingest(store, paths, fmt, rejects_path or default_rejects_path(settings), summary)
        if snapshot:
            withdraw_missing(store, present, summary, max_removed)
        # The data directory's own model, unless the settings name one.
        model_settings = settings.with_model_of(store.builds.current())
        encoder = encoder or Encoder.load(model_settings)
        pending = store.vectors.count_pending(encoder.info.key)
        if pending:  # the fast precision proven on this model first (once per model)
            encoder, summary.checked = fidelity.checked_encoder(
                store, model_settings, encoder, pending, say=say, progress=progress
            )
            if encoder.precision == "fp32":
                model_settings = model_settings.replace(precision="fp32")  # Ray's actors too
            pending -= summary.checked  # the check's vectors are kept
        embed_started = time.perf_counter()
        done = 0

        def embedded(n: int) -> None:
            nonlocal done
            done += n
            bar.update(n)
            if on_embedded is not None:
                on_embedded(done, pending, time.perf_counter() - embed_started)

        # disable=None: a progress bar on a terminal, nothing in cron logs.
        with tqdm(
            total=pending, unit="paper", desc="embedding", disable=None if progress else True
        ) as bar:
            if settings.executor == "ray":
                from indexer import ray_executor  # Ray is imported only when asked for

                embedded_now = ray_executor.embed_pending(
                    store, model_settings, encoder.info.key, embedded
                )
            else:
                embedded_now = embed_pending(store, encoder, embedded)
        embed_seconds = time.perf_counter() - embed_started
        summary.embedded = summary.checked + embedded_now
        store.vectors.compact(encoder.info.key)
        build, reason, unchanged, keywords = build_index(
            store, encoder, settings, retrain=retrain, added=summary.embedded
        )
        if keywords is not None:
            summary.keywords_seconds = keywords.seconds
            summary.keywords_derived_from = keywords.derived_from
        summary.published = not unchanged
        summary.pruned = [] if unchanged else prune(store, settings)
    summary.build_id = build.id
    summary.index_type = build.index_type
    summary.vector_count = build.vector_count
    summary.retrained = reason is not None
    summary.retrain_reason = reason
    summary.seconds = round(time.perf_counter() - started, 2)
    if embedded_now:
        summary.papers_per_second = round(embedded_now / max(embed_seconds, 1e-9), 2)
    return summary


def index_corpus(settings: Settings, paths: Sequence[Path], **options) -> RunSummary:
    """``papersearch index``: add or update papers and build an index with fresh centroids."""
    return run(settings, paths, snapshot=False, retrain=FRESH_INDEX, **options)
