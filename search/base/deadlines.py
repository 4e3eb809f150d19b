"""A request's time budget, checked between the steps of work that could outlast it.

A proxy answers 504 when its timeout passes, but the server would go on working for no
one. Work that grows with what a client sends (a library of a thousand entries) checks
its deadline between steps, and stops with the error the caller names.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from search.base.errors import PapersearchError


class Deadline:
    """``seconds`` from now; :meth:`check` raises ``error(seconds)`` once they are past."""

    def __init__(self, seconds: float, error: Callable[[float], PapersearchError]) -> None:
        self.seconds = seconds
        self.error = error
        self.ends = time.monotonic() + seconds

    def check(self, *_: object) -> None:
        """Raise past the deadline (takes and ignores arguments: a progress callback)."""
        if time.monotonic() > self.ends:
            raise self.error(self.seconds)

    @classmethod
    def never(cls) -> Deadline:
        """No budget: for the command line, where the person waiting can stop the work."""
        return cls(float("inf"), lambda seconds: PapersearchError("unreachable"))
