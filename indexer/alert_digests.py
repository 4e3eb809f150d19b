"""The digests a published build sends (``search.alerts.digests``), from the write path:
after a re-index publishes, and from ``papersearch alerts`` for cron."""

from __future__ import annotations

import logging

import click

from search.alerts import Alerts
from search.alerts.delivery import deliver
from search.alerts.digests import send_digests
from search.base.settings import Settings
from search.cli.options import JSON_OPTION, settings_options
from search.store import Store

log = logging.getLogger(__name__)


def mail_digests(settings: Settings, encoder=None) -> dict[str, int] | None:
    """The digests of the build now current (None when alerts are off). A failure is
    logged and leaves every subscription where it was: the next run mails its papers."""
    from search.engine.engine import SearchEngine

    alerts = Alerts(settings, Store.open(settings))
    if not alerts.enabled:
        return None
    try:
        return send_digests(alerts, SearchEngine.open(settings, encoder=encoder)).as_dict()
    except Exception:  # noqa: BLE001 -- the build is published; mail must not undo that
        log.exception("alert digests were not sent; the next run sends their papers")
        return {"digests": 0, "mails_sent": 0, "mails_retried": 0, "mails_failed": 0,
                "errors": 1}  # fmt: skip


@click.group("alerts")
def alerts_group() -> None:
    """Email alerts: the digests of the current build, and the mails still queued."""


@alerts_group.command("send")
@JSON_OPTION
@settings_options
def send_command(as_json: bool, settings: Settings) -> None:
    """Send the queued alert mails that are due (retries after a failure): for cron."""
    import json

    alerts = Alerts(settings, Store.open(settings, migrate=True))
    alerts.require_enabled()
    done = deliver(settings, alerts.rows)
    outcome = {"sent": done.sent, "retried": done.retried, "failed": done.failed}
    click.echo(json.dumps(outcome) if as_json else
               f"{done.sent} sent, {done.retried} queued again, {done.failed} failed")  # fmt: skip


@alerts_group.command("digest")
@JSON_OPTION
@settings_options
def digest_command(as_json: bool, settings: Settings) -> None:
    """Mail the digests of the current build that are not mailed yet (a re-index does
    this after it publishes)."""
    import json

    Alerts(settings, Store.open(settings, migrate=True)).require_enabled()
    outcome = mail_digests(settings) or {}
    click.echo(json.dumps(outcome) if as_json else
               ", ".join(f"{k.replace('_', ' ')} {v}" for k, v in outcome.items()))  # fmt: skip
