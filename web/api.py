"""The JSON API under /api/v1: the same engine calls as the HTML pages."""

from __future__ import annotations

from flask import Blueprint, jsonify, request

from search.engine import paper_to_dict
from web import provider
from web.openapi import openapi_document
from web.params import int_arg, query_arg

bp = Blueprint("api", __name__)


@bp.get("/search")
def search():
    result = (
        provider()
        .get()
        .search(
            query_arg(request.args),
            k=int_arg(request.args, "k", 10),
            offset=int_arg(request.args, "offset", 0),
        )
    )
    return jsonify(result.to_dict())


@bp.get("/papers/<int:paper_id>")
def paper(paper_id: int):
    return jsonify(paper_to_dict(provider().get().paper(paper_id)))


@bp.get("/papers/<int:paper_id>/similar")
def similar(paper_id: int):
    result = provider().get().similar(paper_id, k=int_arg(request.args, "k", 10))
    return jsonify(result.to_dict())


@bp.get("/health")
def health():
    status = provider().status()
    return jsonify(status), 200 if status["status"] == "ok" else 503


@bp.get("/openapi.json")
def openapi():
    return jsonify(openapi_document())
