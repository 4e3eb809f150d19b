"""One handler for every error: ``{"error": {"code", "message"}}`` for the API, a page for people.

Domain errors (:class:`~search.base.errors.PapersearchError`) carry their code and
status; werkzeug's HTTP errors (404, 405, 413) keep theirs; anything else is a
bug, logged, and answered with a bare 500. A page that shows a form (search,
search by example) calls :func:`show_errors_on` first, so that its errors come
back on the same page with the form still filled in.
"""

from __future__ import annotations

from typing import Any

from flask import Flask, g, jsonify, make_response, render_template, request
from werkzeug.exceptions import HTTPException, MethodNotAllowed, RequestEntityTooLarge

from search.base.errors import PapersearchError
from web.bodies import BODY_BYTES, body_too_large


class HttpError(PapersearchError):
    """What Flask itself refused (an unknown endpoint, a wrong method, a body over the
    limit): its name as the code (``not_found``, ``method_not_allowed``, ...), its status."""

    def __init__(self, exc: HTTPException) -> None:
        super().__init__(
            exc.description or exc.name, (exc.name or "error").lower().replace(" ", "_")
        )
        self._status = exc.code or 500

    @property
    def status(self) -> int:
        return self._status


def as_error(exc: Exception) -> PapersearchError:
    """What to answer for ``exc``: its own code and status, or a 500 that says nothing."""
    if isinstance(exc, PapersearchError):
        return exc
    if isinstance(exc, RequestEntityTooLarge):  # the bound this request was read with
        return body_too_large(request.max_content_length or BODY_BYTES)
    if isinstance(exc, HTTPException):
        return HttpError(exc)
    return PapersearchError("The server failed to answer this request.", "internal_error")


def show_errors_on(template: str, **context: Any) -> None:
    """If this request fails from here on, render ``template`` with ``context`` and the
    error's message (``context["messages"]`` may give friendlier ones per code)."""
    g.error_page = (template, context)


def render_error(exc: Exception):
    if isinstance(exc, HTTPException) and exc.response is not None:
        return exc.response  # made by this function already (a rate limit's refusal)
    error = as_error(exc)
    g.error_code = error.code  # for the request's log line and metrics (web.request_log)
    if error.status >= 500 and not isinstance(exc, (PapersearchError, HTTPException)):
        from flask import current_app

        current_app.logger.exception("unhandled error on %s", request.path)
    if request.path.startswith("/api/"):
        response = jsonify({"error": {"code": error.code, "message": error.message}})
    elif "error_page" in g:
        template, context = g.error_page
        message = context.get("messages", {}).get(error.code, error.message)
        response = make_response(render_template(template, **context, message=message))
    else:
        response = make_response(render_template("error.html", error=error))
    response.status_code = error.status
    if isinstance(exc, MethodNotAllowed) and exc.valid_methods:
        response.headers["Allow"] = ", ".join(sorted(exc.valid_methods))
    if error.retry_after is not None:
        response.headers["Retry-After"] = str(error.retry_after)
    return response


def register(app: Flask) -> None:
    app.register_error_handler(Exception, render_error)
