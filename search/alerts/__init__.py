"""Email alerts: an address follows a saved search, a library or an author, confirmed by
a signed link it is mailed (double opt-in), and gets one digest of what is new for it
after each published build (``digests``), through the configured SMTP relay
(``delivery``), with a one-click unsubscribe in every mail.

``Alerts`` is what the pages call (through the engine): subscribe, confirm, unsubscribe.
Its answers never say whether an address is subscribed: asking again for a confirmed
subscription mails nothing and reads the same.
"""

from __future__ import annotations

from functools import cached_property

from search.alerts.addresses import address_key, checked_address
from search.alerts.delivery import deliver, sender_address
from search.alerts.messages import confirmation
from search.alerts.targets import Target
from search.alerts.tokens import Tokens
from search.base.errors import AlertsOff, InvalidRequest
from search.base.settings import Settings
from search.store import Store
from search.store.alerts import CONFIRMED

KEY_NAME = "alert-links"


class Alerts:
    """Subscriptions of one store, with the settings' relay."""

    def __init__(self, settings: Settings, store: Store) -> None:
        self.settings = settings
        self.rows = store.alerts

    @property
    def enabled(self) -> bool:
        """Alerts need a relay to send through and a public URL for their links."""
        return bool(self.settings.smtp_host and self.settings.public_url)

    def require_enabled(self) -> None:
        if not self.enabled:
            raise AlertsOff("Email alerts are off on this server: it has no SMTP relay "
                            "(PAPERSEARCH_SMTP_HOST) or no public URL "
                            "(PAPERSEARCH_PUBLIC_URL).")  # fmt: skip

    @cached_property
    def tokens(self) -> Tokens:
        return Tokens(self.settings.secret_key or self.rows.key(KEY_NAME))

    def link(self, path: str, token: str) -> str:
        return f"{self.settings.public_url.rstrip('/')}{path}?token={token}"

    def check(self, address: object, kind: str, params: dict, engine) -> tuple[str, Target]:
        """The address and the target, checked (InvalidRequest and friends when not)."""
        self.require_enabled()
        return checked_address(address), Target.checked(kind, params, engine)

    def subscribe(self, address: str, target: Target) -> None:
        """Mail a confirmation link, unless the subscription is confirmed already (then
        nothing: the answer is the same either way). Sent now, or queued for a retry."""
        found = self.rows.request(address, address_key(address), target.kind,
                                  target.as_stored(), target.key)  # fmt: skip
        if found is None:
            return
        link = self.link("/alerts/confirm", self.tokens.confirm(found.id, found.nonce))
        message = confirmation(sender_address(self.settings), address, target.title, link)
        mail = self.rows.queue("confirm", address, message, found.id)
        deliver(self.settings, self.rows, only=mail)

    def confirm(self, token: str, build_id: int | None) -> Target:
        """Confirm the subscription a link names (following it twice is fine); papers that
        enter after ``build_id`` are new for it."""
        self.require_enabled()
        subscription_id, nonce = self.tokens.read_confirm(token)
        confirmed = self.rows.confirm(subscription_id, nonce, build_id)
        found = self.rows.get(subscription_id)
        if not confirmed and (found is None or found.nonce != nonce or found.status != CONFIRMED):
            raise InvalidRequest("This confirmation link was replaced by a newer one, or its "
                                 "alert was unsubscribed.", "invalid_token")  # fmt: skip
        return Target.stored(found.kind, found.target)

    def unsubscribe(self, token: str) -> None:
        """End the subscription a link names (again: nothing more happens)."""
        self.rows.unsubscribe(self.tokens.read_unsubscribe(token))
