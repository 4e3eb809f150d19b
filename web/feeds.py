"""Atom feeds: a search, or a library's recommendations, as a subscription that lists the
papers each re-index adds to its top results (``search.engine.new_papers``)."""

from __future__ import annotations

import re
from datetime import datetime, timezone

from flask import Blueprint, make_response, render_template, request

from search.engine.bibtex_library import library_size
from search.engine.new_papers import FEED_DEPTH, Feed, feed_days, feed_id
from search.query.limits import DEFAULT_MODE, MODES, SORTS
from web.extension import provider
from web.params import (
    choice_arg,
    filters_arg,
    int_arg,
    query_arg,
    search_params,
)
from web.public_urls import public_url, this_url

bp = Blueprint("feeds", __name__)

ATOM = "application/atom+xml; charset=utf-8"
# Characters XML 1.0 does not allow, which abstracts sometimes carry (form feeds, etc.).
NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff\ud800-\udfff]")


@bp.get("/search.atom")
def search_feed():
    """The papers that entered the index in the last ``days`` days (30) and rank among the
    query's first 100, with the query's mode and filters."""
    query = query_arg(request.args)
    mode = choice_arg(request.args, "mode", MODES, DEFAULT_MODE)
    sort = choice_arg(request.args, "sort", SORTS, "relevance")
    days = feed_days(int_arg(request.args, "days", None))
    chosen = filters_arg(request.args)
    engine = provider().get()
    result = engine.search(query, k=FEED_DEPTH, mode=mode, filters=chosen, sort=sort)
    filters = chosen.to_params()
    defined = {"q": result.query, "mode": mode, **filters}
    if sort != "relevance":  # feeds subscribed to before sorts existed keep their ids
        defined["sort"] = sort
    subscription = feed_id("search", defined)
    feed = engine.new_in(result, title=f"papersearch: {result.query}", days=days,
                         atom_id=subscription)  # fmt: skip
    page = public_url("pages.search_page", q=result.query, **search_params(mode, filters, sort))
    return atom(feed, page)


@bp.get("/library/<library>.atom")
def library_feed(library: str):
    """The papers that entered the index in the last ``days`` days and rank among a
    library's first 100 recommendations (the library as uploaded to /library)."""
    days = feed_days(int_arg(request.args, "days", None))
    chosen = filters_arg(request.args)
    engine = provider().get()
    result = engine.recommendations.from_saved_library(library, k=FEED_DEPTH, filters=chosen)
    title = f"papersearch: new papers for {library_size(result.library.entries)}"
    subscription = feed_id("library", {"library": library, **chosen.to_params()})
    feed = engine.new_in(result, title=title, days=days, atom_id=subscription)
    return atom(feed, public_url("pages.saved_library_page", library=library,
                                 **chosen.to_params()))  # fmt: skip


def atom(feed: Feed, alternate: str):
    """The feed as an Atom document."""
    body = render_template("feed.atom.xml", feed=feed, alternate=alternate, self_url=this_url(),
                           depth=FEED_DEPTH, public_url=public_url)  # fmt: skip
    response = make_response(body)
    response.headers["Content-Type"] = ATOM
    return response


@bp.app_template_filter("xml_text")
def xml_text(text: str | None) -> str:
    """Text without the characters XML cannot hold (escaping is the template's)."""
    return NOT_XML.sub("", text or "")


@bp.app_template_filter("atom_time")
def atom_time(moment: datetime) -> str:
    """RFC 3339, in UTC."""
    return moment.astimezone(timezone.utc).isoformat(timespec="seconds").replace("+00:00", "Z")
