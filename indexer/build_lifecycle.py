"""The life of an index build: build from the stored vectors, tune, write, complete, publish,
prune, and roll back.

A new build is written to its own file (``builds/build-NNNNNN.faiss``, and
``build-NNNNNN.ivfdata`` for the inverted lists of a build too large to make in
memory), fsynced, then completed and published; only then do servers switch to it, so
a crash at any point leaves the previous build serving. The status lifecycle
itself is the registry's (``search.store.builds``).
"""

from __future__ import annotations

import hashlib
import shutil
import time
from dataclasses import dataclass, replace
from typing import NamedTuple

import numpy as np

from indexer import graph as citation_graph
from indexer import ivf, ivf_shards, keyword_index
from indexer.citation_edges import EdgeStore
from indexer.crash_points import checkpoint
from search.ann import faiss_index, tuning
from search.base.atomic_files import TEMPORARY_SUFFIX, file_checksum
from search.base.errors import IndexCorrupt, PapersearchError
from search.base.settings import Settings
from search.engine.retriever import open_vectors
from search.graph import files as graph_files
from search.keyword_index.documents import FORMAT, Manifest
from search.model.encoder import Encoder
from search.store import Store
from search.store.build_files import BuildFiles
from search.store.catalogue import LiveVectors
from search.store.schema import IndexBuild

TUNE_QUERIES = 200  # corpus titles used as queries when new centroids are tuned
# Re-train IVF centroids when the corpus has drifted this much since training.
RETRAIN_GROWTH = 2.0  # corpus grew or shrank by this factor
RETRAIN_NEW_FRACTION = 0.2  # new or changed vectors since training, as a share of trained ones


class NothingToIndex(PapersearchError):
    """The store holds no embedded paper (for example: every record was rejected)."""

    code = "nothing_to_index"


@dataclass(frozen=True)
class Tuning:
    """What measured tuning found: recall@10 and @100 per nprobe, and the nprobes it chose
    for the first page and for deep rankings."""

    rows: list[tuning.TuneRow]
    nprobe: int
    recall: float
    queries: int
    deep_nprobe: int
    recall_100: float


def tune_index(
    store: Store,
    encoder: Encoder,
    index: faiss_index.VectorIndex,
    source: ivf.VectorSource,
    *,
    queries: int = TUNE_QUERIES,
    target: float = tuning.DEFAULT_TARGET,
) -> Tuning:
    """The smallest nprobes reaching ``target`` recall@10 and recall@100 against exact
    search over ``source`` (read in chunks), measured with corpus titles as queries (for a
    new build, and for ``papersearch tune``)."""
    titles = store.papers.sample_titles(queries)
    rows = tuning.measure(index, source, encoder.encode_queries(titles))
    best = tuning.smallest_nprobe(rows, target)
    deep = max(best, tuning.smallest_nprobe(rows, target, deep=True))
    row_of = {row.nprobe: row for row in rows}
    return Tuning(rows, best, row_of[best].recall, len(titles), deep, row_of[deep].recall_100)


FRESH_INDEX = "papersearch index trains them afresh"
ASKED = "--retrain asked for it"


def retrain_reason(
    previous: IndexBuild | None,
    model_key: str,
    n_vectors: int,
    added: int,
    settings: Settings,
    forced: str | None,
) -> str | None:
    """Why the IVF centroids must be trained anew, or None to reuse the current build's.

    The rule: retrain when the caller says why (``forced``: ``papersearch index``, or
    ``reindex --retrain``), when there is no IVF build of this
    model to take centroids from, when nlist is set to another value, when the
    memory budget calls for another encoding of the vectors, when the
    corpus has grown or shrunk by RETRAIN_GROWTH times since the centroids were trained,
    or when the vectors added since training exceed RETRAIN_NEW_FRACTION of those
    trained on.
    """
    if forced:
        return forced
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
        return f"over {RETRAIN_NEW_FRACTION:.0%} of the vectors are new since training"
    return None


