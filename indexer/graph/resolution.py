"""Resolving what papers' records say to positions of the build: every paper's own keys,
and its references (and citers) to the papers holding their keys.

A reference is a list of alternative keys (a DOI and an arXiv id, say); it resolves to
the paper holding the first of them that some paper holds, and a key two papers hold
resolves to the one with the lower position (the lower id). Resolution is a join of
sorted 64-bit key hashes (``search.graph.keys``), not a table or a dictionary of
strings. The keys a reference names before the one it resolved through, or all of them
when it resolved to nothing, are pending: a paper that later arrives with one of them
makes the build after it resolve that record again.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from indexer.graph.spill import unique_sorted
from search.graph.files import KEY_OWNERS, KEYS
from search.graph.keys import key_hashes, own_keys

KEY_PAIR = np.dtype([("hash", "<u8"), ("owner", "<i4")])


class KeyLookup:
    """The build's keys as sorted hashes and the position holding each (memory-mapped)."""

    def __init__(self, hashes: np.ndarray, owners: np.ndarray) -> None:
        self.hashes, self.owners = hashes, owners

    @classmethod
    def open(cls, directory: Path) -> KeyLookup:
        return cls(np.load(directory / KEYS, mmap_mode="r"),
                   np.load(directory / KEY_OWNERS, mmap_mode="r"))  # fmt: skip

    def resolve(self, hashes: np.ndarray) -> np.ndarray:
        """The position holding each hash (the lowest, when several do), -1 where none does;
        the hashes are looked up in sorted order, which keeps the search in cache."""
        found = np.full(len(hashes), -1, dtype=np.int32)
        if len(hashes) == 0 or len(self.hashes) == 0:
            return found
        order = np.argsort(hashes)
        wanted = np.asarray(hashes)[order]
        at = np.minimum(np.searchsorted(self.hashes, wanted), len(self.hashes) - 1)
        hit = np.asarray(self.hashes[at]) == wanted
        found[order[hit]] = self.owners[at[hit]]
        return found


def own_key_pairs(rows: list[tuple], ids: np.ndarray) -> np.ndarray:
    """(key hash, position) of every key of the papers of ``rows`` (rows that begin with
    id, external id, DOI and other keys, as ``GraphSource`` gives them), positions in
    the sorted ``ids``."""
    return key_pairs(rows, ids, lambda row: own_keys(row[1], row[2], row[3] or ()))


def key_pairs(rows: list[tuple], ids: np.ndarray, keys_of) -> np.ndarray:
    """(key hash, position) of each key ``keys_of(row)`` gives of each row (its paper's id
    first), positions in the sorted ``ids``."""
    keys, owners = [], []
    positions = np.searchsorted(ids, np.fromiter((r[0] for r in rows), np.int64, len(rows)))
    for row, at in zip(rows, positions.tolist(), strict=True):
        found = keys_of(row)
        keys += found
        owners += [at] * len(found)
    pairs = np.zeros(len(keys), dtype=KEY_PAIR)
    pairs["hash"], pairs["owner"] = key_hashes(keys), owners
    return pairs


@dataclass(frozen=True)
class Resolved:
    """What some papers' records say, resolved: each paper's position and listed count,
    its claims (``owner``, ``code``: a cited position, or ``-(position + 1)`` for a
    citing one; unique, sorted, no self-citation) and its pending keys."""

    positions: np.ndarray
    listed: np.ndarray
    claim_owners: np.ndarray
    claim_codes: np.ndarray
    pending: np.ndarray  # KEY_PAIR

    def edges(self) -> tuple[np.ndarray, np.ndarray]:
        """(citing, cited) positions of the claims."""
        citing, cited = claim_edges(self.claim_owners, self.claim_codes)
        return citing.astype(np.int32), cited.astype(np.int32)


def claim_target(codes: np.ndarray) -> np.ndarray:
    """The position each claim code names (a cited paper's, or a citing one's)."""
    return np.where(codes < 0, -codes - 1, codes)


def claim_edges(owners: np.ndarray, codes: np.ndarray, targets: np.ndarray | None = None):
    """(citing, cited) of claims: ``owners[i]`` claims ``codes[i]``, whose position is
    ``targets[i]`` (``claim_target``, or another numbering of it)."""
    targets = claim_target(codes) if targets is None else targets
    citers = codes < 0
    return np.where(citers, targets, owners), np.where(citers, owners, targets)


def resolved_pairs(pairs: np.ndarray, lookup: KeyLookup, chunk: int = 1 << 22):
    """(citing, cited) positions of the key hash pairs of files of edges whose both ends
    the build holds, self-citations left out, a chunk at a time."""
    for start in range(0, len(pairs), chunk):
        part = np.asarray(pairs[start : start + chunk])
        citing, cited = lookup.resolve(part[:, 0]), lookup.resolve(part[:, 1])
        both = (citing >= 0) & (cited >= 0) & (citing != cited)
        yield citing[both], cited[both]


def resolve(rows: list[tuple], ids: np.ndarray, lookup: KeyLookup) -> Resolved:
    """The claims and pending keys of the papers of ``rows`` against ``lookup``."""
    positions = np.searchsorted(ids, np.fromiter((r[0] for r in rows), np.int64, len(rows)))
    keys: list[str] = []
    group: list[int] = []  # one number per reference (owner, direction, entry)
    rank: list[int] = []  # the key's place among its reference's alternatives
    group_owner: list[int] = []
    group_citer: list[bool] = []
    listed = np.zeros(len(rows), dtype=np.int32)
    add_key, add_group, add_rank = keys.append, group.append, rank.append
    for row_number, (row, at) in enumerate(zip(rows, positions.tolist(), strict=True)):
        references, citers = row[4] or (), row[5] or ()
        listed[row_number] = len(references)
        for citer, entries in ((False, references), (True, citers)):
            for entry in entries:
                number = len(group_owner)
                group_owner.append(at)
                group_citer.append(citer)
                for place, key in enumerate(entry if isinstance(entry, list) else (entry,)):
                    add_key(key)
                    add_group(number)
                    add_rank(place)
    hashes = key_hashes(keys)
    target = lookup.resolve(hashes)
    group_at = np.asarray(group, dtype=np.int64)
    rank_at = np.asarray(rank, dtype=np.int32)
    chosen_rank = np.full(len(group_owner) + 1, np.iinfo(np.int32).max, dtype=np.int32)
    hit = np.flatnonzero(target >= 0)
    groups_hit, first = np.unique(group_at[hit], return_index=True)  # each one's first key found
    chosen = hit[first]
    chosen_rank[groups_hit] = rank_at[chosen]
    owners = np.asarray(group_owner, dtype=np.int64)
    waiting = (target < 0) & (rank_at < chosen_rank[group_at])
    pending = np.zeros(int(waiting.sum()), dtype=KEY_PAIR)
    pending["hash"], pending["owner"] = hashes[waiting], owners[group_at[waiting]]
    claim_owners = owners[groups_hit]
    cited = target[chosen].astype(np.int64)
    codes = np.where(np.asarray(group_citer, dtype=bool)[groups_hit], -cited - 1, cited)
    keep = cited != claim_owners  # self-citations
    width = 2 * max(len(ids), 1)
    pairs = unique_sorted(claim_owners[keep] * width + codes[keep] + len(ids))
    return Resolved(positions, listed, pairs // width, pairs % width - len(ids), pending)
