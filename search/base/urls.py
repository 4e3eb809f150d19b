"""Links taken from a corpus: only http(s) ones are kept and shown."""

from __future__ import annotations


def http_url(value: str | None) -> str | None:
    """The URL if it is http(s), else None: corpus links are never javascript: or data:."""
    if not value:
        return None
    scheme = value.split(":", 1)[0].strip().lower() if ":" in value else ""
    return value if scheme in ("http", "https") else None