class BuildOutcome(NamedTuple):
    build: IndexBuild  # the current build afterwards
    retrain_reason: str | None  # why the centroids were trained (None: reused, or unchanged)
    unchanged: bool = False  # nothing to publish: the current build already holds this
    keywords: keyword_index.Written | None = None  # the keyword index written (None: none)
    graph: citation_graph.WrittenGraph | None = None  # the citation graph written


def build_index(
    store: Store,
    encoder: Encoder,
    settings: Settings,
    *,
    retrain: str | None = FRESH_INDEX,
    added: int = 0,
    source: LiveVectors | None = None,
) -> BuildOutcome:
    """Build a new index file from the stored vectors, read in chunks (``indexer.ivf``),
    and publish it as the current build.

    Unless centroids are to be trained anew (``retrain`` says why), a build that would hold the
    same papers, made from the same texts, with the same model and index settings, as
    the current one is not made: the current build stays, nothing is published and so
    nothing is pruned (a few quiet nights keep every rollback point).
    """
    started = time.perf_counter()
    source = source if source is not None else store.vectors.live(encoder.info.key)
    if len(source) == 0:
        raise NothingToIndex(
            "There are no papers to index: the corpus gave no usable record "
            "(see the rejects file for why)."
        )
    previous = store.builds.current()
    hashes = store.texts.content_hashes(source.ids)  # what the keyword index holds of each
    edges = EdgeStore(settings.home).digest()  # the edges read from files of edges
    held = hashes.tobytes() + f"graph {graph_files.FORMAT} {edges}".encode()
    held += f" shards {settings.shards}".encode() if settings.shards > 1 else b""
    contents = source.fingerprint(settings.nlist, settings.nprobe, settings.index_memory,
                                  keyword_index.FORMAT,
                                  hashlib.sha256(held).hexdigest())  # fmt: skip
    if not retrain and _still_current(store, previous, contents, source.ids):
        return BuildOutcome(previous, None, unchanged=True)
    reason = retrain_reason(previous, encoder.info.key, len(source), added, settings, retrain)
    trained, reason = _reusable_centroids(store, previous, reason)
    build = store.builds.start(encoder.info)
    try:
        files = _write_files(store, encoder, settings, build.id, (source, hashes),
                             previous, trained)  # fmt: skip
        checkpoint("publish")
        store.builds.complete(build.id, holds=source.ids, vector_count=len(source),
                              seconds=round(time.perf_counter() - started, 3),
                              contents=contents, **files.columns,
                              **_lineage(previous, trained, len(source), added))  # fmt: skip
        return BuildOutcome(
            store.builds.publish(build.id), reason, keywords=files.keywords, graph=files.graph
        )
    except BaseException:
        store.builds.fail(build.id)
        BuildFiles.named(settings.builds_dir, build.id).remove()
        raise


def _still_current(store: Store, previous: IndexBuild | None, contents: str, ids) -> bool:
    """The current build already holds these contents, and its files are intact."""
    if previous is None or previous.contents != contents:
        return False
    try:
        faiss_index.verify(store.builds.files(previous).checksummed(), previous.checksum)
    except IndexCorrupt:
        return False  # built again, from fresh centroids
    store.builds.hold(previous.id, ids)  # papers an upgrade left unmarked
    return True


def _reusable_centroids(
    store: Store, previous: IndexBuild | None, reason: str | None
) -> tuple[faiss_index.VectorIndex | None, str | None]:
    """The previous build's trained index to add to, unless a reason says to train anew
    (or one turns up: its files are missing or damaged); and that reason."""
    if reason is not None:
        return None, reason
    files = store.builds.files(previous)
    if not all(p.is_file() for p in files.checksummed()):
        return None, "the previous index file is missing"
    try:
        return open_vectors(previous, files), None
    except IndexCorrupt as exc:
        return None, f"the previous build cannot be reused ({exc})"


@dataclass(frozen=True)
class WrittenFiles:
    columns: dict  # what the build's row records of its files
    keywords: keyword_index.Written
    graph: citation_graph.WrittenGraph


