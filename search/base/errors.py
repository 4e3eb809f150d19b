"""Every failure a user can act on is a :class:`PapersearchError`.

Each error carries a stable ``code`` and the HTTP ``status`` it is answered
with, so that each surface has one handler: the CLI prints the message as one
line, the web answers ``{"error": {"code", "message"}}`` (or an error page)
with the status. Anything else is a bug and gets a traceback (CLI) or a
logged 500 (web).

Every code is registered once, below, with its status and what it means: raise sites
name a registered code, and the OpenAPI document's ``Error.code`` and the error table
in docs/web.md are generated from the registry (``tests/test_layout.py`` checks the
raise sites, ``tests/test_docs.py`` the table). The read path's error classes are
defined here; the write path's (corpus format, unsafe snapshot, the write lock) live
in ``indexer`` and derive from the same base.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class ErrorCode:
    code: str
    status: int
    meaning: str


# Missing or empty input is a 400 (the request is incomplete); a value that is present
# but out of range or not understood is a 422.
ERROR_CODES = {error.code: error for error in (
    ErrorCode("missing_query", 400, "The request has no `q` parameter."),
    ErrorCode("empty_query", 400, "The query (or the example's title) has no words to search "
                                  "for; a keyword query of stopwords alone has none either."),
    ErrorCode("invalid_body", 400, "The body is not a JSON object, or not sent as "
                                   "application/json; the message says which."),
    ErrorCode("missing_library", 400, "No BibTeX library was sent."),
    ErrorCode("bad_request", 400, "The request could not be read."),
    ErrorCode("invalid_address", 400, "The email address is not one alerts can be sent to "
                                      "(its form, its length, a line break)."),
    ErrorCode("invalid_token", 400, "An alert link is forged, damaged or expired (a "
                                    "confirmation link lasts 3 days)."),
    ErrorCode("forbidden", 403, "Only the addresses in `PAPERSEARCH_METRICS_ALLOW` read the "
                                "metrics, and not through a proxy."),
    ErrorCode("not_found", 404, "No such paper (by id, external id or DOI), author, library "
                                "or endpoint."),
    ErrorCode("alerts_off", 404, "Email alerts are off on this server (no "
                                 "`PAPERSEARCH_SMTP_HOST` or `PAPERSEARCH_PUBLIC_URL`)."),
    ErrorCode("not_in_build", 404, "The paper is stored, but the build being served does not "
                                   "hold it yet (a later build will)."),
    ErrorCode("method_not_allowed", 405, "The endpoint does not take this HTTP method (its "
                                         "`Allow` header lists those it takes)."),
    ErrorCode("request_timeout", 408, "The request was not received whole within "
                                      "`PAPERSEARCH_REQUEST_SECONDS`."),
    ErrorCode("build_not_usable", 409, "The build asked for does not exist, is not complete, "
                                       "or lost its files."),
    ErrorCode("request_entity_too_large", 413, "The request body is larger than the limit."),
    ErrorCode("library_too_large", 413, "The BibTeX library is larger than its limit, or took "
                                        "longer than `PAPERSEARCH_LIBRARY_SECONDS` to read."),
    ErrorCode("uri_too_long", 414, "The request line and headers are longer than the server "
                                   "reads."),
    ErrorCode("pdf_too_large", 413, "The uploaded PDF is larger than `PAPERSEARCH_PDF_MAX_SIZE`."),
    ErrorCode("invalid_parameter", 422, "A parameter is not understood: a non-integer k or "
                                        "offset, an unknown mode, sort, format or filter "
                                        "value."),
    ErrorCode("out_of_range", 422, "k, offset or days is outside its range."),
    ErrorCode("query_too_long", 422, "The query or example is longer than its limit."),
    ErrorCode("mode_unavailable", 422, "The build being served cannot rank this way (it has no "
                                       "keyword index)."),
    ErrorCode("missing_ids", 422, "A recommendation names no positive paper."),
    ErrorCode("too_many_ids", 422, "A recommendation names too many papers."),
    ErrorCode("too_many_entries", 422, "The BibTeX library has too many entries."),
    ErrorCode("not_bibtex", 422, "The upload is not BibTeX."),
    ErrorCode("empty_library", 422, "No entry of the BibTeX library could be used."),
    ErrorCode("unreadable_pdf", 422, "The uploaded PDF cannot be read (the message says why: "
                                     "encrypted, truncated, too many pages, too slow, no "
                                     "text)."),
    ErrorCode("invalid_eval_data", 422, "A queries or qrels file cannot be read."),
    ErrorCode("rate_limited", 429, "Too many requests, libraries kept or alert "
                                   "subscriptions from this client, or for this email "
                                   "address (Retry-After)."),
    ErrorCode("headers_too_large", 431, "A request header is longer than the server reads."),
    ErrorCode("internal_error", 500, "A bug: the server logged it."),
    ErrorCode("invalid_setting", 500, "A setting has a value that cannot work."),
    ErrorCode("device_unavailable", 500, "The settings ask for a device or precision this "
                                         "machine cannot run."),
    ErrorCode("corpus_format", 500, "A corpus file's format cannot be read."),
    ErrorCode("corpus_not_found", 500, "A corpus file does not exist."),
    ErrorCode("already_running", 500, "Another index run holds the data directory's lock."),
    ErrorCode("unsafe_snapshot", 500, "A snapshot would withdraw too many papers, or is "
                                      "truncated."),
    ErrorCode("nothing_to_index", 500, "The corpus gave no usable paper."),
    ErrorCode("executor_failed", 500, "The Ray cluster failed or cannot be reached."),
    ErrorCode("no_index", 503, "No index has been built yet."),
    ErrorCode("index_unavailable", 503, "The build's files are missing or fail their checksum."),
    ErrorCode("shard_unavailable", 503, "A shard of the build has no live replica to answer "
                                        "(`PAPERSEARCH_SHARD_SERVICE=ray`); the message names "
                                        "it. No answer is given from the other shards alone."),
    ErrorCode("model_unavailable", 503, "The model cannot be loaded, or is not the one the "
                                        "index was built with."),
    ErrorCode("busy", 503, "The server is at capacity: a query waited too long to be "
                           "encoded, every PDF reader is busy, or too many requests are "
                           "being received (Retry-After)."),
    ErrorCode("schema_out_of_date", 503, "The database needs `papersearch db upgrade`."),
    ErrorCode("database_unavailable", 503, "The database cannot be reached (Retry-After)."),
    ErrorCode("no_host", 503, "No host behind the load balancer can answer now: HAProxy's "
              "answer in `deploy/haproxy.cfg` (Retry-After)."),
    ErrorCode("vectors_unavailable", 503, "A vector file is not on this host."),
    ErrorCode("graph_unavailable", 503, "The build being served was made before citation "
                                        "graphs: a re-index writes one."),
)}  # fmt: skip


def markdown_table() -> str:
    """docs/web.md's table of error codes, generated from the registry."""
    rows = ["| code | status | meaning |", "|---|---|---|"]
    rows += [f"| `{e.code}` | {e.status} | {e.meaning} |" for e in ERROR_CODES.values()]
    return "\n".join(rows) + "\n"


