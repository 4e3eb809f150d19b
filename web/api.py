"""The JSON API under /api/v1: the same engine calls as the HTML pages.

Every endpoint that returns a ranked list takes ``k``, ``offset``, the filters
(``year``, ``venue``, ``category``, ``author``) and ``format`` (``json``,
``bibtex`` or ``csv``: the last two download as files) in the query string.
"""

from __future__ import annotations

from flask import Blueprint, jsonify, request

from search.engine import MODES, SearchResult, paper_to_dict
from search.export import FORMATS
from web import provider
from web.downloads import file_response
from web.errors import ApiError
from web.openapi import openapi_document
from web.params import choice_arg, filters_arg, id_list, int_arg, json_body, query_arg

bp = Blueprint("api", __name__)


def page_args() -> dict:
    return {
        "k": int_arg(request.args, "k", 10),
        "offset": int_arg(request.args, "offset", 0),
        "filters": filters_arg(request.args),
    }


def respond(result: SearchResult, name: str):
    """JSON by default; ``format=bibtex|csv|json`` downloads the list as a file."""
    fmt = choice_arg(request.args, "format", tuple(FORMATS), "")
    if not fmt:
        return jsonify(result.to_dict())
    return file_response(result, fmt, name)


@bp.get("/search")
def search():
    mode = choice_arg(request.args, "mode", MODES, "semantic")
    result = provider().get().search(query_arg(request.args), mode=mode, **page_args())
    return respond(result, "papersearch-results")


@bp.post("/search/by_example")
def search_by_example():
    """A title and abstract (as a paper is embedded), or a paper the corpus holds."""
    body = json_body()
    engine = provider().get()
    if body.get("paper") is not None:
        if not isinstance(body["paper"], (int, str)) or isinstance(body["paper"], bool):
            raise_invalid("paper must be an id, external id or DOI.")
        paper = engine.resolve_paper(body["paper"])
        result = engine.similar(paper.id, **page_args())
    else:
        title, abstract = body.get("title"), body.get("abstract")
        if not isinstance(title, str) or not isinstance(abstract, (str, type(None))):
            raise_invalid("Give a title (and optionally an abstract) as strings, or a paper.")
        result = engine.search_by_example(title, abstract, **page_args())
    return respond(result, "papersearch-by-example")


@bp.post("/recommendations")
def recommendations():
    """Papers like ``positive_ids`` and unlike ``negative_ids`` (Semantic Scholar's shape)."""
    body = json_body()
    result = (
        provider()
        .get()
        .recommend(id_list(body, "positive_ids"), id_list(body, "negative_ids"), **page_args())
    )
    return respond(result, "papersearch-recommendations")


@bp.get("/papers/<int:paper_id>")
def paper(paper_id: int):
    return jsonify(paper_to_dict(provider().get().paper(paper_id)))


@bp.get("/papers/<int:paper_id>/similar")
def similar(paper_id: int):
    return respond(provider().get().similar(paper_id, **page_args()), f"similar-to-{paper_id}")


@bp.get("/health")
def health():
    status = provider().status()
    return jsonify(status), 200 if status["status"] == "ok" else 503


@bp.get("/openapi.json")
def openapi():
    return jsonify(openapi_document())


def raise_invalid(message: str) -> None:
    raise ApiError(422, "invalid_parameter", message)
