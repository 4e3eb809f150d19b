"""The OpenAPI 3 description of /api/v1, served at /api/v1/openapi.json.

The paths and parameters are written here; the schemas of what the API
answers are generated from the result types in ``search.answers.results``, so the
document cannot drift from the answers.
"""

from __future__ import annotations

from typing import Any

from search.authors.identity import MAX_REF_CHARS as MAX_AUTHOR_REF_CHARS
from search.base.errors import ERROR_CODES
from search.engine.authors import AUTHOR_SORTS
from search.engine.bibtex_library import MAX_LIBRARY_BYTES, MAX_LIBRARY_ENTRIES
from search.engine.citations import LIST_SORTS
from search.engine.new_papers import MAX_FEED_DAYS
from search.engine.recommendations import NEGATIVE_WEIGHT
from search.query.limits import (
    DEFAULT_MODE,
    MAX_EXAMPLE_CHARS,
    MAX_QUERY_CHARS,
    MAX_RECOMMENDATION_IDS,
    MODES,
    SORT_POOL,
    SORT_POOL_KEYWORD,
    SORTS,
)
from web.answer_schemas import RESULT_TYPES, result_schema
from web.openapi_parts import (
    FORMAT_PARAM,
    K_PARAM,
    LIST_PARAMS,
    LIST_RESPONSES,
    OFFSET_PARAM,
    PAPER_ID,
    PDF_UPLOAD,
    _error,
    _json,
    _pdf_responses,
    _query_param,
)


def openapi_document(model_name: str = "SPECTER2") -> dict[str, Any]:
    """The document, naming the model that the index in use was built with."""
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "papersearch API",
            "version": "1",
            "description": f"Semantic search over scientific papers ({model_name} embeddings, "
            'FAISS). Errors always have the shape {"error": {"code", "message"}}.',
        },
        "paths": {
            **_search_paths(model_name),
            **_example_path(),
            **_recommendation_paths(),
            **_bibtex_path(),
            **_paper_paths(),
            **_author_paths(),
        },
        "components": {
            "schemas": {
                **_shared_schemas(),
                **_request_schemas(),
                **{name: result_schema(cls) for name, cls in RESULT_TYPES.items()},
            }
        },
    }


def _search_paths(model_name: str) -> dict[str, Any]:
    """A free-text query."""
    return {
        "/api/v1/search": {
            "get": {
                "summary": "Papers for a free-text query: semantic, keyword or hybrid",
                "parameters": [
                    {
                        "name": "q",
                        "in": "query",
                        "required": True,
                        "description": 'The query. "Quoted phrases" must appear in keyword '
                        "results and rank higher in hybrid results (unless fewer than k "
                        "papers match them: then the quotes are dropped and `notice` says "
                        "so).",
                        "schema": {
                            "type": "string",
                            "minLength": 1,
                            "maxLength": MAX_QUERY_CHARS,
                            "pattern": "\\w",  # a word to search for
                        },
                    },
                    _query_param(
                        "mode",
                        f"hybrid (the default: both rankings fused), semantic "
                        f"({model_name} embeddings) or keyword (BM25 over title, abstract "
                        "and authors).",
                        enum=list(MODES),
                        default=DEFAULT_MODE,
                    ),
                    _query_param(
                        "sort",
                        "relevance; date: the matches newest first; citations: most cited "
                        f"first, where the corpus has counts (keyword: every match, up to "
                        f"{SORT_POOL_KEYWORD:,}; semantic and hybrid: the {SORT_POOL:,} most "
                        "relevant). Ties keep their relevance order.",
                        enum=list(SORTS),
                        default="relevance",
                    ),
                    *LIST_PARAMS,
                ],
                "responses": LIST_RESPONSES,
            }
        },
    }


def _example_path() -> dict[str, Any]:
    """Papers like an example: a title and abstract, a stored paper, or a PDF."""
    return {
        "/api/v1/search/by_example": {
            "post": {
                "summary": "Papers nearest to an example paper: a title and abstract, a "
                "paper the corpus holds (by id, external id such as an arXiv id, or DOI), or "
                "an uploaded PDF (a draft: its title and abstract are read from it)",
                "parameters": LIST_PARAMS,
                "requestBody": {
                    "required": True,
                    "content": {
                        "application/json": {"schema": {"$ref": "#/components/schemas/Example"}},
                        "multipart/form-data": {"schema": PDF_UPLOAD},
                    },
                },
                "responses": {**LIST_RESPONSES, **_pdf_responses()},
            }
        },
    }


