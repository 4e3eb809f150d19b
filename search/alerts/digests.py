"""After a build is published, each confirmed subscription gets one digest of what is new
for it: the papers of its ranking (its feed's first ``FEED_DEPTH``) whose work entered the
index after the build its last digest covered, less any it was mailed before (by any
version of the work). Subscriptions to one target share one ranking. Nothing new,
nothing sent; a build that publishes nothing never gets here.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass

from search.alerts import Alerts
from search.alerts.delivery import deliver, sender_address
from search.alerts.messages import digest
from search.alerts.targets import Target
from search.answers.results import Hit
from search.base.errors import PapersearchError

log = logging.getLogger(__name__)

BATCH = 1000  # subscriptions read at a time


@dataclass
class DigestRun:
    """What one digest run did: digests queued, then the delivery's outcome."""

    digests: int = 0
    mails_sent: int = 0
    mails_retried: int = 0
    mails_failed: int = 0
    seconds: float = 0.0

    def as_dict(self) -> dict[str, int]:
        return dict(self.__dict__)


def send_digests(alerts: Alerts, engine) -> DigestRun:
    """Queue and send the digests for the build ``engine`` serves."""
    run = DigestRun()
    started = time.perf_counter()
    build = engine.build.id
    rankings: dict[str, list[tuple[Hit, frozenset[int], int]]] = {}
    after = 0
    while subscriptions := alerts.rows.confirmed(build, after, BATCH):
        mailed = alerts.rows.mailed([s.id for s in subscriptions])
        digests, quiet = [], []
        for subscription in subscriptions:
            target = Target.stored(subscription.kind, subscription.target)
            if target.key not in rankings:
                rankings[target.key] = _ranked(target, engine)
            new = [(hit, versions) for hit, versions, entered in rankings[target.key]
                   if entered > (subscription.since_build or 0)
                   and not versions & mailed[subscription.id]]  # fmt: skip
            if not new:
                quiet.append(subscription.id)
                continue
            papers = sorted(set().union(*(versions for _, versions in new)))
            message = _message(alerts, subscription, target, [hit for hit, _ in new])
            digests.append((subscription, papers, message))
        run.digests += alerts.rows.queue_digests(digests, quiet, build)
        after = subscriptions[-1].id
    delivered = deliver(alerts.settings, alerts.rows)
    run.mails_sent, run.mails_retried = delivered.sent, delivered.retried
    run.mails_failed = delivered.failed
    run.seconds = round(time.perf_counter() - started, 2)
    return run


def _ranked(target: Target, engine) -> list[tuple[Hit, frozenset[int], int]]:
    """The target's ranking now: each hit, its work's versions, and the build the work
    first entered the index in (its earliest version's)."""
    try:
        hits = target.ranked(engine)
    except PapersearchError as exc:  # a library expired, an author's papers withdrawn
        log.warning("alert target %s cannot be ranked: %s", target.params, exc)
        return []
    works = [frozenset(engine.works.all_versions([hit.id])) for hit in hits]
    entered = engine.store.papers.first_builds({v for versions in works for v in versions})
    return [(hit, versions, min((entered[v] for v in versions if v in entered), default=0))
            for hit, versions in zip(hits, works, strict=True)]  # fmt: skip


def _message(alerts: Alerts, subscription, target: Target, hits: list[Hit]) -> bytes:
    base = alerts.settings.public_url.rstrip("/")
    unsubscribe = alerts.link("/alerts/unsubscribe", alerts.tokens.unsubscribe(subscription.id))
    return digest(sender_address(alerts.settings), subscription.address, target.title, hits,
                  target.page(base), unsubscribe,
                  lambda hit: f"{base}/papers/{hit.id}")  # fmt: skip
