"""Reading a corpus file's lines: plain or gzipped, JSON objects mapped one by one."""

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
            for line_no, raw in enumerate(fh, start=1):  # noqa: B007 - used after the loop
                if not raw.strip():
                    continue
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