def _write_files(
    store: Store,
    encoder: Encoder,
    settings: Settings,
    build_id: int,
    papers: tuple,
    previous: IndexBuild | None,
    trained: faiss_index.VectorIndex | None,
) -> WrittenFiles:
    """The build's FAISS index (on new centroids, tuned, or on ``trained``'s), its lists
    and its keyword index, written in place and checksummed together. ``papers``: the
    live vectors and their texts' content hashes."""
    source, hashes = papers
    named = BuildFiles.named(settings.builds_dir, build_id, settings.shards)
    sizing = {"nlist": settings.nlist, "nprobe": settings.nprobe or (previous.nprobe if trained
              else None), "device": settings.device, "memory_budget": settings.index_memory,
              "build_memory": settings.build_memory, "trained": trained}  # fmt: skip
    if settings.shards > 1:
        shard_lists = [part.lists for part in named.parts()]
        built = ivf_shards.build_shards(source, settings.shards, shard_lists, **sizing)
    else:
        built = ivf.build(source, lists_file=named.lists, **sizing)
    tuned_recall = previous.tuned_recall if trained else None
    deep = (previous.deep_nprobe, previous.tuned_recall_100) if trained else (None, None)
    if built.nlist and trained is None and settings.nprobe is None:
        tuned = tune_index(store, encoder, built.searchable(), source)
        built.nprobe, tuned_recall = tuned.nprobe, tuned.recall
        deep = (tuned.deep_nprobe, tuned.recall_100)
    for part, files in zip(built.parts or [], named.parts(), strict=False):
        faiss_index.write(part, files.index)
    faiss_index.write(built.index, named.index, before_rename=lambda: checkpoint("index-written"))
    base = previous if trained is not None else intact(store, previous)  # derive from
    keywords = keyword_index.write(store, settings, build_id, source.ids, hashes, base,
                                   settings.shards)  # fmt: skip
    graph = _write_graph(store, settings, build_id, source.ids, hashes, base)
    on_disk = built.lists_file is not None or built.lists_files is not None
    written = BuildFiles(named.index, named.lists if on_disk else None,
                         settings.builds_dir / keywords.name, settings.builds_dir / graph.name,
                         settings.shards)  # fmt: skip
    columns = {
        "index_type": built.index_type, "nlist": built.nlist, "nprobe": built.nprobe,
        "device": built.device,
        "path": named.index.name,  # beside the others in the builds directory
        "lists_path": named.lists.name if on_disk else None,
        "tuned_recall": tuned_recall, "deep_nprobe": deep[0], "tuned_recall_100": deep[1],
        "checksum": file_checksum(*written.checksummed()),
        "keywords_path": keywords.name, "graph_path": graph.name, "shards": settings.shards,
        "part_checksums": part_checksums(written),
    }  # fmt: skip
    return WrittenFiles(columns, keywords, graph)


def part_checksums(files: BuildFiles) -> dict | None:
    """In shards, the checksum of the files every server reads and of each shard's, for a
    host that holds only some of them (``search.shards``); None for one shard."""
    if files.shards == 1:
        return None
    return {
        "shared": file_checksum(*files.shared()),
        "shards": [file_checksum(*files.shard_checksummed(n)) for n in range(files.shards)],
    }


def _write_graph(store: Store, settings: Settings, build_id: int, ids, hashes, base):
    """The build's citation graph, derived from ``base``'s (an intact build) when it can."""
    kept = EdgeStore(settings.home)
    directory = store.builds.files(base).graph if base is not None else None
    previous = citation_graph.PreviousGraph(base.id, directory) if directory else None
    return citation_graph.write(store.texts, BuildFiles.named(settings.builds_dir, build_id).graph,
                                ids, hashes, edges=(kept.read(), kept.digest()),
                                previous=previous, memory=settings.build_memory)  # fmt: skip


def _lineage(previous: IndexBuild | None, trained, vectors: int, added: int) -> dict:
    """Where the build's centroids come from, and how many vectors were added since."""
    if trained is None:
        return {"trained_vectors": vectors, "centroids_from": None, "added_since_training": 0}
    return {
        "trained_vectors": previous.trained_vectors or previous.vector_count,
        "centroids_from": previous.centroids_from or previous.id,
        "added_since_training": previous.added_since_training + added,
    }


