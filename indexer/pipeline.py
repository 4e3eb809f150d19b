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
import logging
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from pathlib import Path

import numpy as np
from tqdm import tqdm

from indexer import fidelity
from indexer.alert_digests import mail_digests
from indexer.build_lifecycle import (
    FRESH_INDEX,
    BuildOutcome,
    build_index,
    clean_up_after_crashes,
    prune,
)
from indexer.citation_edges import EdgeBatch, EdgeStore
from indexer.crash_points import checkpoint
from indexer.fields import warning_field
from indexer.lock import write_lock
from indexer.readers import Citation, CorpusNotFound, Reject, Withdrawal, read_corpus
from search.base.errors import PapersearchError
from search.base.settings import Settings
from search.model.choice import choose_model
from search.model.encoder import Encoder
from search.pdf import PdfLimits
from search.store import Store
from search.store import vectors as vector_files
from search.store.papers import ADDED, UNCHANGED, UPDATED
from search.store.records import PaperRecord

log = logging.getLogger("papersearch.indexer")

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
    # Files of edges (Semantic Scholar's citations dataset): edges read, those with an end
    # the source does not know (counted, not kept), and the edges kept afterwards.
    citations_read: int = 0
    citations_unknown: int = 0
    citations_kept: int | None = None
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
    graph_seconds: float | None = None  # the same of its citation graph
    graph_derived_from: int | None = None
    published: bool = False  # False: nothing changed, the current build stays
    alerts: dict | None = None  # the digests mailed after publishing (None: alerts off)
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
    pdf_limits: PdfLimits | None = None,
    edges: EdgeBatch | None = None,
) -> set[str]:
    """Read every file once, streaming, and store its papers; returns the ids they hold.
    The edges of files of edges go to ``edges``.

    For a repeated id the last record wins: it is stored over the earlier one,
    and counted once (as a duplicate, not as another paper).
    """
    # external id → (what its record did, the paper's state before this run)
    outcomes: dict[str, tuple[str, str | None]] = {}
    batch: dict[str, PaperRecord] = {}
    withdrawn: set[str] = set()  # the source says these are gone (a later record revives)
    rejects = RejectsFile(rejects_path)
    try:
        for path in paths:
            for line, item in read_corpus(path, fmt, pdf_limits):
                where = {"file": str(path), "line": line}
                if isinstance(item, Citation):
                    if edges is not None:
                        edges.add(item.citing, item.cited)
                    continue
                if isinstance(item, Withdrawal):
                    batch.pop(item.external_id, None)
                    outcomes.pop(item.external_id, None)
                    withdrawn.add(item.external_id)
                    continue
                withdrawn.discard(getattr(item, "external_id", None))
                if isinstance(item, Reject):
                    rejects.write({**where, **asdict(item)})
                    summary.rejected += 1
                    summary.truncated |= item.truncated
                    continue
                summary.read += 1
                _note_warnings(item, where, rejects, summary)
                if item.external_id in batch or item.external_id in outcomes:
                    summary.duplicates += 1
                    batch.pop(item.external_id, None)  # keeps the batch in file order
                batch[item.external_id] = item
                if len(batch) >= UPSERT_BATCH:
                    _store_batch(store, batch, outcomes)
        _store_batch(store, batch, outcomes)
    finally:
        rejects.close()
    summary.removed += withdraw_named(store, withdrawn)
    tally = Counter(outcome for outcome, _ in outcomes.values())
    summary.added, summary.updated = tally[ADDED], tally[UPDATED]
    summary.unchanged, summary.stored = tally[UNCHANGED], len(outcomes)
    summary.rejects_file = str(rejects_path) if summary.rejected or summary.warnings else None
    return set(outcomes)


def withdraw_named(store: Store, external_ids: set[str]) -> int:
    """Withdraw the stored papers the source named as gone; how many there were."""
    if not external_ids:
        return 0
    found = store.papers.find_by_external_ids(external_ids)
    store.papers.withdraw(sorted(paper.id for paper in found.values()))
    return len(found)


