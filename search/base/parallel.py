"""One query's work on every shard at once: a process-wide thread pool.

FAISS and Tantivy release the GIL while they search, so a query's shards run on as many
cores as the host has; the requests a server answers at once share the pool, which
queues their shards' work rather than start threads without bound.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

Item = TypeVar("Item")
Result = TypeVar("Result")
THREADS_PER_CORE = 2  # a shard waiting on a page fault leaves its core to another

_pool: ThreadPoolExecutor | None = None
_lock = threading.Lock()


def _executor() -> ThreadPoolExecutor:
    global _pool
    with _lock:
        if _pool is None:
            cores = len(os.sched_getaffinity(0))
            _pool = ThreadPoolExecutor(max(4, THREADS_PER_CORE * cores), "papersearch-shard")
        return _pool


def each(function: Callable[[Item], Result], items: Sequence[Item]) -> list[Result]:
    """``function`` of every item, in order, the items in parallel (one item: on this
    thread). The first error raised is raised here, once every item is done."""
    if len(items) == 1:
        return [function(items[0])]
    futures = [_executor().submit(function, item) for item in items]
    errors = [future.exception() for future in futures]
    for error in errors:
        if error is not None:
            raise error
    return [future.result() for future in futures]
