"""Email alert pages: the form that subscribes an address to a saved search, a library or
an author; the confirmation its mailed link leads to; the unsubscribe every mail links
to (one POST, RFC 8058). The engine's ``alerts`` does the work; these pages never say
whether an address is subscribed.
"""

from __future__ import annotations

import math
import time

from flask import Blueprint, current_app, render_template, request
from flask_limiter import Limiter
from limits import RateLimitItemPerDay, RateLimitItemPerHour

from search.alerts.addresses import address_key
from search.alerts.targets import KINDS, Target
from web.extension import provider
from web.params import choice_arg
from web.rate_limits import RateLimited, client_address

bp = Blueprint("alerts", __name__)

CLIENTS, ADDRESSES = "alert-clients", "alert-addresses"  # the limits' namespaces


@bp.get("/alerts")
def alert_form():
    """The form for one target (``kind`` and its parameters, as its page has them)."""
    engine = provider().get()
    if not engine.alerts.enabled:
        return render_template("alerts.html", state="off")
    kind = choice_arg(request.args, "kind", KINDS, "search")
    target = Target.checked(kind, request.args.to_dict(), engine)
    return render_template("alerts.html", state="form", target=target)


@bp.post("/alerts")
def subscribe():
    """Mail a confirmation link; the answer is the same whatever the address's state."""
    spend(CLIENTS, client_address(), RateLimitItemPerHour, "alert_client_limit",
          "alert subscriptions from this address")  # fmt: skip
    engine = provider().get()
    kind = choice_arg(request.form, "kind", KINDS, "search")
    address, target = engine.alerts.check(request.form.get("address"), kind,
                                          request.form.to_dict(), engine)  # fmt: skip
    spend(ADDRESSES, address_key(address), RateLimitItemPerDay, "alert_address_limit",
          "confirmation mails to this email address")  # fmt: skip
    engine.alerts.subscribe(address, target)
    return render_template("alerts.html", state="asked", target=target)


@bp.route("/alerts/confirm", methods=["GET", "POST"])
def confirm():
    """GET: the link as mailed, checked, with a button (so that a mail scanner following
    links confirms nothing); POST: confirmed."""
    engine = provider().get()
    token = request.values.get("token", "")
    if request.method == "GET":
        engine.alerts.require_enabled()
        engine.alerts.tokens.read_confirm(token)
        return render_template("alerts.html", state="confirm", token=token)
    target = engine.alerts.confirm(token, engine.build.id)
    return render_template("alerts.html", state="confirmed", target=target)


@bp.route("/alerts/unsubscribe", methods=["GET", "POST"])
def unsubscribe():
    """GET: a button; POST (the button, or a mail client's one-click POST of RFC 8058 to
    the ``List-Unsubscribe`` link): unsubscribed."""
    engine = provider().get()
    token = request.args.get("token") or request.form.get("token", "")
    if request.method == "GET":
        engine.alerts.tokens.read_unsubscribe(token)
        return render_template("alerts.html", state="unsubscribe", token=token)
    engine.alerts.unsubscribe(token)
    return render_template("alerts.html", state="unsubscribed")


def spend(namespace: str, key: str, per, setting: str, what: str) -> None:
    """Count one request against ``setting`` (an hour's or a day's worth) for ``key``;
    past it, 429 with ``Retry-After``."""
    allowed = getattr(provider().settings, setting)
    limiter: Limiter = current_app.extensions["papersearch.limiter"]
    item = per(allowed)
    if limiter.limiter.hit(item, namespace, key):
        return
    reset = limiter.limiter.get_window_stats(item, namespace, key).reset_time
    wait = max(1, math.ceil(reset - time.time()))
    period = "day" if per is RateLimitItemPerDay else "hour"
    raise RateLimited(f"Too many {what} ({allowed} a {period}); try again in {wait} s.",
                      retry_after=wait)  # fmt: skip
