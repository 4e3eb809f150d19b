"""Server-rendered pages for people: search, paper, about. They work without JavaScript."""

from __future__ import annotations

import math

from flask import Blueprint, render_template, request

from search.engine import MAX_OFFSET, InvalidRequest, NoIndex
from search.records import http_url
from web import provider
from web.errors import ApiError, as_api_error
from web.params import int_arg

bp = Blueprint("pages", __name__)

PER_PAGE = 10
SIMILAR_ON_PAPER_PAGE = 10


@bp.get("/")
def search_page():
    query = request.args.get("q")
    if query is None:
        return render_template("search.html", query="", result=None, message=None)
    try:
        page = int_arg(request.args, "page", 1)
        if not 1 <= page <= MAX_OFFSET // PER_PAGE + 1:
            raise InvalidRequest(
                f"page must be from 1 to {MAX_OFFSET // PER_PAGE + 1}.", "out_of_range"
            )
        result = provider().get().search(query, k=PER_PAGE, offset=(page - 1) * PER_PAGE)
    except (ApiError, InvalidRequest, NoIndex) as exc:
        error = as_api_error(exc)
        message = (
            "Type a few words to search for." if error.code == "empty_query" else error.message
        )
        return render_template(
            "search.html", query=query, result=None, message=message
        ), error.status
    pages = min(math.ceil(result.total / PER_PAGE), MAX_OFFSET // PER_PAGE + 1)
    return render_template(
        "search.html",
        query=result.query,
        result=result,
        page=page,
        pages=pages,
        message=None,
        first_rank=(page - 1) * PER_PAGE + 1,
    )


@bp.get("/papers/<int:paper_id>")
def paper_page(paper_id: int):
    engine = provider().get()
    paper = engine.paper(paper_id)
    similar = engine.similar(paper_id, k=SIMILAR_ON_PAPER_PAGE)
    return render_template("paper.html", paper=paper, similar=similar)


@bp.get("/about")
def about_page():
    return render_template("about.html", status=provider().status())


@bp.app_template_filter("snippet")
def snippet(text: str | None, limit: int = 280) -> str:
    """The start of an abstract, cut at a word boundary."""
    if not text or len(text) <= limit:
        return text or ""
    cut = text[:limit].rsplit(" ", 1)[0]
    return cut.rstrip(",.;:") + "…"


@bp.app_template_filter("short_authors")
def short_authors(authors: list[str], limit: int = 4) -> str:
    if len(authors) <= limit:
        return ", ".join(authors)
    return ", ".join(authors[: limit - 1]) + f" … {authors[-1]} ({len(authors)} authors)"


bp.add_app_template_filter(http_url, "http_url")


@bp.app_template_filter("link_label")
def link_label(url: str | None) -> str:
    if not url:
        return ""
    if "arxiv.org" in url:
        return "arXiv"
    if "doi.org" in url:
        return "DOI"
    return "Link"
