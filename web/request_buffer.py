"""The bytes of one HTTP/1.1 request as they arrive, and whether they hold all of it: the
request line, the headers and the body (by ``Content-Length``, or chunks to the last).

``web.buffered_worker`` reads each request whole with this before a thread takes it. A
request whose head is past HEAD_BYTES, or that announces a body larger than the server
takes, is handed over as it stands: the app (or gunicorn) refuses it from its head.
"""

from __future__ import annotations

import re

HEAD_BYTES = 64 * 1024  # request line and headers together
_LENGTH = re.compile(rb"\r\ncontent-length[ \t]*:[ \t]*([0-9]+)[ \t]*(?=\r\n)", re.I)
_CHUNKED = re.compile(rb"\r\ntransfer-encoding[ \t]*:[^\r\n]*chunked", re.I)

MORE, WHOLE, HEAD_TOO_LONG = "more", "whole", "head too long"


class RequestBuffer:
    """One request's bytes so far (and any that follow it: a pipelined request)."""

    def __init__(self, data: bytes = b"", max_body: int = 0) -> None:
        self.data = bytearray(data)
        self.max_body = max_body
        self._head_end: int | None = None
        self._chunk_at: int | None = None  # where the next chunk's size line starts

    def add(self, chunk: bytes) -> None:
        self.data += chunk

    def __len__(self) -> int:
        return len(self.data)

    def state(self) -> str:
        """MORE bytes are needed, the request is WHOLE (or as whole as the server will
        read: its head announces more than ``max_body``), or its HEAD_TOO_LONG."""
        if self._head_end is None:
            end = self.data.find(b"\r\n\r\n", 0, HEAD_BYTES + 4)
            if end < 0:
                return HEAD_TOO_LONG if len(self.data) > HEAD_BYTES else MORE
            self._head_end = end + 4
        head = bytes(self.data[: self._head_end - 2])
        if _CHUNKED.search(head):
            return self._chunks()
        length = _LENGTH.search(head)
        if length is None:
            return WHOLE
        wanted = int(length.group(1))
        if wanted > self.max_body:
            return WHOLE  # refused from its length, unread
        return WHOLE if len(self.data) >= self._head_end + wanted else MORE

    def _chunks(self) -> str:
        """Chunked: WHOLE once the last (empty) chunk and the trailers are in, or once the
        body is past ``max_body`` (the app then refuses it)."""
        at = self._chunk_at if self._chunk_at is not None else self._head_end
        while True:
            if at - self._head_end > self.max_body:
                return WHOLE
            line_end = self.data.find(b"\r\n", at)
            if line_end < 0:
                return HEAD_TOO_LONG if len(self.data) - at > HEAD_BYTES else MORE
            try:
                size = int(bytes(self.data[at:line_end]).split(b";")[0].strip(), 16)
            except ValueError:
                return WHOLE  # malformed: the parser says so
            if size == 0:
                trailers = self.data.find(b"\r\n\r\n", line_end)
                if self.data[line_end + 2 : line_end + 4] == b"\r\n" or trailers >= 0:
                    return WHOLE
                return MORE
            following = line_end + 2 + size + 2
            if following > len(self.data):
                self._chunk_at = at
                return MORE
            at = following
            self._chunk_at = at
