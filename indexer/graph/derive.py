"""Deriving a build's citation graph from the previous build's, in proportion to what
changed: a nightly re-index reads again only the records of the papers that changed and
of their neighbours, and merges them into the previous rows.

A paper is changed when it is new or its content hash differs (its record's links are
part of the hash); gone when the build no longer holds it. The records resolved again
(``again``) are the changed papers', and those of the unchanged papers whose resolution
may differ now: the neighbours of changed and gone papers, the papers whose pending keys
a changed paper now holds, and the neighbours of a paper whose key a changed paper took
over (a key two papers hold resolves to the lower position). Every other paper's claims
resolve as before, so an edge between two papers outside ``again`` is kept as it was,
and the rest come from the claims that touch ``again``. The result is the graph a full
write gives; ``tests/test_citation_graph.py`` holds the two to each other.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from indexer.graph.full import PAIRS_AT_A_TIME
from indexer.graph.resolution import KEY_PAIR, KeyLookup, own_key_pairs, resolve
from indexer.graph.rows import RowsWriter, gather
from indexer.graph.source import GraphSource
from indexer.graph.spill import ArrayFile, merge_pairs, unique_pairs, unique_sorted
from search.graph.files import (
    CLAIMS,
    DIRECTIONS,
    HASHES,
    KEY_OWNERS,
    KEYS,
    LISTED,
    PAPERS,
    PENDING,
    PENDING_OWNERS,
    indices_file,
    indptr_file,
)

MAX_CHANGED_SHARE = 0.25  # past this share of papers changed, a full write is as quick
ROWS_AT_A_TIME = 1 << 18
PAIRS_PER_RANGE = 1 << 22  # keys or pending keys merged at a time


@dataclass(frozen=True)
class _Previous:
    """The previous build's graph, memory-mapped."""

    papers: np.ndarray
    hashes: np.ndarray
    listed: np.ndarray
    rows: dict  # name → (indptr, indices), the directions and the claims
    keys: tuple[np.ndarray, np.ndarray]
    pending: tuple[np.ndarray, np.ndarray]

    @classmethod
    def open(cls, directory: Path) -> _Previous:
        def load(name):
            return np.load(directory / name, mmap_mode="r")

        rows = {d: (load(indptr_file(d)), load(indices_file(d))) for d in (*DIRECTIONS, CLAIMS)}
        keys, pending = (load(KEYS), load(KEY_OWNERS)), (load(PENDING), load(PENDING_OWNERS))
        return cls(load(PAPERS), load(HASHES), load(LISTED), rows, keys, pending)


@dataclass(frozen=True)
class _Change:
    """How the papers moved: ``new_at[old]`` (-1: gone), ``old_at[new]`` (-1: new), which
    old positions are unchanged, and the new positions of the changed papers."""

    new_at: np.ndarray
    old_at: np.ndarray
    unchanged: np.ndarray
    changed: np.ndarray

    @classmethod
    def of(cls, previous: _Previous, ids: np.ndarray, hashes: np.ndarray) -> _Change:
        papers = np.asarray(previous.papers)
        at = np.minimum(np.searchsorted(papers, ids), max(len(papers) - 1, 0))
        held = (papers[at] == ids) if len(papers) else np.zeros(len(ids), dtype=bool)
        same = held & (np.asarray(previous.hashes)[at] == hashes)
        new_at = np.full(len(papers), -1, dtype=np.int64)
        new_at[at[held]] = np.flatnonzero(held)
        unchanged = np.zeros(len(papers), dtype=bool)
        unchanged[at[same]] = True
        return cls(new_at, np.where(held, at, -1), unchanged, np.flatnonzero(~same))


def derive(
    source: GraphSource, directory: Path, previous_dir: Path, ids: np.ndarray,
    hashes: np.ndarray, edge_pairs: np.ndarray,
) -> tuple[np.ndarray, int] | None:  # fmt: skip
    """The graph of ``ids`` into ``directory`` from the graph in ``previous_dir`` (as
    ``full.write_full``), or None when so much changed that a full write is as quick."""
    previous = _Previous.open(previous_dir)
    change = _Change.of(previous, ids, hashes)
    if len(change.changed) > MAX_CHANGED_SHARE * max(len(ids), 1):
        return None
    changed_keys = unique_pairs(np.concatenate(
        [own_key_pairs(rows, ids) for rows in source.keys(ids[change.changed])]
        or [np.zeros(0, KEY_PAIR)]))  # fmt: skip
    unsettled = _merge_keys(previous, change, changed_keys, directory)
    again = _again(previous, change, changed_keys["hash"], unsettled)
    in_again = np.zeros(len(ids), dtype=bool)
    in_again[again] = True
    lookup = KeyLookup.open(directory)
    found = [resolve(rows, ids, lookup) for rows in source.links(ids[again])]
    before = np.asarray(previous.listed)[np.maximum(change.old_at, 0)]
    listed = np.where(change.old_at >= 0, before, 0).astype(np.int32)
    owners = np.concatenate([f.claim_owners for f in found] or [np.zeros(0, np.int64)])
    codes = np.concatenate([f.claim_codes for f in found] or [np.zeros(0, np.int64)])
    for f in found:
        listed[f.positions] = f.listed
    kept_rows = change.unchanged.copy()
    kept_rows[np.maximum(change.old_at[again], 0)[change.old_at[again] >= 0]] = False
    _merge_claims(previous, change, kept_rows, owners, codes, directory, len(ids))
    citing, cited = _edges_touching(previous, change, kept_rows, in_again, owners, codes,
                                    edge_pairs, lookup)  # fmt: skip
    edges = _merge_direction(previous, change, kept_rows, in_again, "references", citing, cited,
                             directory)  # fmt: skip
    _merge_direction(previous, change, kept_rows, in_again, "cited_by", cited, citing, directory)
    pending = np.concatenate([f.pending for f in found] or [np.zeros(0, KEY_PAIR)])
    _merge_pending(previous, change, kept_rows, unique_pairs(pending), directory)
    return listed, edges


