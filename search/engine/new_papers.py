"""What is new for a question: the papers of a ranking that entered the index lately.

A feed (``/feeds/search.atom``, and a library's recommendations) is a ranking's
top FEED_DEPTH papers, less those that were already in the index before the last
``days`` days, newest arrival first. A paper *enters* with the first index build
that holds it (``papers.first_build``): each nightly re-index adds the new papers
that rank high enough, and a feed reader, which keeps entries by their stable id,
shows just those. The rule does not depend on how many papers arrive: a quiet night
adds nothing, and a paper appears only if it would be on the query's first pages.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from urllib.parse import quote

import numpy as np

from search.answers.results import Hit, SearchResult
from search.base.errors import InvalidRequest
from search.query.limits import MAX_K
from search.store import Store

FEED_DEPTH = MAX_K  # a new paper is listed when it ranks among the query's first this many
FEED_DAYS = 30  # ...and entered the index in a build made in the last this many days
MAX_FEED_DAYS = 365


@dataclass(frozen=True)
class FeedEntry:
    """A paper of the ranking and when it entered the index."""

    hit: Hit
    rank: int  # 1-based, in the ranking the feed came from
    entered: datetime  # when the build that first held it was made (UTC)
    entry_id: str  # stable across builds, hosts and feeds


@dataclass(frozen=True)
class Feed:
    """The entries of one feed, newest arrival first, and what they came from."""

    feed_id: str
    title: str
    updated: datetime  # the newest entry's arrival, else when the build served was made
    entries: list[FeedEntry]
    days: int


def feed_days(value: int | None, name: str = "days") -> int:
    """``value`` (the parameter ``name``) as a number of days, FEED_DAYS when not given."""
    days = FEED_DAYS if value is None else value
    if not 1 <= days <= MAX_FEED_DAYS:
        raise InvalidRequest(f"{name} must be an integer from 1 to {MAX_FEED_DAYS}.",
                             "out_of_range")  # fmt: skip
    return days


def entered_since(store: Store, days: int, now: datetime | None = None) -> np.ndarray:
    """Sorted ids of the served papers that entered the index in the last ``days`` days."""
    since = (now or datetime.now(timezone.utc)) - timedelta(days=days)
    return store.papers.first_built_in(store.builds.made_since(since))


def paper_entry_id(external_id: str) -> str:
    """A paper's Atom id: its corpus id, the same in every feed, on every host and build."""
    return "urn:papersearch:paper:" + quote(external_id, safe="")


def feed_id(kind: str, params: Mapping[str, str]) -> str:
    """A feed's Atom id from what defines it (the query and its filters, in any order)."""
    canonical = json.dumps(sorted((k, v) for k, v in params.items() if v), ensure_ascii=False)
    return f"urn:papersearch:{kind}:" + hashlib.sha256(canonical.encode()).hexdigest()[:32]


def new_in(
    result: SearchResult,
    store: Store,
    *,
    title: str,
    atom_id: str,
    days: int = FEED_DAYS,
    now: datetime | None = None,
) -> Feed:
    """The hits of ``result`` (a ranking's first FEED_DEPTH) whose first build was made in
    the last ``days`` days, newest arrival first, then by rank."""
    now = now or datetime.now(timezone.utc)
    first = store.papers.first_builds(hit.id for hit in result.results)
    made = store.builds.made_at(set(first.values()))
    since = now - timedelta(days=days)
    entries = [
        FeedEntry(hit, rank, made[first[hit.id]], paper_entry_id(hit.external_id))
        for rank, hit in enumerate(result.results, 1)
        if hit.id in first and first[hit.id] in made and made[first[hit.id]] >= since
    ]
    entries.sort(key=lambda entry: (-entry.entered.timestamp(), entry.rank))
    served = store.builds.made_at({store.papers.serving} if store.papers.serving else set())
    updated = entries[0].entered if entries else max(served.values(), default=now)
    return Feed(atom_id, title, updated, entries, days)
