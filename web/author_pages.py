"""Author pages: an author's papers (newest or most cited first, paged, downloadable),
co-authors, years and topics, and a feed of their new papers; from the engine's
``authors.profile``, the API's answer too."""

from __future__ import annotations

import math

from flask import Blueprint, render_template, request, url_for
from markupsafe import Markup, escape

from search.base.errors import InvalidRequest
from search.engine.authors import AUTHOR_SORTS
from search.engine.new_papers import FEED_DEPTH, feed_days, feed_id
from search.query.limits import MAX_K, MAX_OFFSET
from web.extension import provider
from web.feeds import atom
from web.pages import EXPORT_LABELS, PER_PAGE
from web.params import choice_arg, int_arg
from web.public_urls import public_url

bp = Blueprint("authors", __name__)

AUTHOR_SORT_LABELS = {"date": "Newest first", "citations": "Most cited first"}
ID_LINKS = {
    "orcid": "https://orcid.org/{}",
    "openalex": "https://openalex.org/{}",
    "s2": "https://www.semanticscholar.org/author/{}",
}


@bp.get("/authors/<path:author_id>")
def author_page(author_id: str):
    page = int_arg(request.args, "page", 1)
    if not 1 <= page <= MAX_OFFSET // PER_PAGE + 1:
        raise InvalidRequest(
            f"page must be from 1 to {MAX_OFFSET // PER_PAGE + 1}.", "out_of_range"
        )
    sort = choice_arg(request.args, "sort", AUTHOR_SORTS, AUTHOR_SORTS[0])
    profile = provider().get().authors.profile(author_id, PER_PAGE, (page - 1) * PER_PAGE,
                                               sort=sort)  # fmt: skip
    exports = [(label, url_for("api.author", author_id=profile.author_id, format=fmt, k=MAX_K,
                               sort=sort)) for label, fmt in EXPORT_LABELS]  # fmt: skip
    return render_template(
        "author.html", profile=profile, result=profile.papers, page=page, sort=sort,
        sorts=AUTHOR_SORT_LABELS, export_links=exports, id_links=_id_links(profile.ids),
        pages=max(1, math.ceil(profile.papers.total / PER_PAGE)),
        feed_url=url_for("authors.author_feed", author=profile.author_id),
    )  # fmt: skip


@bp.get("/feeds/author.atom")
def author_feed():
    """The author's papers that entered the index in the last ``days`` days (of their
    newest FEED_DEPTH)."""
    days = feed_days(int_arg(request.args, "days", None))
    engine = provider().get()
    profile = engine.authors.profile(request.args.get("author", ""), FEED_DEPTH)
    subscription = feed_id("author", {"author": profile.author_id})
    feed = engine.new_in(profile.papers, title=f"papersearch: new papers by {profile.name}",
                         days=days, atom_id=subscription)  # fmt: skip
    return atom(feed, public_url("authors.author_page", author_id=profile.author_id))


def _id_links(ids: list[str]) -> list[tuple[str, str]]:
    """(the id as shown, its page at the source) of each of an author's ids."""
    links = []
    for key in ids:
        kind, _, value = key.partition(":")
        links.append((key, ID_LINKS[kind].format(value)))
    return links


@bp.app_template_filter("linked_authors")
def linked_authors(paper, limit: int | None = 4) -> Markup:
    """A paper's (or hit's) authors, each linked to their page: all of them, or (``limit``)
    ``A, B, C … Z (12 authors)`` as result lists show them."""
    names, refs = paper.authors, paper.author_ids
    shown = list(range(len(names)))
    if limit and len(names) > limit:
        shown = [*range(limit - 1), len(names) - 1]
    parts = []
    for place, at in enumerate(shown):
        ref = refs[at] if at < len(refs) else None
        name = escape(names[at])
        link = f'<a href="{escape(url_for("authors.author_page", author_id=ref))}">{name}</a>'
        separator = " … " if place and at != shown[place - 1] + 1 else ", "
        parts.append((separator if place else "") + (link if ref else str(name)))
    cut = f" ({len(names)} authors)" if len(shown) < len(names) else ""
    return Markup("".join(parts) + cut)
