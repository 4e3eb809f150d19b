"""The OpenAPI 3 description of /api/v1, served at /api/v1/openapi.json."""

from __future__ import annotations

from typing import Any

from search.engine import (
    MAX_EXAMPLE_CHARS,
    MAX_K,
    MAX_OFFSET,
    MAX_QUERY_CHARS,
    MAX_RECOMMENDATION_IDS,
    MODES,
)
from search.export import FORMATS
from search.filters import MAX_FILTER_CHARS


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
    "description": "The paper's internal id (as in search results).",
    "schema": {"type": "integer", "minimum": 1},
}


def _query_param(name: str, description: str, **schema: Any) -> dict[str, Any]:
    return {"name": name, "in": "query", "description": description,
            "schema": {"type": "string", **schema}}  # fmt: skip


FILTER_PARAMS = [
    _query_param("year", "A year or range: 2019, 2019-2021, 2020- (from), -2015 (up to).",
                 pattern=r"^\s*(\d{4})?\s*-?\s*(\d{4})?\s*$"),
    _query_param("venue", "Venue names, comma-separated (any of them; case-insensitive).",
                 maxLength=MAX_FILTER_CHARS),
    _query_param("category", "Categories/fields, comma-separated: cs.LG exactly, or cs for "
                 "every cs.* category.", maxLength=MAX_FILTER_CHARS),
    _query_param("author", "Part of an author's name, comma-separated alternatives "
                 "(case-insensitive).", maxLength=MAX_FILTER_CHARS),
]  # fmt: skip
FORMAT_PARAM = _query_param(
    "format",
    "json (the default, this document's shape), or bibtex / csv: the list as a file download.",
    enum=list(FORMATS),
)
LIST_PARAMS = [K_PARAM, OFFSET_PARAM, *FILTER_PARAMS, FORMAT_PARAM]
LIST_RESPONSES = {
    "200": {
        "description": "Ranked papers, best first; with format=bibtex or csv, a file.",
        "content": {
            "application/json": {"schema": {"$ref": "#/components/schemas/SearchResult"}},
            "application/x-bibtex": {"schema": {"type": "string"}},
            "text/csv": {"schema": {"type": "string"}},
        },
    },
    "400": _error("A missing or empty query or body, or a non-integer k/offset."),
    "404": _error("A paper named in the request is not in the corpus or the index."),
    "422": _error("A parameter out of range or not understood (k, offset, mode, a filter, "
                  "format, too many ids, a query that is too long)."),
    "413": _error("The request body is larger than 64 KB."),
    "429": _error("Too many requests from this address (only when rate limiting is on); "
                  "Retry-After says when to try again."),
    "503": _error("No index has been built yet, the model or index is unavailable, or the "
                  "server is too busy to encode the query in time (Retry-After)."),
}  # fmt: skip
NULLABLE_STRING = {"type": ["string", "null"]}
# Fields that a search hit and a paper share.
PAPER_PROPERTIES = {
    "id": {"type": "integer"},
    "external_id": {"type": "string"},
    "title": {"type": "string"},
    "authors": {"type": "array", "items": {"type": "string"}},
    "year": {"type": ["integer", "null"]},
    "venue": NULLABLE_STRING,
    "url": NULLABLE_STRING,
    "abstract": NULLABLE_STRING,
}