class RejectsFile:
    """Where rejected records and dropped fields are written, one JSON line each; opened
    on the first one, so that a clean run leaves no file."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._file = None

    def write(self, record: dict) -> None:
        if self._file is None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._file = self.path.open("w", encoding="utf-8")
        self._file.write(json.dumps(record, ensure_ascii=False) + "\n")

    def close(self) -> None:
        if self._file is not None:
            self._file.close()


def _note_warnings(item: PaperRecord, where: dict, rejects: RejectsFile, summary: RunSummary):
    """A kept record's dropped optional fields: a line each in the rejects file, counted
    by field."""
    if not item.warnings:
        return
    for warning in item.warnings:
        rejects.write({**where, "id": item.external_id, "reason": warning, "kept": True})
        name = warning_field(warning)
        summary.dropped_fields[name] = summary.dropped_fields.get(name, 0) + 1
    summary.warnings += 1


def _store_batch(
    store: Store, batch: dict[str, PaperRecord], outcomes: dict[str, tuple[str, str | None]]
) -> None:
    """Upsert the batch and record what each record did; an id met in an earlier batch is
    judged by its last record against the paper's state before the run."""
    for external_id, (outcome, before) in store.papers.upsert(list(batch.values())).items():
        if external_id in outcomes:
            before = outcomes[external_id][1]
            record_hash = batch[external_id].content_hash
            outcome = ADDED if before is None else UNCHANGED if before == record_hash else UPDATED
        outcomes[external_id] = (outcome, before)
    batch.clear()


def withdraw_missing(
    store: Store, present: set[str], summary: RunSummary, max_removed: float
) -> None:
    """Full snapshot: papers it no longer holds leave search (rows and ids are kept)."""
    if summary.truncated:
        raise UnsafeSnapshot(
            "The corpus file is truncated or corrupt, so it is not a full snapshot: "
            "no paper was withdrawn and no new index was built. New and changed papers "
            "were stored; searches keep answering from the current build until a run "
            "publishes one that holds them. Fix the file, or run with --delta."
        )
    missing = store.papers.missing_ids(present)
    active = store.papers.count()
    if missing and len(missing) > max_removed * max(active, 1):
        raise UnsafeSnapshot(
            f"The snapshot lacks {len(missing)} of {active} papers "
            f"(more than --max-removed {max_removed:.0%}): nothing was withdrawn and no "
            "new index was built; searches keep answering from the current build. If that "
            "is right, run again with a higher --max-removed."
        )
    store.papers.withdraw(missing)
    summary.removed += len(missing)


def embed_pending(
    store: Store,
    encoder: Encoder,
    on_batch: Callable[[int], object] | None = None,
    ids: np.ndarray | None = None,
) -> int:
    """Embed every paper that has no current vector for this model (those of ``ids``, from
    ``pending_ids``, when given); returns how many."""
    key = encoder.info.key
    done = 0
    for number, chunk in enumerate(store.vectors.pending(key, EMBED_CHUNK, ids), 1):
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
    _check_exist(paths)
    with write_lock(settings.home):
        store = Store.open(settings, migrate=True)
        clean_up_after_crashes(store, settings)
        model_settings, encoder = _model(settings, store, encoder, say)
        edges = EdgeBatch()
        present = ingest(store, paths, fmt, rejects_path or default_rejects_path(settings),
                         summary, PdfLimits.of(settings), edges)  # fmt: skip
        _keep_edges(settings, edges, summary, replace=snapshot)
        if snapshot and (summary.read or summary.rejected or not edges.read):
            withdraw_missing(store, present, summary, max_removed)  # not for edges alone
        pending_ids = store.vectors.pending_ids(encoder.info.key)  # the papers' 1st read
        _log("read", summary, pending=len(pending_ids))
        if len(pending_ids):  # the fast precision proven on this model first (once per model)
            encoder, summary.checked = fidelity.checked_encoder(
                store, model_settings, encoder, len(pending_ids), say=say, progress=progress
            )
            if encoder.precision == "fp32":
                model_settings = model_settings.replace(precision="fp32")  # Ray's actors too
            if summary.checked:  # the check's vectors are kept: the others are left
                pending_ids = store.vectors.pending_ids(encoder.info.key)
        embed_started = time.perf_counter()
        embedded_now = _embed(store, model_settings, encoder, pending_ids,
                              progress=progress, on_embedded=on_embedded)  # fmt: skip
        embed_seconds = time.perf_counter() - embed_started
        summary.embedded = summary.checked + embedded_now
        source = store.vectors.compacted_live(encoder.info.key)  # the papers' 2nd read
        outcome = build_index(store, encoder, settings, retrain=retrain, added=summary.embedded,
                              source=source)  # fmt: skip
        summary.pruned = [] if outcome.unchanged else prune(store, settings)
    _record_build(summary, outcome)
    summary.alerts = mail_digests(settings, encoder) if summary.published else None  # alerts
    summary.seconds = round(time.perf_counter() - started, 2)
    if embedded_now:
        summary.papers_per_second = round(embedded_now / max(embed_seconds, 1e-9), 2)
    _log("done", summary, embedded=summary.embedded, build=summary.build_id,
         published=summary.published, seconds=summary.seconds)  # fmt: skip
    return summary