def _merge_keys(previous: _Previous, change: _Change, changed: np.ndarray, directory: Path):
    """Write the keys: the unchanged papers' (renumbered) and the changed papers'. Returns
    the papers whose citers may resolve elsewhere now (old positions): those gone, those
    updated with other keys than before, and the unchanged ones whose key a changed
    paper took over. An updated paper with the same keys is cited as before."""
    hashes_out = ArrayFile(directory / KEYS, np.uint64)
    owners_out = ArrayFile(directory / KEY_OWNERS, np.int32)
    unsettled = [np.flatnonzero(change.new_at < 0)]
    for old, new in _ranges(previous.keys, changed):
        kept = old[change.unchanged[old["owner"]]]
        kept["owner"] = change.new_at[kept["owner"]]
        if len(new) and len(kept):
            first = KeyLookup(kept["hash"], kept["owner"]).resolve(new["hash"])
            lost = (first >= 0) & (new["owner"] < first)
            unsettled.append(change.old_at[first[lost]])
        updated = old[~change.unchanged[old["owner"]] & (change.new_at[old["owner"]] >= 0)]
        updated["owner"] = change.new_at[updated["owner"]]
        unsettled.append(change.old_at[_unmatched(updated, new[change.old_at[new["owner"]] >= 0])])
        merged = merge_pairs(kept, new)
        hashes_out.write(merged["hash"])
        owners_out.write(merged["owner"])
    hashes_out.close()
    owners_out.close()
    return unique_sorted(np.concatenate(unsettled).astype(np.int64))


def _unmatched(before: np.ndarray, after: np.ndarray) -> np.ndarray:
    """Owners of the (hash, owner) pairs in one of ``before`` and ``after`` (each unique)
    but not in the other: the papers whose keys changed."""
    both = np.concatenate([before, after])
    both = both[np.lexsort((both["owner"], both["hash"]))]
    twice = np.zeros(len(both), dtype=bool)
    same = (both["hash"][1:] == both["hash"][:-1]) & (both["owner"][1:] == both["owner"][:-1])
    twice[1:] |= same
    twice[:-1] |= same
    return unique_sorted(both["owner"][~twice].astype(np.int64))


def _merge_pending(previous, change, kept_rows, new: np.ndarray, directory: Path) -> None:
    """Write the pending keys: the kept papers' (renumbered) and those resolved again."""
    hashes_out = ArrayFile(directory / PENDING, np.uint64)
    owners_out = ArrayFile(directory / PENDING_OWNERS, np.int32)
    for old, fresh in _ranges(previous.pending, new):
        kept = old[kept_rows[old["owner"]]]
        kept["owner"] = change.new_at[kept["owner"]]
        merged = merge_pairs(kept, fresh)
        hashes_out.write(merged["hash"])
        owners_out.write(merged["owner"])
    hashes_out.close()
    owners_out.close()


def _ranges(old: tuple[np.ndarray, np.ndarray], new: np.ndarray):
    """(old pairs, new pairs) of successive hash ranges: the old (memory-mapped, sorted)
    read a range at a time, the new (sorted) split at the same hashes."""
    hashes, owners = old
    cuts = [int(h) for h in hashes[PAIRS_PER_RANGE::PAIRS_PER_RANGE]]
    old_at = [0, *np.searchsorted(hashes, np.asarray(cuts, np.uint64)).tolist(), len(hashes)]
    new_at = [0, *np.searchsorted(new["hash"], np.asarray(cuts, np.uint64)).tolist(), len(new)]
    for i in range(len(old_at) - 1):
        part = np.zeros(old_at[i + 1] - old_at[i], dtype=KEY_PAIR)
        part["hash"] = hashes[old_at[i] : old_at[i + 1]]
        part["owner"] = owners[old_at[i] : old_at[i + 1]]
        yield part, new[new_at[i] : new_at[i + 1]]


