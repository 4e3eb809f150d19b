"""The OpenAPI 3 description of /api/v1, served at /api/v1/openapi.json."""

from __future__ import annotations

from typing import Any

from search.engine import MAX_K, MAX_OFFSET, MAX_QUERY_CHARS


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
PAPER_ID = {
    "name": "paper_id",
    "in": "path",
    "required": True,
    "description": "The paper's internal id (as in search results).",
    "schema": {"type": "integer", "minimum": 1},
}
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
                    "summary": "Papers nearest to a free-text query",
                    "parameters": [
                        {
                            "name": "q",
                            "in": "query",
                            "required": True,
                            "description": "The query, encoded with the ad-hoc query adapter.",
                            "schema": {"type": "string", "maxLength": MAX_QUERY_CHARS},
                        },
                        K_PARAM,
                        {
                            "name": "offset",
                            "in": "query",
                            "description": "Skip this many results (paging).",
                            "schema": {
                                "type": "integer",
                                "minimum": 0,
                                "maximum": MAX_OFFSET,
                                "default": 0,
                            },
                        },
                    ],
                    "responses": {
                        "200": _json("Ranked papers, nearest first.", "SearchResult"),
                        "400": _error("Missing or empty q, or a non-integer k/offset."),
                        "422": _error("k or offset out of range, or q too long."),
                        "503": _error("No index has been built yet."),
                    },
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
                    "summary": "Papers nearest to a stored paper (its proximity embedding)",
                    "parameters": [PAPER_ID, K_PARAM],
                    "responses": {
                        "200": _json("Nearest papers, the paper itself left out.", "SearchResult"),
                        "400": _error("A non-integer k."),
                        "404": _error("No paper with this id."),
                        "422": _error("k out of range."),
                        "503": _error("No index has been built yet."),
                    },
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
                        "url",
                        "score",
                        "distance",
                        "abstract",
                    ],  # fmt: skip
                    "properties": {
                        **PAPER_PROPERTIES,
                        "score": {
                            "type": "number",
                            "description": "1 / (1 + distance): higher is closer.",
                        },
                        "distance": {
                            "type": "number",
                            "description": "Euclidean distance between the vectors.",
                        },
                    },
                },
                "SearchResult": {
                    "type": "object",
                    "required": ["query", "total", "took_ms", "results"],
                    "properties": {
                        "query": {"type": "string"},
                        "total": {"type": "integer"},
                        "took_ms": {"type": "number"},
                        "results": {
                            "type": "array",
                            "items": {"$ref": "#/components/schemas/SearchHit"},
                        },
                    },
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
