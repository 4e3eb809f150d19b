"""The thread pools a query's shards and parts run on (``search.base.parallel``)."""

from __future__ import annotations

import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from search.base.parallel import beside, each

REPO = Path(__file__).resolve().parents[2]


def test_each_answers_in_order_and_runs_items_at_once():
    started = threading.Barrier(3, timeout=10)  # three items that wait for each other

    def item(n: int) -> int:
        started.wait()
        return n * n

    assert each(item, [3, 1, 2]) == [9, 1, 4]


def test_each_raises_the_first_error_once_every_item_is_done():
    done = []

    def item(n: int) -> int:
        if n == 1:
            raise ValueError("one")
        time.sleep(0.05)
        done.append(n)
        return n

    with pytest.raises(ValueError, match="one"):
        each(item, [0, 1, 2])
    assert sorted(done) == [0, 2]


def test_beside_runs_while_the_caller_goes_on_and_passes_errors_back():
    release = threading.Event()
    waiting = beside(lambda: release.wait(10) and "done")
    release.set()  # the caller goes on while the other thread waits
    assert waiting.result(timeout=10) == "done"
    with pytest.raises(KeyError):
        beside(lambda: {}["missing"]).result(timeout=10)


REQUESTS_AT_ONCE = """
from concurrent.futures import ThreadPoolExecutor
from search.base.parallel import beside, each

def request(n):
    part = beside(lambda: sum(each(lambda s: s + n, range(3))))
    return part.result() + sum(each(lambda s: s * n, range(3)))

with ThreadPoolExecutor(32) as requests:
    assert list(requests.map(request, range(32))) == [3 + 6 * n for n in range(32)]
print("all answered")
"""


def test_parts_that_wait_on_shards_never_fill_the_pools():
    """More requests at once than either pool has threads, each with a part beside it
    that fans out to shards: every one is answered (a part waiting on shards' work queued
    behind it in its own pool would wait forever: run in a child, to be stopped)."""
    done = subprocess.run([sys.executable, "-c", REQUESTS_AT_ONCE], capture_output=True,
                          text=True, timeout=120, cwd=REPO)  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "all answered"
