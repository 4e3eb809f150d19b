"""Arrays larger than memory, written, read and sorted a part at a time: a ``.npy`` file
written front to back, one read a range at a time, and records spilled to disk in
buckets so that a pass reads one bucket at a time (the graph's external sort: buckets
are hash or row ranges, in order)."""

from __future__ import annotations

import io
import shutil
from collections.abc import Callable
from pathlib import Path

import numpy as np

HEADER_BYTES = 128  # a 1-D array's .npy header, whatever its length (see ArrayFile.close)


class ArrayFile:
    """A 1-D ``.npy`` file written in parts, its length known only when it is closed: the
    header's room is kept, and the header written last."""

    def __init__(self, path: Path, dtype) -> None:
        self.path, self.dtype, self.length = path, np.dtype(dtype), 0
        self._file = open(path, "wb")  # noqa: SIM115 -- closed by close()
        self._file.write(b"\0" * HEADER_BYTES)

    def write(self, part) -> None:
        part = np.ascontiguousarray(part, dtype=self.dtype)
        part.tofile(self._file)
        self.length += len(part)

    def close(self) -> None:
        header = io.BytesIO()
        np.lib.format.write_array_header_1_0(
            header,
            {
                "descr": np.lib.format.dtype_to_descr(self.dtype),
                "fortran_order": False,
                "shape": (self.length,),
            },  # fmt: skip
        )
        if len(header.getvalue()) != HEADER_BYTES:  # NumPy pads 1-D headers to 128 bytes
            raise AssertionError(f"unexpected .npy header size {len(header.getvalue())}")
        self._file.seek(0)
        self._file.write(header.getvalue())
        self._file.close()


class PairsFile:
    """(hash, owner) records written as two ``.npy`` files side by side, in parts."""

    def __init__(self, directory: Path, hashes_name: str, owners_name: str) -> None:
        self._hashes = ArrayFile(directory / hashes_name, np.uint64)
        self._owners = ArrayFile(directory / owners_name, np.int32)

    def write(self, pairs: np.ndarray) -> None:
        self._hashes.write(pairs["hash"])
        self._owners.write(pairs["owner"])

    def close(self) -> None:
        self._hashes.close()
        self._owners.close()


class ArrayReader:
    """A 1-D ``.npy`` file read in ranges by plain reads (a pass over it leaves the pages
    in the page cache, not in the process, as a memory map would), and at scattered
    positions through a memory map."""

    def __init__(self, path: Path) -> None:
        self.path = path
        with open(path, "rb") as fh:
            major, _ = np.lib.format.read_magic(fh)
            read_header = (np.lib.format.read_array_header_1_0 if major == 1
                           else np.lib.format.read_array_header_2_0)  # fmt: skip
            shape, _, dtype = read_header(fh)
            self._offset = fh.tell()
        self.dtype, self.length = dtype, shape[0]
        self._map: np.ndarray | None = None

    def __len__(self) -> int:
        return self.length

    def __getitem__(self, wanted):
        if isinstance(wanted, slice):
            start, stop, step = wanted.indices(self.length)
            if step == 1:
                count = max(0, stop - start)
                offset = self._offset + start * self.dtype.itemsize
                return np.fromfile(self.path, dtype=self.dtype, count=count, offset=offset)
        return self.mapped()[wanted]

    def mapped(self) -> np.ndarray:
        """The array memory-mapped (for binary searches and scattered reads)."""
        if self._map is None:
            self._map = np.load(self.path, mmap_mode="r")
        return self._map


class Spill:
    """Records of one dtype on disk in ``buckets`` files (``bucket_of`` says which of each
    record's), buffered in memory up to ``buffer_bytes``; each bucket read (and removed)
    whole."""

    def __init__(
        self,
        directory: Path,
        dtype,
        buckets: int,
        bucket_of: Callable[[np.ndarray], np.ndarray],
        buffer_bytes: int,
    ) -> None:
        self.directory, self.dtype, self.buckets = directory, np.dtype(dtype), buckets
        self.bucket_of = bucket_of
        self.buffer_bytes = max(buffer_bytes, 1 << 20)
        self._parts: list[np.ndarray] = []
        self._buffered = 0
        self.records = 0
        shutil.rmtree(directory, ignore_errors=True)
        directory.mkdir(parents=True)

    def add(self, records: np.ndarray) -> None:
        if len(records) == 0:
            return
        self._parts.append(records)
        self._buffered += records.nbytes
        self.records += len(records)
        if self._buffered >= self.buffer_bytes:
            self.flush()

    def flush(self) -> None:
        if not self._parts:
            return
        records = np.concatenate(self._parts)
        self._parts, self._buffered = [], 0
        bucket = self.bucket_of(records)
        order = np.argsort(bucket, kind="stable")
        records, bucket = records[order], bucket[order]
        del order
        bounds = np.searchsorted(bucket, np.arange(self.buckets + 1))
        for number in np.flatnonzero(np.diff(bounds)):
            with open(self._path(int(number)), "ab") as fh:
                records[bounds[number] : bounds[number + 1]].tofile(fh)

    def take(self, number: int) -> np.ndarray:
        """Bucket ``number``'s records, in the order added; its file is removed."""
        path = self._path(number)
        if not path.exists():
            return np.zeros(0, dtype=self.dtype)
        records = np.fromfile(path, dtype=self.dtype)
        path.unlink()
        return records

    def remove(self) -> None:
        shutil.rmtree(self.directory, ignore_errors=True)

    def _path(self, number: int) -> Path:
        return self.directory / f"{number:05d}.bin"


def by_hash(bits: int) -> Callable[[np.ndarray], np.ndarray]:
    """The bucket of each record with a 64-bit ``hash``: its top ``bits`` bits (buckets in
    hash order)."""
    return lambda records: (records["hash"] >> np.uint64(64 - bits)).astype(np.int32)


def unique_sorted(values: np.ndarray) -> np.ndarray:
    """``values`` sorted, each once (by sorting: NumPy's ``unique`` may hash, which is
    slower on large integer arrays)."""
    values = np.sort(values)
    if len(values) < 2:
        return values
    keep = np.empty(len(values), dtype=bool)
    keep[0] = True
    np.not_equal(values[1:], values[:-1], out=keep[1:])
    return values[keep]


def unique_pairs(pairs: np.ndarray) -> np.ndarray:
    """(hash, owner) records sorted by hash then owner, each once."""
    pairs = pairs[np.lexsort((pairs["owner"], pairs["hash"]))]
    if len(pairs) < 2:
        return pairs
    keep = np.ones(len(pairs), dtype=bool)
    keep[1:] = (pairs["hash"][1:] != pairs["hash"][:-1]) | (
        pairs["owner"][1:] != pairs["owner"][:-1]
    )
    return pairs[keep]


def merge_pairs(old: np.ndarray, new: np.ndarray) -> np.ndarray:
    """Two arrays of (hash, owner) records, each sorted by hash then owner, as one: a
    linear merge (two different papers holding one key are the only ties to settle)."""
    if len(new) == 0 or len(old) == 0:
        return new if len(old) == 0 else old
    merged = np.insert(old, np.searchsorted(old["hash"], new["hash"]), new)
    ties = (merged["hash"][1:] == merged["hash"][:-1]) & (
        merged["owner"][1:] < merged["owner"][:-1]
    )
    return merged[np.lexsort((merged["owner"], merged["hash"]))] if ties.any() else merged
