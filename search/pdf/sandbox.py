"""PDFs are read in a child process that this one can give up on.

pypdf is pure Python: a hostile file (a page of millions of operators, a deep page tree,
a stream that inflates to gigabytes) can take minutes or all the memory, and a thread
cannot be stopped. The child reads one file at a time, under an address-space limit; the
parent waits for each answer until the file's deadline, then kills the child and starts
another for the next file. Nothing but the one file is lost.
"""

from __future__ import annotations

import json
import os
import selectors
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from search.pdf.limits import PdfLimits, Unreadable
from search.pdf.text import PdfText

PACKAGE_ROOT = Path(__file__).resolve().parents[2]  # the child imports search.pdf from here


class PdfSandbox:
    """``with PdfSandbox(limits) as sandbox: sandbox.read(path)``: one child for many
    files, restarted after a file that killed or outlasted it."""

    def __init__(self, limits: PdfLimits) -> None:
        self.limits = limits
        self._child: subprocess.Popen | None = None
        self._buffer = b""

    def __enter__(self) -> PdfSandbox:
        return self

    def __exit__(self, *_exc) -> None:
        self.close()

    def read(self, path: Path, *, references: bool = False) -> tuple[PdfText, str]:
        """The paper in ``path`` and the file's SHA-256, or :class:`Unreadable`; with
        ``references``, the ids of its reference section too (for a folder indexed)."""
        size = path.stat().st_size
        if size > self.limits.max_bytes:
            raise self.limits.too_large(size)
        child = self._start()
        try:
            asked = {"path": str(path), "references": references}
            child.stdin.write(json.dumps(asked).encode() + b"\n")
            child.stdin.flush()
        except (BrokenPipeError, OSError):
            self.close()
            raise Unreadable("the PDF reader stopped before reading it") from None
        reply = self._reply(time.monotonic() + self.limits.seconds)
        if "error" in reply:
            raise Unreadable(reply["error"])
        return PdfText.from_dict(reply["paper"]), reply["sha256"]

    def read_bytes(self, data: bytes) -> PdfText:
        """The paper in an upload (written to a private temporary file for the child;
        ``read`` refuses it there if it is too large)."""
        with tempfile.NamedTemporaryFile(suffix=".pdf") as upload:
            upload.write(data)
            upload.flush()
            return self.read(Path(upload.name))[0]

    def close(self) -> None:
        child, self._child, self._buffer = self._child, None, b""
        if child is None:
            return
        if child.poll() is None:
            child.kill()
        child.wait()
        for pipe in (child.stdin, child.stdout):
            pipe.close()

    def _start(self) -> subprocess.Popen:
        if self._child is not None and self._child.poll() is None:
            return self._child
        self.close()
        env = {**os.environ, "PYTHONPATH": os.pathsep.join(
            p for p in (str(PACKAGE_ROOT), os.environ.get("PYTHONPATH", "")) if p)}  # fmt: skip
        limits = json.dumps({"max_bytes": self.limits.max_bytes,
                             "max_pages": self.limits.max_pages,
                             "seconds": self.limits.seconds,
                             "memory_bytes": self.limits.memory_bytes})  # fmt: skip
        self._child = subprocess.Popen(
            [sys.executable, "-m", "search.pdf.worker", limits],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, env=env,
        )  # fmt: skip
        return self._child

    def _reply(self, deadline: float) -> dict:
        """The child's answer, read until ``deadline``; past it, or if the child dies,
        the child is stopped and the file is unreadable."""
        stdout = self._child.stdout.fileno()
        while b"\n" not in self._buffer:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                self.close()
                raise Unreadable(f"took longer than {self.limits.seconds:g} s to read "
                                 "(PAPERSEARCH_PDF_TIMEOUT)")  # fmt: skip
            if not _readable(stdout, remaining):
                continue
            chunk = os.read(stdout, 1 << 16)
            if not chunk:
                self.close()
                raise Unreadable("the PDF reader died on it (out of memory?)")
            self._buffer += chunk
        line, _, self._buffer = self._buffer.partition(b"\n")
        try:
            return json.loads(line)
        except ValueError:
            self.close()
            raise Unreadable("the PDF reader's answer could not be read") from None


def _readable(fd: int, seconds: float) -> bool:
    """``fd`` has something to read within ``seconds``. A selector (epoll, poll), not
    select(): a server holding many files (index segments, memory-mapped graphs, client
    sockets) hands out descriptors past 1023, which select() cannot watch."""
    with selectors.DefaultSelector() as selector:
        selector.register(fd, selectors.EVENT_READ)
        return bool(selector.select(seconds))
