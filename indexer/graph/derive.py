"""Deriving a build's citation graph from the previous build's, in proportion to what
changed: a nightly re-index reads again only the records of the papers that changed and
of their neighbours, and merges them into the previous rows.

A paper is changed when it is new or its content hash differs (its record's links are
part of the hash); gone when the build no longer holds it. The records resolved again
(``again``) are the changed papers', and those of the unchanged papers whose resolution
may differ now: the papers whose claims name a gone or re-keyed paper, or a paper whose
key a changed paper took over (a key two papers hold resolves to the lower position) or
may inherit (it shares one with a gone or changed paper), and the papers whose pending
keys a changed paper now holds. Every other paper's claims resolve as before, so an
edge between two papers outside ``again`` is kept as it was, and the rest come from the
claims that touch ``again``. The result is the graph a full write gives;
``tests/unit/test_graph_writing.py`` holds the two to each other.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from indexer.graph.resolution import (
    KEY_PAIR,
    KeyLookup,
    claim_edges,
    claim_target,
    own_key_pairs,
    resolve,
    resolved_pairs,
)
from indexer.graph.rows import RowsWriter
from indexer.graph.source import GraphSource
from indexer.graph.spill import ArrayReader, PairsFile, merge_pairs, unique_pairs, unique_sorted
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
CLAIM_BYTES = 64  # memory a claim resolved again takes, its resolution's temporaries included
ROWS_AT_A_TIME = 1 << 18
PAIRS_PER_RANGE = 1 << 22  # keys or pending keys merged at a time


@dataclass(frozen=True)
class _Previous:
    """The previous build's graph, read a range at a time."""

    papers: ArrayReader
    hashes: ArrayReader
    listed: ArrayReader
    rows: dict  # name → (indptr, indices), the directions and the claims
    keys: tuple[ArrayReader, ArrayReader]
    pending: tuple[ArrayReader, ArrayReader]

    @classmethod
    def open(cls, directory: Path) -> _Previous:
        def load(name):
            return ArrayReader(directory / name)

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
        papers = previous.papers[:]
        at = np.minimum(np.searchsorted(papers, ids), max(len(papers) - 1, 0))
        held = (papers[at] == ids) if len(papers) else np.zeros(len(ids), dtype=bool)
        same = held & (previous.hashes[:][at] == hashes)
        new_at = np.full(len(papers), -1, dtype=np.int32)  # positions are 32-bit
        new_at[at[held]] = np.flatnonzero(held)
        unchanged = np.zeros(len(papers), dtype=bool)
        unchanged[at[same]] = True
        old_at = np.where(held, at, -1).astype(np.int32)
        return cls(new_at, old_at, unchanged, np.flatnonzero(~same))


