"""Email alerts in the store: subscriptions and their status, the papers each has been
mailed, the outbox of mails to send, and the key every server signs alert links with.

A digest is queued in the same transaction that records its papers as mailed and moves
the subscription past the build: a crash leaves either all three or none, so a paper
is never mailed twice and never skipped. The outbox then delivers it (``search.alerts``).
"""

from __future__ import annotations

import secrets
from collections.abc import Iterable, Sequence
from datetime import datetime

from sqlalchemy import delete, func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from search.store.schema import AlertMailed, AlertOutbox, AlertSubscription, ServerKey, utcnow
from search.store.sql import IN_CHUNK

PENDING, CONFIRMED, UNSUBSCRIBED = "pending", "confirmed", "unsubscribed"
QUEUED, SENT, FAILED = "queued", "sent", "failed"


class AlertRows:
    def __init__(self, sessions: sessionmaker[Session]) -> None:
        self.sessions = sessions

    def key(self, name: str) -> str:
        """The shared key ``name``, made (random) by whichever server asks first."""
        with self.sessions() as session:
            found = session.get(ServerKey, name)
            if found is not None:
                return found.value
            session.add(ServerKey(name=name, value=secrets.token_hex(32)))
            try:
                session.commit()
            except IntegrityError:  # another server made it first
                session.rollback()
            return session.get(ServerKey, name).value

    def request(self, address: str, address_key: str, kind: str, target: dict,
                target_key: str) -> AlertSubscription | None:  # fmt: skip
        """A subscription awaiting confirmation (made, or made pending again with a new
        nonce, so that earlier confirmation links stop working); None when it is
        confirmed already (nothing to mail)."""
        with self.sessions() as session:
            found = session.scalars(
                select(AlertSubscription).where(AlertSubscription.address_key == address_key,
                                                AlertSubscription.target_key == target_key)
            ).first()  # fmt: skip
            if found is not None and found.status == CONFIRMED:
                return None
            if found is None:
                found = AlertSubscription(address=address, address_key=address_key, kind=kind,
                                          target=target, target_key=target_key)  # fmt: skip
                session.add(found)
            found.status, found.nonce = PENDING, secrets.token_hex(16)
            session.commit()
            session.refresh(found)
            session.expunge(found)
            return found

    def get(self, subscription_id: int) -> AlertSubscription | None:
        with self.sessions() as session:
            found = session.get(AlertSubscription, subscription_id)
            if found is not None:
                session.expunge(found)
            return found

    def confirm(self, subscription_id: int, nonce: str, build_id: int | None) -> bool:
        """Confirm a pending subscription whose nonce the link carries; papers entering
        after ``build_id`` (the build served now) will be new for it."""
        with self.sessions() as session:
            done = session.execute(
                update(AlertSubscription)
                .where(AlertSubscription.id == subscription_id, AlertSubscription.nonce == nonce,
                       AlertSubscription.status == PENDING)
                .values(status=CONFIRMED, confirmed_at=utcnow(), since_build=build_id)
            ).rowcount  # fmt: skip
            session.commit()
            return bool(done)

    def unsubscribe(self, subscription_id: int) -> None:
        with self.sessions() as session:
            session.execute(update(AlertSubscription)
                            .where(AlertSubscription.id == subscription_id)
                            .values(status=UNSUBSCRIBED))  # fmt: skip
            session.commit()

    def confirmed(self, before_build: int, after_id: int, limit: int) -> list[AlertSubscription]:
        """Confirmed subscriptions whose last digest covered an earlier build than
        ``before_build``, by id after ``after_id``, ``limit`` of them."""
        with self.sessions() as session:
            rows = session.scalars(
                select(AlertSubscription)
                .where(AlertSubscription.status == CONFIRMED, AlertSubscription.id > after_id,
                       func.coalesce(AlertSubscription.since_build, 0) < before_build)
                .order_by(AlertSubscription.id).limit(limit)
            ).all()  # fmt: skip
            session.expunge_all()
            return list(rows)

    def mailed(self, subscription_ids: Sequence[int]) -> dict[int, set[int]]:
        """The papers each subscription has been mailed."""
        found: dict[int, set[int]] = {i: set() for i in subscription_ids}
        with self.sessions() as session:
            for start in range(0, len(subscription_ids), IN_CHUNK):
                chunk = list(subscription_ids[start : start + IN_CHUNK])
                for sub, paper in session.execute(
                    select(AlertMailed.subscription_id, AlertMailed.paper_id)
                    .where(AlertMailed.subscription_id.in_(chunk))
                ):  # fmt: skip
                    found[sub].add(paper)
        return found

    def queue_digests(self, digests: Iterable[tuple[AlertSubscription, list[int], bytes]],
                      quiet: Sequence[int], build_id: int) -> int:  # fmt: skip
        """Each digest queued, its papers recorded as mailed, its subscription moved past
        ``build_id``; the ``quiet`` subscriptions (nothing new) moved past it too. One
        transaction. Returns how many were queued."""
        queued = 0
        with self.sessions() as session:
            for subscription, papers, message in digests:
                session.add(AlertOutbox(subscription_id=subscription.id, kind="digest",
                                        recipient=subscription.address, message=message,
                                        status=QUEUED, attempts=0))  # fmt: skip
                session.add_all(AlertMailed(subscription_id=subscription.id, paper_id=p)
                                for p in papers)  # fmt: skip
                session.execute(update(AlertSubscription)
                                .where(AlertSubscription.id == subscription.id)
                                .values(since_build=build_id))  # fmt: skip
                queued += 1
            for start in range(0, len(quiet), IN_CHUNK):
                session.execute(update(AlertSubscription)
                                .where(AlertSubscription.id.in_(quiet[start : start + IN_CHUNK]))
                                .values(since_build=build_id))  # fmt: skip
            session.commit()
        return queued

    def queue(self, kind: str, recipient: str, message: bytes,
              subscription_id: int | None = None) -> int:  # fmt: skip
        with self.sessions() as session:
            row = AlertOutbox(subscription_id=subscription_id, kind=kind, recipient=recipient,
                              message=message, status=QUEUED, attempts=0)  # fmt: skip
            session.add(row)
            session.commit()
            return row.id

    def due(self, now: datetime, limit: int, only: int | None = None) -> list[AlertOutbox]:
        """Queued mails whose next attempt is due, oldest first (``only``: that one)."""
        query = select(AlertOutbox).where(AlertOutbox.status == QUEUED,
                                          AlertOutbox.next_attempt_at <= now)  # fmt: skip
        if only is not None:
            query = query.where(AlertOutbox.id == only)
        with self.sessions() as session:
            rows = session.scalars(query.order_by(AlertOutbox.id).limit(limit)).all()
            session.expunge_all()
            return list(rows)

    def attempted(self, mail_id: int, *, status: str, error: str | None = None,
                  next_at: datetime | None = None) -> None:  # fmt: skip
        """One attempt's outcome: sent, failed for good, or queued again for ``next_at``."""
        values: dict = {"status": status, "attempts": AlertOutbox.attempts + 1,
                        "last_error": error}  # fmt: skip
        if status == SENT:
            values["sent_at"] = utcnow()
        if next_at is not None:
            values["next_attempt_at"] = next_at
        with self.sessions() as session:
            session.execute(update(AlertOutbox).where(AlertOutbox.id == mail_id).values(**values))
            session.commit()

    def outbox_counts(self) -> dict[str, int]:
        with self.sessions() as session:
            rows = session.execute(select(AlertOutbox.status, func.count())
                                   .group_by(AlertOutbox.status)).all()  # fmt: skip
        return {status: count for status, count in rows}

    def forget_sent(self, before: datetime) -> None:
        """Sent mails' bodies are not kept past ``before`` (their subscriptions' records
        of what was mailed are)."""
        with self.sessions() as session:
            session.execute(delete(AlertOutbox).where(AlertOutbox.status == SENT,
                                                      AlertOutbox.sent_at < before))  # fmt: skip
            session.commit()
