"""Server-rendered pages for people: search, paper, about. They work without JavaScript."""

from __future__ import annotations

import math
from dataclasses import dataclass
from urllib.parse import urlencode

from flask import Blueprint, render_template, request, url_for
from markupsafe import Markup, escape

from search.answers.citation_meta import coins, highwire_tags
from search.answers.export import FORMATS
from search.answers.results import short_authors
from search.base.errors import InvalidRequest, PaperNotInBuild
from search.base.urls import http_url
from search.engine.citation_map import MAP_LISTS
from search.engine.citations import LIST_SORTS
from search.query.filters import FILTER_PARAMETERS
from search.query.limits import DEFAULT_MODE, MAX_K, MAX_OFFSET, MODES, SORT_POOL_KEYWORD, SORTS
from search.query.paper_refs import paper_ref
from web.citation_map import map_svg
from web.downloads import file_response
from web.error_handler import show_errors_on
from web.extension import provider
from web.openapi import openapi_document
from web.params import (
    bibtex_upload,
    choice_arg,
    example_input,
    filters_arg,
    int_arg,
    new_days_arg,
    search_by_example,
    search_params,
    with_feed,
)
from web.rate_limits import library_quota

bp = Blueprint("pages", __name__)

PER_PAGE = 10


@dataclass(frozen=True)
class SortChoice:
    """An order the search form offers: ``needs`` names the corpus fact (a count) without
    which it is hidden, as the filters are."""

    value: str
    label: str
    needs: str | None = None

    @property
    def summary(self) -> str:  # "newest first", as the results' summary line says it
        return self.label[0].lower() + self.label[1:]


SORT_CHOICES = (
    SortChoice("relevance", "Most relevant first"),
    SortChoice("date", "Newest first"),
    SortChoice("citations", "Most cited first", needs="with_citations"),
)
assert tuple(choice.value for choice in SORT_CHOICES) == SORTS
SIMILAR_ON_PAPER_PAGE = 10
LINKS_ON_PAPER_PAGE = 10  # references and citing papers a paper page shows; the rest a click away
LIST_SORT_LABELS = {"citations": "Most cited first", "date": "Newest first"}
RECOMMENDATIONS = 20
EXPORT_LABELS = (("BibTeX", "bibtex"), ("RIS", "ris"), ("CSV", "csv"), ("JSON", "json"))
FILTER_PARAMS = ("year", "venue", "category", "author")