def intact(store: Store, build: IndexBuild | None) -> IndexBuild | None:
    """``build`` if its files match its checksum (what a new build may take from it)."""
    if build is None:
        return None
    try:
        faiss_index.verify(store.builds.files(build).checksummed(), build.checksum)
    except IndexCorrupt:
        return None
    return build


def keyword_index_outdated(store: Store, build: IndexBuild) -> bool:
    """``build`` has no keyword index, or one in a format this release does not read."""
    directory = store.builds.files(build).keywords
    if directory is None:
        return True
    try:
        return Manifest.read(directory).format != FORMAT
    except (OSError, ValueError, KeyError, TypeError):
        return False  # damaged, not outdated: the checksum refuses it


def add_keyword_index(store: Store, settings: Settings, build: IndexBuild) -> keyword_index.Written:
    """Write the keyword index of a build from before keyword indexes, or with one in an
    older format (``db upgrade``): its files are verified first, then the checksum is
    made anew to cover the new keyword index. It holds the papers of the build's
    vectors, with their texts and filter keys as stored now."""
    faiss_index.verify(store.builds.files(build).checksummed(), build.checksum)
    ids = np.setdiff1d(store.vectors.live(build.model_key).ids,
                       store.papers.built_after(build.id))  # fmt: skip
    store.builds.hold(build.id, ids)
    hashes = store.texts.content_hashes(ids)
    written = keyword_index.write(store, settings, build.id, ids, hashes, shards=build.shards)
    files = replace(store.builds.files(build), keywords=settings.builds_dir / written.name)
    store.builds.add_keywords(build.id, written.name, file_checksum(*files.checksummed()),
                              part_checksums(files))  # fmt: skip
    return written


def add_citation_graph(store: Store, settings: Settings, build: IndexBuild):
    """Write the citation graph of a build from before graphs (``db upgrade``), as
    ``add_keyword_index`` writes a keyword index: over the papers the build holds, its
    files verified first and the checksum made anew to cover the graph."""
    files = store.builds.files(build)
    faiss_index.verify(files.checksummed(), build.checksum)
    ids = np.setdiff1d(store.vectors.live(build.model_key).ids,
                       store.papers.built_after(build.id))  # fmt: skip
    kept = EdgeStore(settings.home)
    target = BuildFiles.named(settings.builds_dir, build.id).graph
    written = citation_graph.write(store.texts, target, ids, store.texts.content_hashes(ids),
                                   edges=(kept.read(), kept.digest()),
                                   memory=settings.build_memory)  # fmt: skip
    files = replace(files, graph=settings.builds_dir / written.name)
    store.builds.add_graph(build.id, written.name, file_checksum(*files.checksummed()),
                           part_checksums(files))  # fmt: skip
    return written


def clean_up_after_crashes(store: Store, settings: Settings) -> None:
    """Builds a killed run left unfinished become failed; their files go, and so do vector
    files no shard was recorded for."""
    for build in store.builds.fail_unfinished():
        BuildFiles.named(settings.builds_dir, build.id).remove()
    store.vectors.remove_orphans()
    if settings.builds_dir.is_dir():
        for tmp in settings.builds_dir.glob("*" + TEMPORARY_SUFFIX):
            if tmp.is_dir():
                shutil.rmtree(tmp, ignore_errors=True)
            else:
                tmp.unlink(missing_ok=True)


def prune(store: Store, settings: Settings) -> list[int]:
    """Keep the last N published builds (PAPERSEARCH_KEEP_BUILDS); delete older files."""
    pruned = store.builds.prune(settings.keep_builds)
    for build in pruned:
        store.builds.files(build).remove()
    return [build.id for build in pruned]


def roll_back(store: Store, settings: Settings, build_id: int) -> IndexBuild:
    """Make an earlier complete build current again (``papersearch builds use``); running
    servers switch to it within seconds. Call while holding the write lock."""
    build = store.builds.roll_back(build_id)
    prune(store, settings)
    return build