def _keep_edges(settings: Settings, edges: EdgeBatch, summary: RunSummary, *,
                replace: bool) -> None:  # fmt: skip
    """The run's edges kept for the builds: instead of those kept before when the run is
    a full snapshot, else besides them (nothing changes when the run read no edge)."""
    if not edges.read:
        return
    summary.citations_read, summary.citations_unknown = edges.read, edges.unknown
    summary.citations_kept = EdgeStore(settings.home).write(edges.pairs(), replace=replace)


def _model(
    settings: Settings, store: Store, encoder: Encoder | None, say: Callable | None
) -> tuple[Settings, Encoder]:
    """The model first: one that cannot be had fails here, before a paper is stored (the
    data directory's own, else ``search.model.choice``'s; ``encoder`` when given)."""
    current = store.builds.current()
    if encoder is not None:
        return settings.with_model_of(current), encoder
    model_settings = choose_model(settings, current, say)
    return model_settings, Encoder.load(model_settings)


def _check_exist(paths: Sequence[Path]) -> None:
    """Every corpus named is there, before the lock is taken and anything is read."""
    for path in paths:
        if not Path(path).exists():
            raise CorpusNotFound(f"Corpus file or folder not found: {path}")


def _log(stage: str, summary: RunSummary, **fields) -> None:
    """A stage of the run, at INFO: a JSON line with ``--log-format json``."""
    counts = {name: getattr(summary, name) for name in ("read", "added", "updated", "removed",
                                                         "rejected")}  # fmt: skip
    log.info("%s: %s", stage, " ".join(f"{k}={v}" for k, v in {**counts, **fields}.items()),
             extra={"fields": {"stage": stage, **counts, **fields}})  # fmt: skip


def _embed(
    store: Store,
    model_settings: Settings,
    encoder: Encoder,
    ids: np.ndarray,
    *,
    progress: bool,
    on_embedded: Callable[[int, int, float], object] | None,
) -> int:
    """Embed the papers ``ids`` (those without a current vector) here or on Ray
    (``executor``), with a progress bar on a terminal and ``on_embedded`` after each
    batch; returns how many were embedded."""
    if len(ids) == 0:
        return 0
    started = time.perf_counter()
    pending, done = len(ids), 0

    def embedded(n: int) -> None:
        nonlocal done
        done += n
        bar.update(n)
        if on_embedded is not None:
            on_embedded(done, pending, time.perf_counter() - started)

    # disable=None: a progress bar on a terminal, nothing in cron logs.
    with tqdm(
        total=pending, unit="paper", desc="embedding", disable=None if progress else True
    ) as bar:
        if model_settings.executor == "ray":
            from indexer import ray_executor  # Ray is imported only when asked for

            return ray_executor.embed_pending(store, model_settings, encoder.info.key, embedded,
                                              ids=ids)  # fmt: skip
        return embed_pending(store, encoder, embedded, ids)


def _record_build(summary: RunSummary, outcome: BuildOutcome) -> None:
    """What the build step did, in the run's summary."""
    build, reason, unchanged, keywords, graph = outcome
    if keywords is not None:
        summary.keywords_seconds = keywords.seconds
        summary.keywords_derived_from = keywords.derived_from
    if graph is not None:
        summary.graph_seconds = graph.seconds
        summary.graph_derived_from = graph.derived_from
    summary.published = not unchanged
    summary.build_id = build.id
    summary.index_type = build.index_type
    summary.vector_count = build.vector_count
    summary.retrained = reason is not None
    summary.retrain_reason = reason


def index_corpus(settings: Settings, paths: Sequence[Path], **options) -> RunSummary:
    """``papersearch index``: add or update papers and build an index with fresh centroids."""
    return run(settings, paths, snapshot=False, retrain=FRESH_INDEX, **options)
