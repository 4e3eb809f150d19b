"""The absolute URLs the server writes (a feed's links, a library's feed): from
``PAPERSEARCH_PUBLIC_URL`` when it is set, else from the request's Host when it is one of
``PAPERSEARCH_TRUSTED_HOSTS``, else relative to the server (a feed reader resolves them
against the feed's own address). Never from a Host header anyone could send: a link in a
feed or an answer naming ``evil.example.com`` is a phishing link served by this server.
"""

from __future__ import annotations

import re

from flask import request, url_for

from web.extension import provider

_HOST = re.compile(r"(?:\[([0-9A-Fa-f:.]+)\]|([A-Za-z0-9.-]+))(?::[0-9]{1,5})?")


def public_url(endpoint: str, **values) -> str:
    """``url_for(endpoint, **values)``, made absolute as far as can be trusted."""
    return _base() + url_for(endpoint, **values)


def this_url() -> str:
    """The address of the request being answered (an Atom feed's ``self``)."""
    query = request.query_string.decode("latin-1")
    return _base() + request.script_root + request.path + (f"?{query}" if query else "")


def _base() -> str:
    """The scheme and host of absolute URLs, or "" to keep them relative."""
    settings = provider().settings
    if settings.public_url:
        return settings.public_url.rstrip("/")
    host = request.headers.get("Host", "")
    if trusted_host(host, settings.trusted_hosts):
        return f"{request.scheme}://{host}"
    return ""


def trusted_host(host: str, trusted: tuple[str, ...]) -> bool:
    """``host`` (a Host header: a name or address, a port perhaps) is one of ``trusted``,
    or under one written as ``.example.org``."""
    found = _HOST.fullmatch(host.strip())
    if found is None:
        return False
    name = (found.group(1) or found.group(2)).lower()
    for allowed in (t.strip("[]").lower() for t in trusted):
        if name == allowed or (allowed.startswith(".") and name.endswith(allowed)):
            return True
    return False