def openapi_document() -> dict[str, Any]:
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "papersearch API",
            "version": "1",
            "description": "Semantic search over scientific papers (SPECTER2 embeddings, FAISS). "
            'Errors always have the shape {"error": {"code", "message"}}.',
        },
        "paths": {
            "/api/v1/search": {
                "get": {
                    "summary": "Papers for a free-text query: semantic, keyword or hybrid",
                    "parameters": [
                        {
                            "name": "q",
                            "in": "query",
                            "required": True,
                            "description": 'The query. "Quoted phrases" must appear in keyword '
                            "and hybrid results.",
                            "schema": {
                                "type": "string",
                                "minLength": 1,
                                "maxLength": MAX_QUERY_CHARS,
                                "pattern": "\\w",  # a word to search for
                            },
                        },
                        _query_param(
                            "mode",
                            "semantic (SPECTER2 embeddings), keyword (BM25 over title, "
                            "abstract and authors) or hybrid (both, fused).",
                            enum=list(MODES),
                            default="semantic",
                        ),
                        *LIST_PARAMS,
                    ],
                    "responses": LIST_RESPONSES,
                }
            },
            "/api/v1/search/by_example": {
                "post": {
                    "summary": "Papers nearest to an example paper: a title and abstract, or a "
                    "paper the corpus holds (by id, external id such as an arXiv id, or DOI)",
                    "parameters": LIST_PARAMS,
                    "requestBody": {
                        "required": True,
                        "content": {
                            "application/json": {"schema": {"$ref": "#/components/schemas/Example"}}
                        },
                    },
                    "responses": LIST_RESPONSES,
                }
            },
            "/api/v1/recommendations": {
                "post": {
                    "summary": "Papers like the positive ones and unlike the negative ones",
                    "description": "The query vector is mean(positive) + 0.5 * (mean(positive) "
                    "- mean(negative)) of the papers' proximity embeddings; the given papers "
                    "are left out of the results.",
                    "parameters": LIST_PARAMS,
                    "requestBody": {
                        "required": True,
                        "content": {
                            "application/json": {
                                "schema": {"$ref": "#/components/schemas/Recommendation"}
                            }
                        },
                    },
                    "responses": LIST_RESPONSES,
                }
            },
            "/api/v1/papers/{paper_id}": {
                "get": {
                    "summary": "One paper's metadata and abstract",
                    "parameters": [PAPER_ID],
                    "responses": {
                        "200": _json("The paper.", "Paper"),
                        "404": _error("No paper with this id."),
                        "503": _error("No index has been built yet."),
                    },
                }
            },
            "/api/v1/papers/{paper_id}/similar": {
                "get": {
                    "summary": "Papers nearest to a stored paper (its proximity embedding), "
                    "the paper itself left out",
                    "parameters": [PAPER_ID, *LIST_PARAMS],
                    "responses": LIST_RESPONSES,
                }
            },
            "/api/v1/health": {
                "get": {
                    "summary": "Service status, corpus size, the index build and models in use",
                    "responses": {
                        "200": _json("Ready to search.", "Health"),
                        "503": _json("Running, but no index is built yet.", "Health"),
                    },
                }
            },
            "/api/v1/openapi.json": {
                "get": {
                    "summary": "This document",
                    "responses": {"200": {"description": "OpenAPI 3 document."}},
                }
            },
        },
        "components": {
            "schemas": {
                "Error": {
                    "type": "object",
                    "required": ["error"],
                    "properties": {
                        "error": {
                            "type": "object",
                            "required": ["code", "message"],
                            "properties": {
                                "code": {"type": "string"},
                                "message": {"type": "string"},
                            },
                        }
                    },
                },
                "SearchHit": {
                    "type": "object",
                    "required": [
                        "id",
                        "external_id",
                        "title",
                        "authors",
                        "year",
                        "venue",
                        "doi",
                        "url",
                        "score",
                        "distance",
                        "abstract",
                        "snippet",
                        "highlights",
                        "title_highlights",
                    ],  # fmt: skip
                    "properties": {
                        **PAPER_PROPERTIES,
                        "doi": NULLABLE_STRING,
                        "score": {
                            "type": "number",
                            "description": "Higher is better. semantic, similar, example and "
                            "recommend: 1 / (1 + distance); keyword: BM25; hybrid: the fused "
                            "score in [0, 1].",
                        },
                        "distance": {
                            "type": ["number", "null"],
                            "description": "Euclidean distance between the vectors (null for "
                            "a paper found by keywords only).",
                        },
                        "snippet": {
                            "type": "string",
                            "description": "The part of the abstract with the most query words.",
                        },
                        "highlights": {
                            "$ref": "#/components/schemas/Spans",
                            "description": "Where query words are in snippet.",
                        },
                        "title_highlights": {
                            "$ref": "#/components/schemas/Spans",
                            "description": "Where query words are in title.",
                        },
                    },
                },
                "Spans": {
                    "type": "array",
                    "description": "[start, end) character offsets.",
                    "items": {
                        "type": "array",
                        "items": {"type": "integer", "minimum": 0},
                        "minItems": 2,
                        "maxItems": 2,
                    },
                },
                "SearchResult": {
                    "type": "object",
                    "required": ["query", "total", "took_ms", "results", "mode", "filters"],
                    "properties": {
                        "query": {"type": "string"},
                        "total": {
                            "type": "integer",
                            "description": "Papers ranked: matches of the filters (and of "
                            "keywords, in keyword mode).",
                        },
                        "took_ms": {"type": "number"},
                        "mode": {
                            "type": "string",
                            "enum": [*MODES, "example", "similar", "recommend"],
                        },
                        "filters": {
                            "type": "object",
                            "description": "The filters applied, as request parameters.",
                            "additionalProperties": {"type": "string"},
                        },
                        "results": {
                            "type": "array",
                            "items": {"$ref": "#/components/schemas/SearchHit"},
                        },
                    },
                },
                "Example": {
                    "type": "object",
                    "description": "Either paper, or title (and abstract).",
                    "properties": {
                        "paper": {
                            "type": ["integer", "string"],
                            "description": "Internal id, external id (e.g. an arXiv id) or DOI.",
                        },
                        "title": {"type": "string", "maxLength": MAX_EXAMPLE_CHARS},
                        "abstract": {"type": ["string", "null"], "maxLength": MAX_EXAMPLE_CHARS},
                    },
                },
                "Recommendation": {
                    "type": "object",
                    "required": ["positive_ids"],
                    "properties": {
                        "positive_ids": {
                            "$ref": "#/components/schemas/PaperRefs",
                            "minItems": 1,
                        },
                        "negative_ids": {"$ref": "#/components/schemas/PaperRefs"},
                    },
                },
                "PaperRefs": {
                    "type": "array",
                    "description": f"Internal ids (integers) or external ids / DOIs (strings); "
                    f"at most {MAX_RECOMMENDATION_IDS} positive and negative together.",
                    "maxItems": MAX_RECOMMENDATION_IDS,
                    "items": {"type": ["integer", "string"]},
                },
                "Paper": {
                    "type": "object",
                    "required": ["id", "external_id", "title", "authors", "abstract"],
                    "properties": {
                        **PAPER_PROPERTIES,
                        "doi": NULLABLE_STRING,
                        "categories": {"type": "array", "items": {"type": "string"}},
                        "updated_at": NULLABLE_STRING,
                    },
                },
                "Health": {
                    "type": "object",
                    "required": ["status", "papers", "build"],
                    "properties": {
                        "status": {"type": "string", "enum": ["ok", "no_index"]},
                        "papers": {"type": "integer"},
                        "build": {"type": ["object", "null"]},
                        "models": {"type": "object"},
                        "encoder": {
                            "type": "object",
                            "required": ["device", "precision", "query_backend"],
                            "properties": {
                                "device": {"type": "string"},
                                "precision": {"type": "string", "enum": ["fp32", "bf16", "fp16"]},
                                "query_backend": {"type": "string", "enum": ["torch", "onnx"]},
                            },
                        },
                    },
                },
            }
        },
    }
