"""Delivering the outbox through the configured SMTP relay: one connection for a run of
mails, STARTTLS (or implicit TLS) and a login when the settings ask; a failed attempt
queues the mail again with back-off, and after the last one it is kept as failed. Every
outcome is counted (``papersearch_alert_mails_total``) and logged: nothing is lost
silently.
"""

from __future__ import annotations

import logging
import smtplib
import ssl
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone

from search.base.metrics import ALERT_MAILS
from search.base.settings import Settings
from search.store.alerts import FAILED, QUEUED, SENT, AlertRows

log = logging.getLogger(__name__)

BACKOFF_MINUTES = (1, 5, 30, 120, 720)  # after attempts 1, 2, ...; then failed for good
TIMEOUT = 30.0  # seconds an SMTP exchange may take
BATCH = 500  # mails read from the outbox at a time


@dataclass
class Delivered:
    """What one delivery run did."""

    sent: int = 0
    retried: int = 0
    failed: int = 0
    errors: list[str] = field(default_factory=list)


def relay(settings: Settings) -> smtplib.SMTP:
    """A connection to the relay, upgraded and logged in as the settings say."""
    context = ssl.create_default_context()
    if settings.smtp_security == "tls":
        connection: smtplib.SMTP = smtplib.SMTP_SSL(
            settings.smtp_host, settings.smtp_port, timeout=TIMEOUT, context=context
        )
    else:
        connection = smtplib.SMTP(settings.smtp_host, settings.smtp_port, timeout=TIMEOUT)
    try:
        if settings.smtp_security == "starttls":
            connection.starttls(context=context)  # raises when the relay cannot
        if settings.smtp_user:
            connection.login(settings.smtp_user, settings.smtp_password)
    except BaseException:
        connection.close()
        raise
    return connection


def deliver(settings: Settings, rows: AlertRows, *, only: int | None = None,
            now: datetime | None = None) -> Delivered:  # fmt: skip
    """Send the mails that are due (``only``: that one), until none is or the relay
    cannot be reached (then each due mail is queued again for later)."""
    done = Delivered()
    now = now or datetime.now(timezone.utc)
    connection = None
    try:
        while batch := rows.due(now, BATCH, only):
            for mail in batch:
                try:
                    connection = connection or relay(settings)
                    connection.sendmail(sender_address(settings), [mail.recipient], mail.message)
                except (OSError, smtplib.SMTPException) as exc:
                    _failed(rows, mail, exc, now, done)
                    if not isinstance(exc, smtplib.SMTPRecipientsRefused | smtplib.SMTPDataError):
                        connection = _close(connection)  # the relay itself: next mail retries it
                    continue
                rows.attempted(mail.id, status=SENT)
                ALERT_MAILS.labels(mail.kind, "sent").inc()
                done.sent += 1
            if only is not None:
                break
    finally:
        _close(connection)
    return done


def _failed(rows: AlertRows, mail, exc: BaseException, now: datetime, done: Delivered) -> None:
    """One failed attempt: queued again after its back-off, or failed after the last."""
    error = f"{type(exc).__name__}: {exc}"[:500]
    attempt = mail.attempts + 1
    done.errors.append(error)
    if attempt > len(BACKOFF_MINUTES):
        rows.attempted(mail.id, status=FAILED, error=error)
        ALERT_MAILS.labels(mail.kind, "failed").inc()
        log.error("alert mail %s to the relay failed for good after %d attempts: %s",
                  mail.id, attempt, error)  # fmt: skip
        done.failed += 1
        return
    later = now + timedelta(minutes=BACKOFF_MINUTES[attempt - 1])
    rows.attempted(mail.id, status=QUEUED, error=error, next_at=later)
    ALERT_MAILS.labels(mail.kind, "retry").inc()
    log.warning("alert mail %s not sent (attempt %d), retried after %s: %s",
                mail.id, attempt, later.isoformat(), error)  # fmt: skip
    done.retried += 1


def _close(connection: smtplib.SMTP | None) -> None:
    if connection is not None:
        try:
            connection.quit()
        except (OSError, smtplib.SMTPException):
            connection.close()
    return None


def sender_address(settings: Settings) -> str:
    """The From address: the setting, else papersearch@ the public URL's host."""
    if settings.mail_from:
        return settings.mail_from
    host = settings.public_url.split("://", 1)[-1].split("/", 1)[0].split(":", 1)[0]
    return f"papersearch@{host or 'localhost'}"
