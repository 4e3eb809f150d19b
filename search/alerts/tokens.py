"""The signed links in alert mails: a confirmation link that expires, and an unsubscribe
link that does not (a digest kept for a year must still unsubscribe).

Signed with ``PAPERSEARCH_SECRET_KEY``, or without it a key kept in the store, so that
every server of a shared store (and the re-index that mails the digests) reads the
links the others write. A confirmation link carries its subscription's nonce: asking
again makes the earlier links stop working.
"""

from __future__ import annotations

from dataclasses import dataclass

from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer

from search.base.errors import InvalidRequest

CONFIRM_SECONDS = 3 * 24 * 3600
MAX_TOKEN = 400  # longer than any link we write


@dataclass(frozen=True)
class Tokens:
    key: str

    def _serializer(self, purpose: str) -> URLSafeTimedSerializer:
        return URLSafeTimedSerializer(self.key, salt=f"papersearch-alerts-{purpose}")

    def confirm(self, subscription_id: int, nonce: str) -> str:
        return self._serializer("confirm").dumps([subscription_id, nonce])

    def unsubscribe(self, subscription_id: int) -> str:
        return self._serializer("unsubscribe").dumps(subscription_id)

    def read_confirm(self, token: str) -> tuple[int, str]:
        found = self._read("confirm", token, CONFIRM_SECONDS)
        if not (isinstance(found, list) and len(found) == 2 and isinstance(found[0], int)):
            raise _invalid()
        return found[0], str(found[1])

    def read_unsubscribe(self, token: str) -> int:
        found = self._read("unsubscribe", token, None)
        if not isinstance(found, int) or isinstance(found, bool):
            raise _invalid()
        return found

    def _read(self, purpose: str, token: object, max_age: int | None):
        if not isinstance(token, str) or not token or len(token) > MAX_TOKEN:
            raise _invalid()
        try:
            return self._serializer(purpose).loads(token, max_age=max_age)
        except SignatureExpired:
            raise InvalidRequest("This confirmation link has expired: subscribe again for "
                                 "a new one.", "invalid_token") from None  # fmt: skip
        except BadSignature:
            raise _invalid() from None


def _invalid() -> InvalidRequest:
    return InvalidRequest("This alert link is not one papersearch wrote (damaged, or "
                          "forged).", "invalid_token")  # fmt: skip
