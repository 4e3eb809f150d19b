"""The pieces the OpenAPI document is made of: responses, parameters and the ranked
lists' shared parameters and responses (``web.openapi`` puts them on paths)."""

from __future__ import annotations

from typing import Any

from search.answers.export import FORMATS
from search.base.units import format_size
from search.pdf import PdfLimits
from search.query.filters import FILTER_PARAMETERS
from search.query.limits import (
    MAX_K,
    MAX_OFFSET,
)
from search.query.paper_refs import MAX_REF_CHARS
from web.bodies import BODY_BYTES
from web.request_buffer import HEAD_BYTES


def _error(description: str) -> dict[str, Any]:
    return {
        "description": description,
        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}},
    }


def _json(description: str, schema: str) -> dict[str, Any]:
    return {
        "description": description,
        "content": {"application/json": {"schema": {"$ref": f"#/components/schemas/{schema}"}}},
    }


K_PARAM = {
    "name": "k",
    "in": "query",
    "description": "Number of results.",
    "schema": {"type": "integer", "minimum": 1, "maximum": MAX_K, "default": 10},
}
OFFSET_PARAM = {
    "name": "offset",
    "in": "query",
    "description": "Skip this many results (paging).",
    "schema": {"type": "integer", "minimum": 0, "maximum": MAX_OFFSET, "default": 0},
}
PAPER_ID = {
    "name": "paper_id",
    "in": "path",
    "required": True,
    "description": "The paper: its internal id (as in search results), the corpus's own id "
    "(an arXiv id such as 2212.09525) or its DOI.",
    "schema": {
        "type": "string",
        "minLength": 1,
        "maxLength": MAX_REF_CHARS,
        "pattern": "^[^/]+(/[^/]+)?$",
    },  # fmt: skip
}


def _query_param(name: str, description: str, **schema: Any) -> dict[str, Any]:
    return {"name": name, "in": "query", "description": description,
            "schema": {"type": "string", **schema}}  # fmt: skip


FILTER_PARAMS = [_query_param(f.name, f.help, **dict(f.schema)) for f in FILTER_PARAMETERS]
FORMAT_PARAM = _query_param(
    "format",
    "json (the default, this document's shape), or "
    + " / ".join(name for name in FORMATS if name != "json")
    + ": the list as a file download.",
    enum=list(FORMATS),
)
PDF_UPLOAD = {
    "type": "object",
    "required": ["pdf"],
    "properties": {"pdf": {"type": "string", "format": "binary",
                           "description": "The PDF; the answer's example says what was read."}},
}  # fmt: skip


def _pdf_responses() -> dict[str, Any]:
    limits = PdfLimits()
    return {
        "413": _error(
            f"The PDF is larger than PAPERSEARCH_PDF_MAX_SIZE (by default "
            f"{format_size(limits.max_bytes)})."
        ),  # fmt: skip
        "422": _error(
            f"The PDF cannot be read: encrypted, truncated, more pages than "
            f"PAPERSEARCH_PDF_MAX_PAGES ({limits.max_pages:,}), slower than "
            f"PAPERSEARCH_PDF_TIMEOUT ({limits.seconds:g} s), no text; or a "
            "parameter out of range."
        ),  # fmt: skip
    }


LIST_PARAMS = [K_PARAM, OFFSET_PARAM, *FILTER_PARAMS, FORMAT_PARAM]
LIST_RESPONSES = {
    "200": {
        "description": "Ranked papers, best first; with another format=, a file.",
        "content": {
            "application/json": {"schema": {"$ref": "#/components/schemas/SearchResult"}},
            **{content_type.split(";")[0]: {"schema": {"type": "string"}}
               for name, (content_type, _) in FORMATS.items() if name != "json"},
        },  # fmt: skip
    },
    "400": _error("A missing or empty query or body."),
    "404": _error("A paper named in the request is not in the corpus or the index."),
    "422": _error("A parameter out of range or not understood (a non-integer or out-of-range "
                  "k or offset, mode, a filter, format, too many ids, a query that is too "
                  "long)."),
    "408": _error("The request was not received whole within PAPERSEARCH_REQUEST_SECONDS "
                  "(under gunicorn)."),
    "413": _error(f"The request body is larger than {BODY_BYTES // 1024} KB."),
    "414": _error(f"The request line and headers are longer than the "
                  f"{HEAD_BYTES // 1024} KB the server reads (under gunicorn)."),
    "429": _error("Too many requests from this address (only when rate limiting is on); "
                  "Retry-After says when to try again."),
    "503": _error("No index has been built yet, the model or index is unavailable, or the "
                  "server is too busy to encode the query in time (Retry-After)."),
}  # fmt: skip
