"""Email addresses as alerts accept them: one mailbox, ``local@domain``, with nothing a
mail header could be made of but the address itself.

Strict on purpose: an address that could carry a line break, a second recipient, a
display name or a comment could turn a confirmation mail into mail to someone else.
"""

from __future__ import annotations

import hashlib
import re

from search.base.errors import InvalidRequest

MAX_ADDRESS = 254  # RFC 5321's limit on a path
_LOCAL = r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(?:\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*"
_DOMAIN = r"(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)+[A-Za-z]{2,63}"
_ADDRESS = re.compile(rf"{_LOCAL}@{_DOMAIN}")


def checked_address(raw: object) -> str:
    """The address, or InvalidRequest ``invalid_address`` (400) saying why not."""
    if not isinstance(raw, str) or not raw.strip():
        raise InvalidRequest("An email address is needed.", "invalid_address")
    if any(ch in raw for ch in "\r\n\x00"):
        raise InvalidRequest("An email address holds no line break.", "invalid_address")
    address = raw.strip()
    if len(address) > MAX_ADDRESS:
        raise InvalidRequest(f"An email address is at most {MAX_ADDRESS} characters.",
                             "invalid_address")  # fmt: skip
    if not _ADDRESS.fullmatch(address) or len(address.partition("@")[0]) > 64:
        raise InvalidRequest(f"{address[:80]!r} is not an email address alerts can be sent "
                             "to (one address, as name@example.org).",
                             "invalid_address")  # fmt: skip
    return address


def address_key(address: str) -> str:
    """What one mailbox is known by: its address with the domain in lower case, hashed
    (rate limits and subscriptions count it, never the address in the clear)."""
    local, _, domain = address.rpartition("@")
    return hashlib.sha256(f"{local}@{domain.lower()}".encode()).hexdigest()
