"""One error shape for the API, ``{"error": {"code", "message"}}``, and error pages for people."""

from __future__ import annotations

from flask import Flask, jsonify, make_response, render_template, request
from werkzeug.exceptions import HTTPException

from search.encoder import EncoderBusy
from search.engine import InvalidRequest, ModelMismatch, NoIndex, PaperNotFound
from search.index import IndexCorrupt
from search.model_source import ModelUnavailable


class ApiError(Exception):
    def __init__(self, status: int, code: str, message: str, retry_after: int | None = None):
        super().__init__(message)
        self.status, self.code, self.message = status, code, message
        self.retry_after = retry_after  # seconds, sent as Retry-After (429, 503)


def as_api_error(exc: Exception) -> ApiError:
    """Map what the engine raises to an HTTP status and a stable code."""
    if isinstance(exc, ApiError):
        return exc
    if isinstance(exc, InvalidRequest):
        return ApiError(400 if exc.code == "empty_query" else 422, exc.code, str(exc))
    if isinstance(exc, PaperNotFound):
        return ApiError(404, "not_found", str(exc))
    if isinstance(exc, NoIndex):
        return ApiError(503, "no_index", str(exc))
    if isinstance(exc, IndexCorrupt):
        return ApiError(503, "index_unavailable", str(exc))
    if isinstance(exc, EncoderBusy):
        return ApiError(503, "busy", str(exc), retry_after=1)
    if isinstance(exc, (ModelMismatch, ModelUnavailable)):
        return ApiError(503, "model_unavailable", str(exc))
    if isinstance(exc, HTTPException):
        code = (exc.name or "error").lower().replace(" ", "_")
        return ApiError(exc.code or 500, code, exc.description or exc.name)
    return ApiError(500, "internal_error", "The server failed to answer this request.")


def wants_json() -> bool:
    return request.path.startswith("/api/")


def render_error(exc: Exception):
    error = as_api_error(exc)
    if wants_json():
        response = jsonify({"error": {"code": error.code, "message": error.message}})
    else:
        response = make_response(render_template("error.html", error=error))
    response.status_code = error.status
    if error.retry_after is not None:
        response.headers["Retry-After"] = str(error.retry_after)
    return response


def register(app: Flask) -> None:
    for kind in (
        ApiError,
        InvalidRequest,
        PaperNotFound,
        NoIndex,
        IndexCorrupt,
        EncoderBusy,
        ModelMismatch,
        ModelUnavailable,
    ):
        app.register_error_handler(kind, render_error)
    app.register_error_handler(HTTPException, render_error)

    @app.errorhandler(Exception)
    def unexpected(exc: Exception):
        app.logger.exception("unhandled error on %s", request.path)
        return render_error(exc)