class PapersearchError(Exception):
    """A failure with a message meant for the user, a stable code and an HTTP status."""

    code: str = "internal_error"
    retry_after: int | None = None  # seconds, sent as Retry-After (429, 503)

    def __init__(
        self,
        message: str,
        code: str | None = None,
        *,
        retry_after: int | None = None,
    ) -> None:
        super().__init__(message)
        if code is not None:
            self.code = code
        if retry_after is not None:
            self.retry_after = retry_after

    @property
    def status(self) -> int:
        """The HTTP status of the error's code (the registry's; 500 for a code it lacks)."""
        registered = ERROR_CODES.get(self.code)
        return registered.status if registered else 500

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

    def __init__(self, message: str, code: str = "invalid_parameter") -> None:
        super().__init__(message, code)


class FilterError(InvalidRequest):
    """A filter value cannot be understood; the message says what was expected."""

    def __init__(self, message: str) -> None:
        super().__init__(message, "invalid_parameter")


class KeywordSearchUnavailable(InvalidRequest):
    """Keyword search needs a keyword index the build being served does not have."""

    def __init__(self, message: str) -> None:
        super().__init__(message, "mode_unavailable")


class GraphUnavailable(PapersearchError):
    """Citation lists need a citation graph the build being served does not have."""

    code = "graph_unavailable"


class AlertsOff(PapersearchError, LookupError):
    """Email alerts need an SMTP relay and a public URL, and this server has not both."""

    code = "alerts_off"


class PaperNotFound(PapersearchError, LookupError):
    """No searchable paper has this id, external id or DOI."""

    code = "not_found"


class AuthorNotFound(PapersearchError, LookupError):
    """The build being served holds no paper by this author."""

    code = "not_found"


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

    code = "no_index"

    def __init__(
        self, message: str = "No index has been built yet: run `papersearch index CORPUS` first."
    ) -> None:
        super().__init__(message)


class IndexCorrupt(PapersearchError):
    """A build's file is missing or is not the file that was written."""

    code = "index_unavailable"


class BuildNotUsable(PapersearchError, LookupError):
    """A build asked for (to roll back to) does not exist, is not complete, or lost its file."""

    code = "build_not_usable"


class ModelUnavailable(PapersearchError):
    """Model files could not be found locally nor downloaded."""

    code = "model_unavailable"


class ModelMismatch(PapersearchError):
    """The configured model is not the one the current index was built with."""

    code = "model_unavailable"


class OnnxUnavailable(PapersearchError):
    """ONNX Runtime is not installed, or the model cannot be exported faithfully."""

    code = "model_unavailable"


class EncoderBusy(PapersearchError):
    """A query waited longer than PAPERSEARCH_QUERY_TIMEOUT to be encoded."""

    code, retry_after = "busy", 1


class SchemaOutOfDate(PapersearchError):
    """The database is missing migrations; the message says how to apply them."""

    code = "schema_out_of_date"


class EvalDataError(PapersearchError, ValueError):
    """A queries or qrels file cannot be read; the message names the file and line."""

    code = "invalid_eval_data"


class DeviceUnavailable(PapersearchError, RuntimeError):
    """The settings ask for a device (CUDA) or a precision this machine cannot run."""

    code = "device_unavailable"


class DatabaseUnavailable(PapersearchError):
    """The database cannot be reached, refused the credentials, or cancelled a query that
    ran too long; servers answer 503 and recover by themselves when it is back."""

    code, retry_after = "database_unavailable", 1


class ShardUnavailable(PapersearchError):
    """A shard served on Ray had no replica that answered within PAPERSEARCH_SHARD_TIMEOUT:
    the whole answer fails rather than rank the other shards' papers alone."""

    code, retry_after = "shard_unavailable", 1

    def __init__(self, shard: int, shards: int, build: int, why: str) -> None:
        super().__init__(f"Shard {shard + 1} of {shards} of build {build} did not answer "
                         f"({why}); no ranking is given without it.")  # fmt: skip
        self.shard = shard


class VectorsUnavailable(PapersearchError):
    """A vector file the manifest names is not on this host (a replica given only builds/)."""

    code = "vectors_unavailable"


if __name__ == "__main__":
    import sys

    sys.stdout.write(markdown_table())
