"""gunicorn's threaded worker, reading each request whole in its event loop before a thread
takes it, as a buffering proxy would.

gunicorn's ``gthread`` hands a connection to a thread as soon as data arrives, and the
thread then waits on the body: eight clients sending a body a byte every few seconds
held every thread of a server, and its searches waited with them. Here the worker's
event loop reads the request line, headers and body (``web.request_buffer``) without
blocking, and only a whole request reaches a thread. A request not whole within
``PAPERSEARCH_REQUEST_SECONDS`` is answered 408; one whose head is longer than the server
reads, 414; and when the requests being read hold ``PAPERSEARCH_REQUEST_MEMORY`` bytes,
the one past it is answered 503 with ``Retry-After``: each in the API's error shape, as
are gunicorn's own refusals of a malformed request.
"""

from __future__ import annotations

import contextlib
import errno
import json
import selectors
import time
from collections import deque
from functools import partial

from gunicorn import http
from gunicorn.http2 import negotiation
from gunicorn.workers.gthread import ThreadWorker

from search.base.settings import Settings
from web.request_buffer import HEAD_BYTES, HEAD_TOO_LONG, WHOLE, RequestBuffer

READ_BYTES = 256 * 1024  # read at a time from a socket
READS_PER_EVENT = 8  # reads of one socket per event, so that one client cannot hold the loop
REASONS = {400: "Bad Request", 408: "Request Timeout", 414: "URI Too Long",
           431: "Request Header Fields Too Large", 503: "Service Unavailable"}  # fmt: skip
MALFORMED = {http.errors.LimitRequestLine: (414, "uri_too_long"),
             http.errors.LimitRequestHeaders: (431, "headers_too_large")}  # fmt: skip


class BufferedThreadWorker(ThreadWorker):
    """``gthread``, with each HTTP/1.1 request read whole by the event loop first (TLS and
    HTTP/2 connections, which papersearch's deployments leave to the proxy, go as they
    would)."""

    def init_process(self) -> None:
        from web.bodies import largest_body

        settings = Settings.from_env()
        self.request_seconds = settings.request_seconds
        self.request_memory = settings.request_memory
        self.max_body = largest_body(settings)
        self.reading: deque = deque()  # connections being read, oldest first
        self.buffered = 0  # bytes held by them
        super().init_process()

    def enqueue_req(self, conn) -> None:
        """Hand a whole request to a thread; read the rest of one first."""
        if getattr(conn, "whole", False) or self._unbuffered(conn):
            conn.whole = False
            super().enqueue_req(conn)
            return
        held = conn.parser.unreader.take_buffered() if conn.parser is not None else b""
        conn.request = RequestBuffer(held, self.max_body)
        conn.deadline = time.monotonic() + self.request_seconds
        self.buffered += len(held)
        conn.sock.setblocking(False)
        self.reading.append(conn)
        self.poller.register(conn.sock, selectors.EVENT_READ, partial(self._readable, conn))
        self._read(conn)

    def _unbuffered(self, conn) -> bool:
        return (self.cfg.is_ssl or conn.is_http2
                or negotiation.prior_knowledge_allowed(self.cfg, conn.client))  # fmt: skip

    def _readable(self, conn, _sock) -> None:
        self._read(conn)

    def _read(self, conn) -> None:
        """Read what the socket holds; hand the request over once it is whole."""
        for _ in range(READS_PER_EVENT):
            state = conn.request.state()
            if state == WHOLE:
                return self._hand_over(conn)
            if state == HEAD_TOO_LONG:
                return self._refuse(conn, 414, "uri_too_long",
                                    f"The request line and headers are longer than the "
                                    f"{HEAD_BYTES // 1024} KB the server reads.")  # fmt: skip
            try:
                chunk = conn.sock.recv(READ_BYTES)
            except OSError as exc:
                if exc.errno in (errno.EAGAIN, errno.EWOULDBLOCK):
                    return None
                return self._drop(conn)
            if not chunk:
                return self._drop(conn)  # the client went away
            conn.request.add(chunk)
            self.buffered += len(chunk)
            if self.buffered > self.request_memory:
                return self._refuse(
                    conn,
                    503,
                    "busy",
                    "The server is reading too many requests at once; try again shortly.",
                    retry_after=5,
                )
        return None

    def _hand_over(self, conn) -> None:
        self._stop_reading(conn)
        if conn.parser is None:  # as TConn.init() would make it, holding what was read
            conn.parser = http.get_parser(self.cfg, conn.sock, conn.client)
        conn.parser.unreader.unread(bytes(conn.request.data))
        conn.request = None
        conn.data_ready = conn.whole = True
        conn.sock.setblocking(True)
        self.enqueue_req(conn)

    def _stop_reading(self, conn) -> None:
        self.buffered -= len(conn.request)
        self.reading.remove(conn)
        with contextlib.suppress(KeyError, ValueError, OSError):
            self.poller.unregister(conn.sock)

    def _refuse(self, conn, status: int, code: str, message: str, retry_after: int = 0) -> None:
        """Answer ``status`` in the API's error shape, and close."""
        self._stop_reading(conn)
        conn.sock.setblocking(True)
        conn.sock.settimeout(1.0)
        with contextlib.suppress(OSError):
            conn.sock.sendall(error_response(status, code, message, retry_after))
        self.nr_conns -= 1
        conn.close()

    def _drop(self, conn) -> None:
        self._stop_reading(conn)
        self.nr_conns -= 1
        conn.close()

    def murder_pending(self) -> None:
        """Also answer 408 to the requests not whole within their seconds."""
        super().murder_pending()
        now = time.monotonic()
        while self.reading and self.reading[0].deadline <= now:
            self._refuse(self.reading[0], 408, "request_timeout",
                         f"The request was not received whole within {self.request_seconds:g} "
                         "s, and was dropped.")  # fmt: skip

    def handle_error(self, req, client, addr, exc) -> None:
        """gunicorn's refusals of a malformed request, in the API's error shape (anything
        else, the app's own failure, as gunicorn answers it)."""
        if not isinstance(exc, http.errors.ParseException):
            return super().handle_error(req, client, addr, exc)
        status, code = MALFORMED.get(type(exc), (400, "bad_request"))
        self.log.debug("Refused a malformed request: %s", exc)
        with contextlib.suppress(OSError):
            client.sendall(error_response(status, code, _message(exc)))
        return None


def error_response(status: int, code: str, message: str, retry_after: int = 0) -> bytes:
    """A whole HTTP/1.1 response in the API's error shape, closing the connection."""
    body = json.dumps({"error": {"code": code, "message": message}}).encode()
    head = [f"HTTP/1.1 {status} {REASONS[status]}", "Content-Type: application/json",
            f"Content-Length: {len(body)}", "Connection: close"]  # fmt: skip
    if retry_after:
        head.append(f"Retry-After: {retry_after}")
    return ("\r\n".join(head) + "\r\n\r\n").encode() + body


def _message(exc: Exception) -> str:
    return f"The request could not be read: {type(exc).__name__} ({str(exc)[:200]})."
