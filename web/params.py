"""Request parameters → engine arguments, with the API's error codes for bad ones.

The API and the pages read their requests through these helpers, so that a
parameter means the same, and fails the same, everywhere.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from flask import request

from search.answers.results import SearchResult
from search.base.errors import InvalidRequest
from search.engine.bibtex_library import MAX_LIBRARY_BYTES, library_too_large
from search.engine.engine import SearchEngine
from search.pdf import PdfLimits
from search.query.filters import Filters
from search.query.limits import DEFAULT_MODE
from web.bodies import FORM_BYTES, LIBRARY_BODY_BYTES, read_body
from web.public_urls import public_url


def int_arg(args: Mapping[str, str], name: str, default: int) -> int:
    raw = args.get(name)
    if raw is None or raw.strip() == "":
        return default
    try:
        return int(raw.strip())
    except ValueError:
        raise InvalidRequest(f"{name} must be an integer, not {raw[:40]!r}.") from None


def query_arg(args: Mapping[str, str]) -> str:
    query = args.get("q")
    if query is None:
        raise InvalidRequest("The q parameter (the search query) is required.", "missing_query")
    return query


def search_params(mode: str, filters: Mapping[str, str], sort: str = "relevance") -> dict:
    """The parameters that make a search's URL beside ``q``, defaults left out (the form
    and feed links use them)."""
    params = {"mode": mode, **filters} if mode != DEFAULT_MODE else dict(filters)
    if sort != "relevance":
        params["sort"] = sort
    return params


def filters_arg(args: Mapping[str, str]) -> Filters:
    """``year``, ``venue``, ``category``, ``author`` as Semantic Scholar's API takes them."""
    return Filters.from_params(args)


def choice_arg(args: Mapping[str, str], name: str, choices: tuple[str, ...], default: str) -> str:
    raw = (args.get(name) or "").strip().lower()
    if not raw:
        return default
    if raw not in choices:
        raise InvalidRequest(f"{name} must be one of {', '.join(choices)}, not {raw[:40]!r}.")
    return raw


def json_body() -> dict[str, Any]:
    """The request's JSON object; anything else is a 400 with the API's error shape."""
    read_body()  # over the bound (chunked too): 413, naming it
    body = request.get_json(silent=True, force=True)
    if not isinstance(body, dict):
        raise InvalidRequest("The request body must be a JSON object.", "invalid_body")
    if not request.is_json:
        raise InvalidRequest(
            "The request body is JSON, but it was sent as "
            f"{request.mimetype or 'no content type'}: send it with "
            "Content-Type: application/json.",
            "invalid_body",
        )
    return body


def id_list(body: Mapping[str, Any], name: str) -> list[int | str]:
    """Paper references: internal ids (integers) or external ids / DOIs (strings)."""
    value = body.get(name, [])
    if not isinstance(value, list) or not all(
        (isinstance(v, int) and not isinstance(v, bool)) or isinstance(v, str) for v in value
    ):
        raise InvalidRequest(f"{name} must be a list of paper ids (integers or strings).")
    return value


def search_by_example(
    engine: SearchEngine, values: Mapping[str, Any], pdf: bytes | None = None, **page
) -> SearchResult:
    """An example paper from a JSON body or a form: an uploaded ``pdf`` (a draft) when one
    is sent, else ``paper`` (an id, arXiv id or DOI), else ``title`` and optionally
    ``abstract``."""
    if pdf is not None:
        return engine.search_by_pdf(pdf, **page)
    paper = values.get("paper")
    if isinstance(paper, str):
        paper = paper.strip() or None
    if paper is not None:
        if not isinstance(paper, (int, str)) or isinstance(paper, bool):
            raise InvalidRequest("paper must be an id, external id or DOI.")
        return engine.similar(engine.resolve_paper(paper).id, **page)
    title, abstract = values.get("title"), values.get("abstract")
    if not isinstance(title, str) or not isinstance(abstract, (str, type(None))):
        raise InvalidRequest("Give a title (and optionally an abstract) as strings, or a paper.")
    return engine.search_by_example(title, abstract, **page)


def example_input(max_pdf_bytes: int, *, api: bool) -> tuple[Mapping[str, Any], bytes | None]:
    """A search by example's input: the form's fields (the API: a JSON body unless the
    request is multipart) and the PDF uploaded as ``pdf``, read within the PDF size bound
    (413 past it); no PDF: None."""
    if request.mimetype != "multipart/form-data":
        return (json_body() if api else request.form), None
    bound = max_pdf_bytes + FORM_BYTES  # set before the body is read: the PDF and its form
    request.max_content_length = request.max_form_memory_size = bound
    too_large = PdfLimits(max_bytes=max_pdf_bytes).too_large
    if (request.content_length or 0) > bound:
        raise too_large(request.content_length)
    upload = request.files.get("pdf")
    if upload is None or not upload.filename:
        return request.form, None
    data = upload.read(max_pdf_bytes + 1)
    if len(data) > max_pdf_bytes:
        raise too_large(len(data))
    if not data:
        raise InvalidRequest("The uploaded PDF is empty.", "unreadable_pdf")
    return request.form, data


def bibtex_upload() -> str:
    """The BibTeX text of a request: an uploaded ``file``, a ``bibtex`` form or JSON field,
    or the body itself (``Content-Type: application/x-bibtex`` or ``text/plain``)."""
    # Beyond the usual bound (set before the body is read): the file, the form around it.
    request.max_content_length = request.max_form_memory_size = LIBRARY_BODY_BYTES
    if (request.content_length or 0) > LIBRARY_BODY_BYTES:
        raise library_too_large()
    upload = request.files.get("file")
    if upload is not None and upload.filename:
        raw = upload.read(MAX_LIBRARY_BYTES + 1)
    elif request.form.get("bibtex", "").strip():
        return request.form["bibtex"]
    elif request.is_json:
        body = request.get_json(silent=True)
        text = body.get("bibtex") if isinstance(body, dict) else None
        if not isinstance(text, str):
            raise InvalidRequest('Send the library as {"bibtex": "@article{…}"}.', "invalid_body")
        return text
    else:
        raw = request.get_data(cache=False)
    if not raw.strip():
        if request.mimetype == "application/x-www-form-urlencoded":  # curl --data-binary's
            raise InvalidRequest(
                "The library was sent as a form (application/x-www-form-urlencoded, what "
                "curl --data-binary sends unless told otherwise), which garbles BibTeX: send "
                "it with Content-Type: application/x-bibtex (curl -H 'Content-Type: "
                "application/x-bibtex' --data-binary @library.bib), or as a file field "
                "(curl -F file=@library.bib).",
                "missing_library",
            )
        raise InvalidRequest(
            "No BibTeX library was sent: upload a .bib file or paste its text.", "missing_library"
        )
    for encoding in ("utf-8-sig", "latin-1"):  # exports are UTF-8; old ones Latin-1
        try:
            return raw.decode(encoding)
        except UnicodeDecodeError:
            continue
    raise AssertionError("latin-1 decodes any bytes")


def new_days_arg(values: Mapping[str, str]) -> int | None:
    """``new_days``: only papers new in that many days (None, the default: every paper)."""
    raw = values.get("new_days") or ""
    return int_arg(values, "new_days", 0) if raw.strip() else None


def with_feed(result: SearchResult, new_days: int | None) -> SearchResult:
    """A library's recommendations with the link to their feed (when it is kept)."""
    if not result.library.kept:
        return result
    feed = {"days": new_days} if new_days else {}
    result.library.feed = public_url("feeds.library_feed", library=result.library.id,
                                     **feed, **result.filters)  # fmt: skip
    return result
