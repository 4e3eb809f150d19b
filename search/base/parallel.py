"""One query's work on every shard at once: a process-wide thread pool.

FAISS and Tantivy release the GIL while they search, so a query's shards run on as many
cores as the host has; the requests a server answers at once share the pool, which
queues their shards' work rather than start threads without bound.

A query's independent parts (hybrid's keyword ranking beside its encoding and nearest
neighbours) run :func:`beside` the request's thread, on a pool of their own: such a part
waits on shards' work, and shards' work never waits, so neither pool can fill with
tasks that wait on tasks queued behind them.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from typing import TypeVar

Item = TypeVar("Item")
Result = TypeVar("Result")
THREADS_PER_CORE = 2  # a shard waiting on a page fault leaves its core to another

_pools: dict[str, ThreadPoolExecutor] = {}
_lock = threading.Lock()


def _executor(name: str = "papersearch-shard") -> ThreadPoolExecutor:
    with _lock:
        if name not in _pools:
            cores = len(os.sched_getaffinity(0))
            _pools[name] = ThreadPoolExecutor(max(4, THREADS_PER_CORE * cores), name)
        return _pools[name]


def beside(function: Callable[[], Result]) -> Future[Result]:
    """Start ``function`` on another thread while this one goes on; its ``result()``
    returns what it returned or raises what it raised."""
    return _executor("papersearch-beside").submit(function)


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
