"""How large a request body may be, by what it carries, and the 413 that names the bound.

Set on each request before its body is read (Werkzeug's ``max_content_length``), so that
a body over its bound is refused from its ``Content-Length``, or once a chunked one
passes it, unread past that; ``web.buffered_worker`` reads no more than the largest.
"""

from __future__ import annotations

from search.base.errors import InvalidRequest
from search.base.settings import Settings
from search.engine.bibtex_library import MAX_LIBRARY_BYTES

BODY_BYTES = 64 * 1024  # JSON and forms: an example paper (20,000 characters) fits
FORM_BYTES = 64 * 1024  # the form or JSON around an uploaded file
LIBRARY_BODY_BYTES = MAX_LIBRARY_BYTES + FORM_BYTES


def pdf_body_bytes(settings: Settings) -> int:
    """A PDF upload: the PDF and its form."""
    return settings.pdf_max_size + FORM_BYTES


def largest_body(settings: Settings) -> int:
    """The largest body any request may carry."""
    return max(BODY_BYTES, LIBRARY_BODY_BYTES, pdf_body_bytes(settings))


def read_body() -> bytes:
    """The request's body (kept for the request's parsers), 413 past its bound: Werkzeug
    cuts a chunked body at the bound without a word, so one that fills it is refused."""
    from flask import request

    data = request.get_data(cache=True)
    bound = request.max_content_length
    if request.content_length is None and bound is not None and len(data) >= bound:
        raise body_too_large(bound)
    return data


def body_too_large(bound: int) -> InvalidRequest:
    """413 ``body_too_large``, naming the bound (in KB or MB)."""
    shown = f"{bound // 1024} KB" if bound < 2**20 else f"{bound / 2**20:.1f} MB"
    return InvalidRequest(
        f"The request body is larger than the {shown} this endpoint takes.",
        "request_entity_too_large",
    )
