"""Files that readers must never see half-written: index builds and the ONNX query export.

Written to a unique temporary name in the same directory, fsynced, renamed
into place (atomic on POSIX), and the directory fsynced, so that after a crash
the file is either the old one, the new one, or absent; a failed write (a full
disk, say) leaves no file behind.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import tempfile
from collections.abc import Callable
from pathlib import Path

TEMPORARY_SUFFIX = ".tmp"  # what a crashed writer leaves behind, for clean-ups to find


def write_atomically(
    path: Path,
    write: Callable[[Path], object],
    *,
    before_rename: Callable[[], object] | None = None,
) -> None:
    """``write(temporary_path)`` the file, then make it ``path`` in one step."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, name = tempfile.mkstemp(dir=path.parent, prefix=path.name + ".", suffix=TEMPORARY_SUFFIX)
    os.close(fd)
    tmp = Path(name)
    try:
        write(tmp)
        with open(tmp, "rb") as fh:
            os.fsync(fh.fileno())
        os.chmod(tmp, 0o644)  # mkstemp's 0600 would hide it from a server run as another user
        if before_rename is not None:
            before_rename()
        os.replace(tmp, path)
    finally:
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()
    fsync_directory(path.parent)


def fsync_directory(directory: Path) -> None:
    """Make the directory's entries (a rename, a new file) durable."""
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def fsync_tree(directory: Path) -> None:
    """Make every file of a directory written in place durable, then the directory."""
    for path in directory.iterdir():
        with open(path, "rb") as fh:
            os.fsync(fh.fileno())
    fsync_directory(directory)


def file_checksum(*paths: Path) -> str:
    """SHA-256 of the files' bytes, one after the other."""
    digest = hashlib.sha256()
    for path in paths:
        with open(path, "rb") as fh:
            while chunk := fh.read(1 << 22):
                digest.update(chunk)
    return digest.hexdigest()