def derive(
    source: GraphSource, directory: Path, previous_dir: Path, ids: np.ndarray,
    hashes: np.ndarray, edge_pairs: np.ndarray, memory: int,
) -> tuple[np.ndarray, int] | None:  # fmt: skip
    """The graph of ``ids`` into ``directory`` from the graph in ``previous_dir`` (as
    ``full.write_full``), or None when so much changed that a full write is as quick, or
    the claims resolved again would not fit in a quarter of ``memory``."""
    previous = _Previous.open(previous_dir)
    change = _Change.of(previous, ids, hashes)
    if len(change.changed) > MAX_CHANGED_SHARE * max(len(ids), 1):
        return None
    changed_keys = unique_pairs(np.concatenate(
        [own_key_pairs(rows, ids) for rows in source.keys(ids[change.changed])]
        or [np.zeros(0, KEY_PAIR)]))  # fmt: skip
    unsettled = _merge_keys(previous, change, changed_keys, directory)
    again = _again(previous, change, changed_keys["hash"], unsettled)
    claims = len(previous.rows[CLAIMS][1]) / max(len(previous.papers), 1)  # a paper's, on average
    if len(again) * (claims + 1) * CLAIM_BYTES > memory / 4:
        return None
    in_again = np.zeros(len(ids), dtype=bool)
    in_again[again] = True
    lookup = KeyLookup.open(directory)
    found = [resolve(rows, ids, lookup) for rows in source.links(ids[again])]
    before = previous.listed[:][np.maximum(change.old_at, 0)]
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
    updated with other keys than before, the unchanged ones whose key a changed paper
    took over, and those holding a key of a gone or changed paper (an edge of a file of
    edges may pass to them). An updated paper with the same keys is cited as before."""
    out = PairsFile(directory, KEYS, KEY_OWNERS)
    unsettled = [np.flatnonzero(change.new_at < 0)]
    for old, new in _ranges(previous.keys, changed):
        kept = old[change.unchanged[old["owner"]]]
        kept["owner"] = change.new_at[kept["owner"]]
        if len(new) and len(kept):
            first = KeyLookup(kept["hash"], kept["owner"]).resolve(new["hash"])
            lost = (first >= 0) & (new["owner"] < first)
            unsettled.append(change.old_at[first[lost]])
        leaving = old[~change.unchanged[old["owner"]]]  # keys of gone and changed papers
        if len(leaving) and len(kept):  # an unchanged paper holding one may be its heir
            heir = np.isin(kept["hash"], leaving["hash"])
            unsettled.append(change.old_at[kept["owner"][heir]])
        updated = old[~change.unchanged[old["owner"]] & (change.new_at[old["owner"]] >= 0)]
        updated["owner"] = change.new_at[updated["owner"]]
        unsettled.append(change.old_at[_unmatched(updated, new[change.old_at[new["owner"]] >= 0])])
        out.write(merge_pairs(kept, new))
    out.close()
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
    out = PairsFile(directory, PENDING, PENDING_OWNERS)
    for old, fresh in _ranges(previous.pending, new):
        kept = old[kept_rows[old["owner"]]]
        kept["owner"] = change.new_at[kept["owner"]]
        out.write(merge_pairs(kept, fresh))
    out.close()


def _ranges(old: tuple[ArrayReader, ArrayReader], new: np.ndarray):
    """(old pairs, new pairs) of successive hash ranges: the old (sorted, on disk) read a
    range at a time, the new (sorted) split at the same hashes."""
    hashes, owners = old
    cuts = np.asarray(hashes[PAIRS_PER_RANGE::PAIRS_PER_RANGE], dtype=np.uint64)
    old_at = [0, *np.searchsorted(hashes.mapped(), cuts).tolist(), len(hashes)]
    new_at = [0, *np.searchsorted(new["hash"], cuts).tolist(), len(new)]
    for i in range(len(old_at) - 1):
        part = np.zeros(old_at[i + 1] - old_at[i], dtype=KEY_PAIR)
        part["hash"] = hashes[old_at[i] : old_at[i + 1]]
        part["owner"] = owners[old_at[i] : old_at[i + 1]]
        yield part, new[new_at[i] : new_at[i + 1]]


def _again(previous: _Previous, change: _Change, changed_hashes: np.ndarray, unsettled):
    """New positions of the papers whose records are resolved again: the changed ones,
    the ``unsettled`` and the papers whose claims name them, and the owners of pending
    keys a changed paper now holds."""
    wanted = [unsettled, _claiming(previous, unsettled)]
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


def _claiming(previous: _Previous, papers: np.ndarray) -> np.ndarray:
    """The papers (old positions) whose claims name one of ``papers``: a pass over every
    claim, read in order (a paper's neighbours are scattered across the rows)."""
    named = np.zeros(len(previous.papers), dtype=bool)
    named[papers] = True
    found = []
    for owners, codes in _claims(previous):
        found.append(owners[named[claim_target(codes)]])
    return np.concatenate(found) if found else np.zeros(0, dtype=np.int64)


def _claims(previous: _Previous):
    """(owner, code) of every claim of the previous graph, a block of rows at a time."""
    indptr, indices = previous.rows[CLAIMS]
    rows = len(indptr) - 1
    for start in range(0, rows, ROWS_AT_A_TIME):
        stop = min(start + ROWS_AT_A_TIME, rows)
        starts = indptr[start : stop + 1]
        codes = indices[starts[0] : starts[-1]].astype(np.int64)
        yield np.repeat(np.arange(start, stop), np.diff(starts)), codes


def _edges_touching(previous, change, kept_rows, in_again, owners, codes, edge_pairs, lookup):
    """(citing, cited) of every edge with an end resolved again: its claims, the kept
    papers' claims towards it, and the edges of files of edges."""
    first_citing, first_cited = claim_edges(owners, codes)
    citing, cited = [first_citing], [first_cited]
    for owners, old_codes in _claims(previous):
        other = change.new_at[claim_target(old_codes)]
        towards = kept_rows[owners] & (other >= 0)
        towards &= in_again[np.maximum(other, 0)]
        found = claim_edges(change.new_at[owners[towards]], old_codes[towards], other[towards])
        citing.append(found[0])
        cited.append(found[1])
    for a, b in resolved_pairs(edge_pairs, lookup):
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
    order = np.lexsort((columns, rows))
    rows, columns = rows[order], columns[order]
    new_at = change.new_at
    column_map = np.where((new_at >= 0) & ~in_again[np.maximum(new_at, 0)], new_at, -1)
    column_map = column_map.astype(np.int32)

    def kept(entries):
        renumbered = column_map[entries]
        return renumbered >= 0, renumbered

    return _merge_rows(previous.rows[name], change, kept_rows, rows, columns, kept,
                       RowsWriter(directory, name, len(in_again)), offset=0)  # fmt: skip


def _merge_claims(previous, change, kept_rows, owners, codes, directory, n) -> None:
    """The claims' rows: the kept papers' own, renumbered (a code for each old code, read
    from one table), merged with those resolved again."""
    new_at, old_n = change.new_at, len(change.new_at)
    gone = np.iinfo(np.int32).min
    code_map = np.empty(2 * old_n, dtype=np.int32)  # at code + old_n: the new code
    citing = new_at[::-1]  # codes -old_n..-1 name positions old_n-1..0
    code_map[:old_n] = np.where(citing >= 0, -citing - 1, gone)
    code_map[old_n:] = np.where(new_at >= 0, new_at, gone)

    def kept(entries):
        renumbered = code_map[entries.astype(np.int64) + old_n]
        return renumbered != gone, renumbered

    _merge_rows(previous.rows[CLAIMS], change, kept_rows, owners, codes, kept,
                RowsWriter(directory, CLAIMS, n), offset=n)  # fmt: skip


def _merge_rows(old, change, kept_rows, rows, columns, renumber, writer, offset: int) -> int:
    """Rows of ``writer``: each kept row's old entries (``renumber``: which stay, and what
    they become; ascending still, as renumbering keeps order), with the new entries
    (``rows``, ``columns``: sorted, none in a kept entry) inserted in order. The old
    rows of a range of new rows are one block of the old arrays (renumbering keeps
    order), read whole and masked."""
    indptr, indices = old
    n = writer.n
    width = 2 * max(n, 1) + 1
    for start in range(0, n, ROWS_AT_A_TIME):
        stop = min(start + ROWS_AT_A_TIME, n)
        old_rows = change.old_at[start:stop]
        take = (old_rows >= 0) & kept_rows[np.maximum(old_rows, 0)]
        counts, base = _kept_block(indptr, indices, old_rows[take], renumber)
        counts = np.zeros(stop - start, dtype=np.int64) if counts is None else _spread(counts, take)
        lo, hi = np.searchsorted(rows, [start, stop])
        if hi > lo:
            base_rows = np.repeat(np.arange(start, stop), counts)
            at = np.searchsorted(base_rows * width + base + offset,
                                 rows[lo:hi] * width + columns[lo:hi] + offset)  # fmt: skip
            base = np.insert(base, at, columns[lo:hi])
            counts = counts + np.bincount(rows[lo:hi] - start, minlength=stop - start)
        writer.add_counts(counts, base)
    return writer.close()


def _kept_block(indptr, indices, taken: np.ndarray, renumber):
    """(entries kept per row of ``taken``, the kept entries renumbered) of the old rows
    ``taken`` (ascending)."""
    if len(taken) == 0:
        return None, np.zeros(0, dtype=np.int64)
    first, last = int(taken[0]), int(taken[-1])
    starts = np.asarray(indptr[first : last + 2])
    block = np.asarray(indices[starts[0] : starts[-1]])
    wanted = np.zeros(last - first + 1, dtype=bool)
    wanted[taken - first] = True
    stays, renumbered = renumber(block)
    stays &= np.repeat(wanted, np.diff(starts))
    kept = np.zeros(len(block) + 1, dtype=np.int64)
    np.cumsum(stays, out=kept[1:])
    at = starts - starts[0]
    return (kept[at[1:]] - kept[at[:-1]])[taken - first], renumbered[stays].astype(np.int64)


def _spread(counts: np.ndarray, take: np.ndarray) -> np.ndarray:
    spread = np.zeros(len(take), dtype=np.int64)
    spread[take] = counts
    return spread