@bp.get("/")
def search_page():
    query = request.args.get("q")
    if query is None:
        return render_template(
            "search.html", query="", mode=DEFAULT_MODE, filters={}, result=None, message=None
        )
    # On an error the form comes back as the user filled it in.
    typed_mode = (request.args.get("mode") or "").strip().lower()
    typed_filters = {name: request.args[name] for name in FILTER_PARAMS if request.args.get(name)}
    show_errors_on("search.html", query=query, result=None, filters=typed_filters,
                   mode=typed_mode if typed_mode in MODES else DEFAULT_MODE,
                   messages={} if query.strip() else {
                       "empty_query": "Type a few words to search for."})  # fmt: skip
    mode = choice_arg(request.args, "mode", MODES, DEFAULT_MODE)
    sort = choice_arg(request.args, "sort", SORTS, "relevance")
    chosen = filters_arg(request.args)
    filters = chosen.to_params()
    page = int_arg(request.args, "page", 1)
    if not 1 <= page <= MAX_OFFSET // PER_PAGE + 1:
        raise InvalidRequest(
            f"page must be from 1 to {MAX_OFFSET // PER_PAGE + 1}.", "out_of_range"
        )
    result = (
        provider()
        .get()
        .search(
            query, k=PER_PAGE, offset=(page - 1) * PER_PAGE, mode=mode, filters=chosen, sort=sort
        )  # fmt: skip
    )
    params = search_params(mode, filters, sort)
    pages = min(math.ceil(result.total / PER_PAGE), MAX_OFFSET // PER_PAGE + 1)
    return render_template(
        "search.html",
        query=result.query,
        mode=mode,
        sort=sort,
        filters=filters,
        params=params,
        result=result,
        page=page,
        pages=pages,
        message=None,
        first_rank=(page - 1) * PER_PAGE + 1,
        sort_pool=SORT_POOL_KEYWORD,
        sort_labels={choice.value: choice.summary for choice in SORT_CHOICES},
        export_links=export_links("api.search", q=result.query, k=MAX_K, **params),
        feed_url=url_for("feeds.search_feed", q=result.query, **search_params(mode, filters)),
        alert_url=url_for("alerts.alert_form", kind="search", q=result.query, mode=mode,
                          **filters),
    )  # fmt: skip


@bp.get("/recommend")
def recommend_page():
    """More like the checked papers (``like``), less like ``unlike``; ``format`` downloads."""
    likes, unlikes = request.args.getlist("like"), request.args.getlist("unlike")
    show_errors_on("recommend.html", result=None, filters={}, messages={
        "missing_ids": "Check “more like this” beside at least one paper in a list of results, "
                       "then ask for more like the checked papers."})  # fmt: skip
    chosen = filters_arg(request.args)
    refs, against = [paper_ref(v) for v in likes], [paper_ref(v) for v in unlikes]
    recommendations = provider().get().recommendations
    result = recommendations.recommend(refs, against, k=RECOMMENDATIONS, filters=chosen)
    fmt = choice_arg(request.args, "format", tuple(FORMATS), "")
    if fmt:
        return file_response(result, fmt, "papersearch-recommendations")
    filters = chosen.to_params()
    # The choices so far ride along in the form, so that checking more papers adds to them.
    keep = [(seed.role, str(seed.id)) for seed in result.seeds] + list(filters.items())
    base = url_for("pages.recommend_page")
    return render_template(
        "recommend.html",
        message=None,
        result=result,
        filters=filters,
        keep=keep,
        export_links=[
            (label, f"{base}?{urlencode([*keep, ('format', value)])}")
            for label, value in EXPORT_LABELS
        ],
    )


@bp.route("/example", methods=["GET", "POST"])
def example_page():
    """Search with a pasted title and abstract, a paper named by id, arXiv id or DOI, or
    an uploaded PDF (a draft)."""
    if request.method == "GET":
        return render_template("example.html", form={}, result=None, message=None)
    show_errors_on("example.html", form={}, result=None)
    current = provider()
    form, pdf = example_input(current.settings.pdf_max_size, api=False)
    show_errors_on("example.html", form=form, result=None)
    result = search_by_example(current.get(), form, pdf, k=RECOMMENDATIONS)
    fmt = choice_arg(form, "format", tuple(FORMATS), "")
    if fmt:
        return file_response(result, fmt, "papersearch-by-example")
    return render_template("example.html", form=form, result=result, message=None)


@bp.route("/library", methods=["GET", "POST"])
def library_page():
    """Recommendations from a BibTeX library, uploaded or pasted (a Zotero or JabRef export)."""
    if request.method == "GET":
        return render_template("library.html", form={}, result=None, message=None)
    show_errors_on("library.html", form={}, result=None)
    text = bibtex_upload()  # before the form is read: it sets how large the body may be
    show_errors_on("library.html", form={"new_days": request.form.get("new_days", "")},
                   result=None)  # fmt: skip
    new_days = new_days_arg(request.form)
    result = (
        provider()
        .get()
        .recommendations.from_bibtex(
            text, k=RECOMMENDATIONS, new_days=new_days, before_keeping=library_quota()
        )
    )
    return library_answer(with_feed(result, new_days), request.form)


@bp.get("/library/<library>")
def saved_library_page(library: str):
    """Recommendations for a library uploaded before (its feed links here); ``format``
    downloads them."""
    show_errors_on("library.html", form={}, result=None)
    chosen, new_days = filters_arg(request.args), new_days_arg(request.args)
    result = (
        provider()
        .get()
        .recommendations.from_saved_library(
            library, k=RECOMMENDATIONS, filters=chosen, new_days=new_days
        )
    )
    with_feed(result, new_days)
    fmt = choice_arg(request.args, "format", tuple(FORMATS), "")
    if fmt:
        return file_response(result, fmt, "papersearch-library")
    return library_answer(result, request.args)


def library_answer(result, form):
    """The library page with its recommendations, their downloads and their own address."""
    params = {**result.filters, **({"new_days": form["new_days"]} if form.get("new_days") else {})}
    return render_template(
        "library.html", form=form, result=result, message=None,
        address=url_for("pages.saved_library_page", library=result.library.id, **params),
        export_links=export_links("pages.saved_library_page", library=result.library.id,
                                  **params),
    )  # fmt: skip


def export_links(endpoint: str, **params) -> list[tuple[str, str]]:
    return [(label, url_for(endpoint, format=fmt, **params)) for label, fmt in EXPORT_LABELS]


@bp.get("/papers/<path:ref>")
def paper_page(ref: str):
    """A paper by internal id, or by the corpus's id (an arXiv id) or DOI; the page names
    its canonical address, /papers/<internal id>."""
    engine = provider().get()
    try:
        paper = engine.resolve_paper(paper_ref(ref))
    except PaperNotInBuild as later:  # stored, not served yet: say so rather than 404
        return render_template("not_in_build.html", paper=later)
    similar = engine.similar(paper.id, k=SIMILAR_ON_PAPER_PAGE)
    links = export_links("api.similar", paper_id=paper.id, k=MAX_K)
    return render_template("paper.html", paper=engine.detail(paper), similar=similar,
                           export_links=links, cited=paper_links(engine, paper.id))  # fmt: skip


def paper_links(engine, paper_id: int) -> dict | None:
    """A paper page's references and citing papers, the first of each, its connected
    papers, the references outside the corpus and the map; None when the build has no
    citation graph, or a graph without a citation while this paper lists none either (a
    corpus whose source says nothing of citations: the page shows similar papers)."""
    if not engine.citations.available:
        return None
    graph = engine.citations.graph
    if graph.edges == 0 and graph.counts(paper_id).listed == 0:
        return None
    deep = {kind: max(LINKS_ON_PAPER_PAGE, k) for kind, k in MAP_LISTS.items()}  # the map's too
    lists = {kind: engine.citations.listed(paper_id, kind, deep[kind])
             for kind in ("references", "citations")}  # fmt: skip
    lists["connected"] = engine.citations.connected(paper_id, deep["connected"])
    outside, shown = engine.citations.outside(paper_id)
    linked = lists["references"].total or lists["citations"].total
    drawn = map_svg(engine.citations.map(paper_id, lists)) if linked else None
    first = {kind: found.results[:LINKS_ON_PAPER_PAGE] for kind, found in lists.items()}
    return {**lists, "shown": first, "outside": outside, "outside_shown": shown, "map": drawn}


@bp.get("/papers/<path:ref>/references")
def references_page(ref: str):
    return citation_list_page(ref, "references")


@bp.get("/papers/<path:ref>/citations")
def citations_page(ref: str):
    return citation_list_page(ref, "citations")


def citation_list_page(ref: str, kind: str):
    """All of a paper's references, or the papers citing it, a page at a time, most cited
    or newest first, downloadable as the other lists are."""
    engine = provider().get()
    paper = engine.resolve_paper(paper_ref(ref))
    page = int_arg(request.args, "page", 1)
    if not 1 <= page <= MAX_OFFSET // PER_PAGE + 1:
        raise InvalidRequest(
            f"page must be from 1 to {MAX_OFFSET // PER_PAGE + 1}.", "out_of_range"
        )
    sort = choice_arg(request.args, "sort", LIST_SORTS, LIST_SORTS[0])
    result = engine.citations.listed(paper.id, kind, PER_PAGE, (page - 1) * PER_PAGE, sort=sort)
    return render_template(
        "links.html", paper=engine.detail(paper), kind=kind, result=result, page=page,
        sort=sort, sorts=LIST_SORT_LABELS, pages=max(1, math.ceil(result.total / PER_PAGE)),
        export_links=export_links(f"api.{kind}", paper_id=paper.id, k=MAX_K, sort=sort),
    )  # fmt: skip


@bp.get("/about")
def about_page():
    return render_template("about.html", status=provider().status())


@bp.get("/api")
def api_page():
    """The API reference for people, rendered from the OpenAPI document itself."""
    return render_template("api.html", doc=openapi_document(provider().model_name))


@bp.app_context_processor
def corpus_context() -> dict:
    """What every page may say about the index: the model's name, the corpus's fields, the
    defaults of the search form (left out of its URLs), its orders and the export formats."""
    current = provider()
    return {"model_name": current.model_name, "corpus": current.corpus_facts(),
            "default_mode": DEFAULT_MODE, "filter_parameters": FILTER_PARAMETERS,
            "sort_choices": SORT_CHOICES, "export_labels": EXPORT_LABELS}  # fmt: skip


@bp.app_template_filter("highlight")
def highlight(text: str | None, spans: list[list[int]]) -> Markup:
    """``text`` with the given [start, end) spans in <mark>; everything escaped."""
    text = text or ""
    out, at = [], 0
    for start, end in sorted(spans or []):
        if start < at or end > len(text) or start >= end:
            continue
        out.append(escape(text[at:start]))
        out.append(Markup("<mark>") + escape(text[start:end]) + Markup("</mark>"))
        at = end
    out.append(escape(text[at:]))
    return Markup("").join(out)


bp.add_app_template_filter(short_authors, "short_authors")
bp.add_app_template_filter(highwire_tags, "highwire_tags")
bp.add_app_template_filter(coins, "coins")
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