def _again(previous: _Previous, change: _Change, changed_hashes: np.ndarray, unsettled):
    """New positions of the papers whose records are resolved again: the changed ones,
    the ``unsettled`` and their neighbours, and the owners of pending keys a changed
    paper now holds."""
    wanted = [unsettled]
    for name in DIRECTIONS:
        indptr, indices = previous.rows[name]
        wanted.append(gather(indptr, indices, unsettled)[1])
    pending_hashes, pending_owners = previous.pending
    keys = np.sort(changed_hashes)
    for start in range(0, len(pending_hashes) if len(keys) else 0, PAIRS_PER_RANGE):
        part = np.asarray(pending_hashes[start : start + PAIRS_PER_RANGE])
        at = np.minimum(np.searchsorted(keys, part), len(keys) - 1)
        owners = np.asarray(pending_owners[start : start + PAIRS_PER_RANGE])
        wanted.append(owners[keys[at] == part])
    old = unique_sorted(np.concatenate(wanted).astype(np.int64))
    old = old[change.unchanged[old]]
    return unique_sorted(np.concatenate([change.new_at[old], change.changed]))


def _edges_touching(previous, change, kept_rows, in_again, owners, codes, edge_pairs, lookup):
    """(citing, cited) of every edge with an end resolved again: its claims, the kept
    papers' claims towards it, and the edges of files of edges."""
    citing = [np.where(codes < 0, -codes - 1, owners)]
    cited = [np.where(codes < 0, owners, codes)]
    indptr, indices = previous.rows[CLAIMS]
    for start in range(0, len(kept_rows), ROWS_AT_A_TIME):
        rows = np.arange(start, min(start + ROWS_AT_A_TIME, len(kept_rows)))
        rows = rows[kept_rows[rows]]
        which, old_codes = gather(indptr, indices, rows)
        owner = change.new_at[rows[which]]
        other = change.new_at[np.where(old_codes < 0, -old_codes.astype(np.int64) - 1, old_codes)]
        towards = (other >= 0) & in_again[np.maximum(other, 0)]
        citing.append(np.where(old_codes < 0, other, owner)[towards])
        cited.append(np.where(old_codes < 0, owner, other)[towards])
    for start in range(0, len(edge_pairs), PAIRS_AT_A_TIME):
        part = np.asarray(edge_pairs[start : start + PAIRS_AT_A_TIME])
        a, b = lookup.resolve(part[:, 0]), lookup.resolve(part[:, 1])
        both = (a >= 0) & (b >= 0)
        a, b = a[both], b[both]
        touching = in_again[a] | in_again[b]
        citing.append(a[touching])
        cited.append(b[touching])
    citing, cited = np.concatenate(citing).astype(np.int64), np.concatenate(cited).astype(np.int64)
    keep = citing != cited
    width = max(len(in_again), 1)
    pairs = unique_sorted(citing[keep] * width + cited[keep])
    return pairs // width, pairs % width


def _merge_direction(previous, change, kept_rows, in_again, name, rows, columns, directory) -> int:
    """One direction's rows: the kept papers' edges between kept papers, renumbered, merged
    with the edges touching the papers resolved again."""
    n = len(in_again)
    order = np.lexsort((columns, rows))
    rows, columns = rows[order], columns[order]

    def kept(old_rows, old_columns):
        new_columns = change.new_at[old_columns]
        return (new_columns >= 0) & ~in_again[np.maximum(new_columns, 0)], new_columns

    return _merge_rows(previous.rows[name], change, kept_rows, rows, columns, kept,
                       RowsWriter(directory, name, n), offset=0)  # fmt: skip


def _merge_claims(previous, change, kept_rows, owners, codes, directory, n) -> None:
    def kept(old_rows, old_codes):
        old_codes = old_codes.astype(np.int64)
        target = change.new_at[np.where(old_codes < 0, -old_codes - 1, old_codes)]
        return target >= 0, np.where(old_codes < 0, -target - 1, target)

    _merge_rows(previous.rows[CLAIMS], change, kept_rows, owners, codes, kept,
                RowsWriter(directory, CLAIMS, n), offset=n)  # fmt: skip


def _merge_rows(old, change, kept_rows, rows, columns, renumber, writer, offset: int) -> int:
    """Rows of ``writer``: each kept row's old entries (``renumber``: which stay, and what
    they become; ascending still, as renumbering keeps order), with the new entries
    (``rows``, ``columns``: sorted, none in a kept entry) inserted in order."""
    indptr, indices = old
    n = writer.n
    width = 2 * max(n, 1) + 1
    for start in range(0, n, ROWS_AT_A_TIME):
        stop = min(start + ROWS_AT_A_TIME, n)
        new_rows = np.arange(start, stop)
        old_rows = change.old_at[new_rows]
        take = (old_rows >= 0) & kept_rows[np.maximum(old_rows, 0)]
        which, entries = gather(indptr, indices, old_rows[take])
        stays, renumbered = renumber(old_rows[take][which], entries)
        base = new_rows[take][which][stays] * width + renumbered[stays] + offset
        lo, hi = np.searchsorted(rows, [start, stop])
        extra = rows[lo:hi].astype(np.int64) * width + columns[lo:hi] + offset
        merged = np.insert(base, np.searchsorted(base, extra), extra)
        writer.add(merged // width, merged % width - offset, stop)
    return writer.close()
