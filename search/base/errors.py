"""Every failure a user can act on is a :class:`PapersearchError`.

Each error carries a stable ``code`` and the HTTP ``status`` it is answered
with, so that each surface has one handler: the CLI prints the message as one
line, the web answers ``{"error": {"code", "message"}}`` (or an error page)
with the status. Anything else is a bug and gets a traceback (CLI) or a
logged 500 (web).

The read path's errors are defined here; the write path's (corpus format,
unsafe snapshot, the write lock) live in ``indexer`` and derive from the same
base.
"""

from __future__ import annotations


class PapersearchError(Exception):
    """A failure with a message meant for the user, a stable code and an HTTP status."""

    code: str = "error"
    status: int = 500
    retry_after: int | None = None  # seconds, sent as Retry-After (429, 503)

    def __init__(
        self,
        message: str,
        code: str | None = None,
        *,
        status: int | None = None,
        retry_after: int | None = None,
    ) -> None:
        super().__init__(message)
        if code is not None:
            self.code = code
        if status is not None:
            self.status = status
        if retry_after is not None:
            self.retry_after = retry_after

    @property
    def message(self) -> str:
        return str(self)


class SettingsError(PapersearchError, ValueError):
    """A setting has a value that cannot work; the message names the variable."""

    code = "invalid_setting"


class InvalidRequest(PapersearchError, ValueError):
    """A request parameter is unusable; ``code`` names the problem, the message explains it.

    Missing or empty input is a 400 (the request is incomplete); a value that is
    present but out of range or not understood is a 422.
    """

    code = "invalid_parameter"
    INCOMPLETE = frozenset({"empty_query", "missing_query", "invalid_body"})

    def __init__(self, message: str, code: str = "invalid_parameter", *, status=None) -> None:
        default = 400 if code in self.INCOMPLETE else 422
        super().__init__(message, code, status=status or default)


class FilterError(InvalidRequest):
    """A filter value cannot be understood; the message says what was expected."""

    def __init__(self, message: str) -> None:
        super().__init__(message, "invalid_parameter")


class KeywordSearchUnavailable(InvalidRequest):
    """Keyword search needs a keyword index the build being served does not have."""

    def __init__(self, message: str) -> None:
        super().__init__(message, "mode_unavailable")


class PaperNotFound(PapersearchError, LookupError):
    """No searchable paper has this id, external id or DOI."""

    code, status = "not_found", 404


class PaperNotInBuild(PaperNotFound):
    """The paper is stored, but the index build being served does not hold it (it was
    added after that build, or a rollback serves an older one): a later build will."""

    code = "not_in_build"

    def __init__(
        self, message: str, *, paper_id: int = 0, title: str = "", build: int | None = None
    ) -> None:
        super().__init__(message)
        self.paper_id, self.title, self.build = paper_id, title, build


class NoIndex(PapersearchError):
    """No completed index build exists yet."""

    code, status = "no_index", 503


class IndexCorrupt(PapersearchError):
    """A build's file is missing or is not the file that was written."""

    code, status = "index_unavailable", 503


class BuildNotUsable(PapersearchError, LookupError):
    """A build asked for (to roll back to) does not exist, is not complete, or lost its file."""

    code, status = "build_not_usable", 409


class ModelUnavailable(PapersearchError):
    """Model files could not be found locally nor downloaded."""

    code, status = "model_unavailable", 503


class ModelMismatch(PapersearchError):
    """The configured model is not the one the current index was built with."""

    code, status = "model_unavailable", 503


class OnnxUnavailable(PapersearchError):
    """ONNX Runtime is not installed, or the model cannot be exported faithfully."""

    code, status = "model_unavailable", 503


class EncoderBusy(PapersearchError):
    """A query waited longer than PAPERSEARCH_QUERY_TIMEOUT to be encoded."""

    code, status, retry_after = "busy", 503, 1


class SchemaOutOfDate(PapersearchError):
    """The database is missing migrations; the message says how to apply them."""

    code, status = "schema_out_of_date", 503


class EvalDataError(PapersearchError, ValueError):
    """A queries or qrels file cannot be read; the message names the file and line."""

    code, status = "invalid_eval_data", 422


class DeviceUnavailable(PapersearchError, RuntimeError):
    """The settings ask for a device (CUDA) or a precision this machine cannot run."""

    code = "device_unavailable"


class DatabaseUnavailable(PapersearchError):
    """The database cannot be reached, refused the credentials, or cancelled a query that
    ran too long; servers answer 503 and recover by themselves when it is back."""

    code, status, retry_after = "database_unavailable", 503, 1


class VectorsUnavailable(PapersearchError):
    """A vector file the manifest names is not on this host (a replica given only builds/)."""

    code, status = "vectors_unavailable", 503
