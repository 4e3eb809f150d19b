"""Reading a corpus file's lines: plain or gzipped, JSON objects mapped one by one, each
line at most MAX_LINE_BYTES (a longer one is skipped in pieces, never held whole)."""

from __future__ import annotations

import gzip
import io
import json
from collections.abc import Callable, Iterator
from pathlib import Path

from indexer.fields import BadRecord
from indexer.readers.items import Item, Reject, Withdrawal
from search.store.records import PaperRecord

Mapper = Callable[[dict], PaperRecord | Withdrawal]
# A record's line: the largest real ones (thousands of authors, long reference lists) are
# a few MB; past this it is a broken or hostile file, and the line is skipped unread.
MAX_LINE_BYTES = 16 * 2**20


class Lines:
    """A file's lines as (number, bytes), a line longer than ``limit`` as (number, None),
    read in pieces and dropped; the numbers of those are kept in ``too_long``."""

    def __init__(self, fh: io.BufferedIOBase, limit: int = MAX_LINE_BYTES) -> None:
        self.fh, self.limit = fh, limit
        self.number = 0
        self.too_long: list[int] = []

    def __iter__(self) -> Iterator[tuple[int, bytes | None]]:
        while True:
            raw = self.fh.readline(self.limit + 1)
            if not raw:
                return
            self.number += 1
            if len(raw) <= self.limit or raw.endswith(b"\n"):
                yield self.number, raw
                continue
            while True:  # the rest of the line, a piece at a time
                rest = self.fh.readline(1 << 20)
                if not rest or rest.endswith(b"\n"):
                    break
            self.too_long.append(self.number)
            yield self.number, None


def line_too_long(limit: int = MAX_LINE_BYTES) -> Reject:
    return Reject(f"line longer than {limit // 2**20} MB: skipped, not read whole", "")


def open_bytes(path: Path) -> io.BufferedIOBase:
    """The file's bytes, gunzipped when it starts with the gzip magic number."""
    raw = open(path, "rb")  # noqa: SIM115 - returned to the caller, who closes it
    if raw.read(2) == b"\x1f\x8b":
        raw.seek(0)
        unzipped = gzip.GzipFile(fileobj=raw)
        try:
            unzipped.peek(1)
            return unzipped  # type: ignore[return-value]
        except (OSError, EOFError):  # starts like gzip but is not: read it as plain text
            pass
    raw.seek(0)
    return raw


def excerpt_of(raw: bytes | str) -> str:
    text = raw.decode("utf-8", "replace") if isinstance(raw, bytes) else raw
    return text.strip()[:200]


def read_jsonl(path: Path, mapper: Mapper) -> Iterator[Item]:
    line_no = 0
    with open_bytes(path) as fh:
        try:
            for line_no, raw in Lines(fh):  # noqa: B007 - used after the loop
                if raw is None:
                    yield line_no, line_too_long()
                elif raw.strip():
                    yield line_no, _parse_json_line(raw, mapper)
        except (EOFError, OSError, gzip.BadGzipFile) as exc:
            yield line_no + 1, Reject(f"file is truncated or corrupt from here: {exc}", "", True)


def _parse_json_line(
    raw: bytes, mapper: Callable[[dict], PaperRecord | Withdrawal]
) -> PaperRecord | Reject | Withdrawal:
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        return Reject(f"invalid UTF-8 at byte {exc.start}", excerpt_of(raw))
    try:
        obj = json.loads(text)
    except ValueError as exc:
        return Reject(f"invalid JSON: {exc}", excerpt_of(text))
    if not isinstance(obj, dict):
        return Reject(f"not a JSON object but {type(obj).__name__}", excerpt_of(text))
    try:
        return mapper(obj)
    except BadRecord as exc:
        return Reject(str(exc), excerpt_of(text))
