"""The JSON API under /api/v1: the same engine calls as the HTML pages.

Every endpoint that returns a ranked list takes ``k``, ``offset``, the filters
(``year``, ``venue``, ``category``, ``author``) and ``format`` (one of
``search.answers.export.FORMATS``: any but ``json`` downloads as a file) in the query
string.
"""

from __future__ import annotations

from flask import Blueprint, jsonify, request, url_for

from search.answers.export import FORMATS
from search.answers.results import SearchResult
from search.engine.authors import AUTHOR_SORTS
from search.engine.citations import LIST_SORTS
from search.query.limits import DEFAULT_MODE, MODES, SORTS
from search.query.paper_refs import paper_ref
from web.downloads import file_response
from web.extension import provider
from web.openapi import openapi_document
from web.params import (
    bibtex_upload,
    choice_arg,
    example_input,
    filters_arg,
    id_list,
    int_arg,
    json_body,
    new_days_arg,
    query_arg,
    with_feed,
)
from web.params import search_by_example as example_search
from web.rate_limits import library_quota

bp = Blueprint("api", __name__)


def page_args() -> dict:
    return {
        "k": int_arg(request.args, "k", 10),
        "offset": int_arg(request.args, "offset", 0),
        "filters": filters_arg(request.args),
    }


def respond(result: SearchResult, name: str):
    """JSON by default; another ``format`` downloads the list as a file."""
    fmt = choice_arg(request.args, "format", tuple(FORMATS), "")
    if not fmt:
        return jsonify(result.to_dict())
    return file_response(result, fmt, name)


@bp.get("/search")
def search():
    mode = choice_arg(request.args, "mode", MODES, DEFAULT_MODE)
    sort = choice_arg(request.args, "sort", SORTS, "relevance")
    result = provider().get().search(query_arg(request.args), mode=mode, sort=sort,
                                     **page_args())  # fmt: skip
    return respond(result, "papersearch-results")


@bp.post("/search/by_example")
def search_by_example():
    """A title and abstract (as a paper is embedded), a paper the corpus holds, or an
    uploaded PDF (multipart, field ``pdf``)."""
    current = provider()
    body, pdf = example_input(current.settings.pdf_max_size, api=True)
    return respond(example_search(current.get(), body, pdf, **page_args()),
                   "papersearch-by-example")  # fmt: skip


@bp.post("/recommendations")
def recommendations():
    """Papers like ``positive_ids`` and unlike ``negative_ids`` (Semantic Scholar's shape)."""
    body = json_body()
    recommendations = provider().get().recommendations
    result = recommendations.recommend(id_list(body, "positive_ids"),
                                       id_list(body, "negative_ids"), **page_args())  # fmt: skip
    return respond(result, "papersearch-recommendations")


@bp.post("/recommendations/from_bibtex")
def recommendations_from_bibtex():
    """Papers like a BibTeX library (a Zotero or JabRef export), its own papers left out;
    ``new_days`` keeps only papers that entered the index in that many days."""
    text = bibtex_upload()
    new_days = new_days_arg(request.args)
    result = (
        provider()
        .get()
        .recommendations.from_bibtex(
            text, new_days=new_days, before_keeping=library_quota(), **page_args()
        )
    )
    return respond(with_feed(result, new_days), "papersearch-library")


@bp.get("/papers/<path:paper_id>")
def paper(paper_id: str):
    """A paper by internal id, corpus id (an arXiv id) or DOI."""
    engine = provider().get()
    found = engine.resolve_paper(paper_ref(paper_id))
    response = jsonify(engine.detail(found).to_dict())
    response.headers["Content-Location"] = url_for("api.paper", paper_id=found.id)
    return response


@bp.get("/papers/<path:paper_id>/similar")
def similar(paper_id: str):
    engine = provider().get()
    found = engine.resolve_paper(paper_ref(paper_id))
    return respond(engine.similar(found.id, **page_args()), f"similar-to-{found.id}")


@bp.get("/papers/<path:paper_id>/references")
def references(paper_id: str):
    """The papers of this corpus that the paper cites."""
    return citation_list(paper_id, "references")


@bp.get("/papers/<path:paper_id>/citations")
def citations(paper_id: str):
    """The papers of this corpus that cite the paper."""
    return citation_list(paper_id, "citations")


@bp.get("/papers/<path:paper_id>/connected")
def connected(paper_id: str):
    """Papers connected by citations (references in common, cited together) and by text."""
    engine = provider().get()
    found = engine.resolve_paper(paper_ref(paper_id))
    return respond(engine.citations.connected(found.id, **page_args()), f"connected-to-{found.id}")


def citation_list(paper_id: str, kind: str):
    engine = provider().get()
    found = engine.resolve_paper(paper_ref(paper_id))
    sort = choice_arg(request.args, "sort", LIST_SORTS, LIST_SORTS[0])
    result = engine.citations.listed(found.id, kind, sort=sort, **page_args())
    return respond(result, f"{kind}-of-{found.id}")


@bp.get("/authors/<path:author_id>")
def author(author_id: str):
    """An author (by an id the sources give, or by name) and a page of their papers;
    another ``format`` downloads the page of papers."""
    sort = choice_arg(request.args, "sort", AUTHOR_SORTS, AUTHOR_SORTS[0])
    profile = provider().get().authors.profile(author_id, sort=sort, **page_args())
    if choice_arg(request.args, "format", tuple(FORMATS), ""):
        return respond(profile.papers, "papers-of-" + profile.author_id.replace(":", "-"))
    return jsonify(profile.to_dict())


@bp.get("/health")
def health():
    status = provider().status()
    return jsonify(status.to_dict()), 200 if status.status == "ok" else 503


@bp.get("/openapi.json")
def openapi():
    return jsonify(openapi_document(provider().model_name))
