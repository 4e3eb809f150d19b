"""One writer at a time: an advisory lock file in the data directory.

``flock`` locks belong to the open file: the kernel drops them when the
process dies, however it dies, so a crashed or killed run never leaves the
lock stuck. (The lock guards one data directory on one host.)
"""

from __future__ import annotations

import contextlib
import fcntl
import os
from collections.abc import Iterator
from pathlib import Path

from search.base.errors import PapersearchError


class AlreadyRunning(PapersearchError):
    """Another index or reindex holds the lock."""

    code = "already_running"


@contextlib.contextmanager
def write_lock(home: Path) -> Iterator[None]:
    home.mkdir(parents=True, exist_ok=True)
    path = home / "write.lock"
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.pread(fd, 64, 0).decode(errors="replace").strip() or "unknown"
            raise AlreadyRunning(
                f"Another papersearch index/reindex (pid {holder}) is writing to {home}; "
                "try again when it has finished."
            ) from None
        os.ftruncate(fd, 0)
        os.pwrite(fd, str(os.getpid()).encode(), 0)
        yield
    finally:
        os.close(fd)