def _recommendation_paths() -> dict[str, Any]:
    """Papers like some papers and unlike others."""
    return {
        "/api/v1/recommendations": {
            "post": {
                "summary": "Papers like the positive ones and unlike the negative ones",
                "description": "The query vector is mean(positive) + "
                f"{NEGATIVE_WEIGHT:g} * (mean(positive) "
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
    }


def _bibtex_path() -> dict[str, Any]:
    """Papers like a reader's BibTeX library."""
    return {
        "/api/v1/recommendations/from_bibtex": {
            "post": {
                "summary": "Papers like a BibTeX library (a Zotero, JabRef or Mendeley "
                "export), the library's own papers left out",
                "description": "Entries are matched to the corpus by DOI, arXiv id or exact "
                "title; the others are embedded from their title and abstract. The result's "
                "`library` says how each was read and gives the Atom feed of the new papers "
                f"among the recommendations. At most {MAX_LIBRARY_ENTRIES:,} entries and "
                f"{MAX_LIBRARY_BYTES // (1024 * 1024)} MB.",
                "parameters": [
                    *LIST_PARAMS,
                    {
                        "name": "new_days",
                        "in": "query",
                        "description": "Only papers that entered the index in the last "
                        "this many days.",
                        "schema": {"type": "integer", "minimum": 1, "maximum": MAX_FEED_DAYS},
                    },
                ],
                "requestBody": {
                    "required": True,
                    "content": {
                        "application/x-bibtex": {"schema": {"type": "string"}},
                        "text/plain": {"schema": {"type": "string"}},
                        "application/json": {
                            "schema": {
                                "type": "object",
                                "required": ["bibtex"],
                                "properties": {"bibtex": {"type": "string"}},
                            }
                        },
                        "multipart/form-data": {
                            "schema": {
                                "type": "object",
                                "properties": {"file": {"type": "string", "format": "binary"}},
                            }
                        },
                    },
                },
                "responses": {
                    **LIST_RESPONSES,
                    "413": _error(
                        f"The library is larger than {MAX_LIBRARY_BYTES // (1024 * 1024)} MB."
                    ),
                    "422": _error(
                        "Not BibTeX, too many entries, no usable entry, or a "
                        "parameter out of range."
                    ),
                },  # fmt: skip
            }
        },
    }


def _paper_paths() -> dict[str, Any]:
    """One paper, its neighbours, the service's health and this document."""
    return {
        "/api/v1/papers/{paper_id}": {
            "get": {
                "summary": "One paper's metadata and abstract",
                "parameters": [PAPER_ID],
                "responses": {
                    "200": _json("The paper.", "Paper"),
                    "404": _error("No paper with this id, corpus id or DOI."),
                    "414": LIST_RESPONSES["414"],
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
        **_citation_paths(),
        "/api/v1/health": {
            "get": {
                "summary": "Service status, corpus size, the index build and models in use",
                "responses": {
                    "200": _json("Ready to search.", "Health"),
                    "503": _json(
                        "Running, but no index is built yet, or the database cannot be reached.",
                        "Health",
                    ),
                },
            }
        },
        "/api/v1/openapi.json": {
            "get": {
                "summary": "This document",
                "responses": {"200": {"description": "OpenAPI 3 document."}},
            }
        },
    }


def _citation_paths() -> dict[str, Any]:
    """A paper's references, the papers citing it, and the papers connected to it."""
    graph_missing = _error("No index has been built yet, or the build being served has no "
                           "citation graph.")  # fmt: skip
    paths = {
        f"/api/v1/papers/{{paper_id}}/{kind}": {
            "get": {
                "summary": summary,
                "parameters": [
                    PAPER_ID,
                    _query_param(
                        "sort",
                        "citations: most cited first (by the source's counts where the "
                        "corpus has them, else by citations within this corpus, and the "
                        "answer's notice says so); date: newest first. Ties by id.",
                        enum=list(LIST_SORTS),
                        default=LIST_SORTS[0],
                    ),
                    *LIST_PARAMS,
                ],
                "responses": {
                    **LIST_RESPONSES,
                    "503": graph_missing,
                },  # fmt: skip
            }
        }
        for kind, summary in (
            ("references", "The papers of this corpus that a paper cites"),
            ("citations", "The papers of this corpus that cite a paper"),
        )
    }
    paths["/api/v1/papers/{paper_id}/connected"] = {
        "get": {
            "summary": "Papers connected to a paper by its citations (references in common, "
            "cited together) and by similar text; each hit's connection says why",
            "parameters": [PAPER_ID, *LIST_PARAMS],
            "responses": {**LIST_RESPONSES, "503": graph_missing},
        }
    }
    return paths


def _author_paths() -> dict[str, Any]:
    """An author and their papers."""
    return {
        "/api/v1/authors/{author_id}": {
            "get": {
                "summary": "An author: their ids, co-authors, years and topics, and a page of "
                "their papers (another format= downloads the page of papers)",
                "parameters": [
                    {
                        "name": "author_id",
                        "in": "path",
                        "required": True,
                        "description": "An id the sources give (orcid:0000-0002-1825-0097, "
                        "openalex:A5023888391, s2:1741101, a bare ORCID) or a name "
                        "(name:ada lovelace, or the name as written).",
                        "schema": {
                            "type": "string",
                            "minLength": 1,
                            "maxLength": MAX_AUTHOR_REF_CHARS,
                        },  # fmt: skip
                    },
                    _query_param(
                        "sort",
                        "date: newest first; citations: most cited first. Ties by id.",
                        enum=list(AUTHOR_SORTS),
                        default=AUTHOR_SORTS[0],
                    ),  # fmt: skip
                    K_PARAM,
                    OFFSET_PARAM,
                    FORMAT_PARAM,
                ],
                "responses": {
                    "200": _json("The author and a page of their papers.", "AuthorProfile"),
                    "404": _error("The build being served holds no paper by this author."),
                    "422": _error(
                        "An id that is no id of its kind (an ORCID with a wrong "
                        "check digit), a name without a letter, a bad sort or page."
                    ),
                },  # fmt: skip
            }
        }
    }


def _shared_schemas() -> dict[str, Any]:
    """The error every failure answers with, and character spans."""
    return {
        "Error": {
            "type": "object",
            "required": ["error"],
            "properties": {
                "error": {
                    "type": "object",
                    "required": ["code", "message"],
                    "properties": {
                        "code": {"type": "string", "enum": list(ERROR_CODES)},
                        "message": {"type": "string"},
                    },
                }
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
    }


def _request_schemas() -> dict[str, Any]:
    """The JSON bodies the POST endpoints take."""
    return {
        "Example": {
            "type": "object",
            "description": "paper when it is given; otherwise title (and abstract).",
            "anyOf": [{"required": ["paper"]}, {"required": ["title"]}],
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
    }
