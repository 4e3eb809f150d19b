"""The documentation held to the code: what docs/web.md says the API answers is what the
answer types (from which the OpenAPI document is generated) hold."""

from __future__ import annotations

import dataclasses
import importlib
import re

import pytest

from search.answers import facts, results
from tests.helpers import REPO

WEB_DOC = REPO / "docs" / "web.md"
# Each documented request, and the answer type of its shape.
ANSWERS = {
    "GET /api/v1/search?": results.SearchResult,
    "POST /api/v1/recommendations/from_bibtex": results.SearchResult,
    "GET /api/v1/papers/ID`": results.PaperDetail,
    "GET /api/v1/health": facts.Health,
}
NESTED = {"results": results.Hit, "seeds": results.Seed, "library": results.LibraryFacts,
          "build": facts.BuildFacts, "models": facts.ModelFacts,
          "encoder": facts.EncoderFacts, "corpus": facts.CorpusFacts}  # fmt: skip


def parse_shape(text: str) -> dict[str, dict | None]:
    """``{a, b: {c, ...}, d: [{e}]}`` → {"a": None, "b": {"c": None, "...": None}, ...}."""
    shape, name, at = {}, "", 1
    while at < len(text) - 1:
        char = text[at]
        if char in "{[":
            depth, end = 0, at
            for end in range(at, len(text)):
                depth += text[end] in "{[" and 1 or -(text[end] in "}]")
                if depth == 0:
                    break
            inner = text[at : end + 1].strip("[]")
            shape[name.strip(" :")] = parse_shape(inner)
            name, at = "", end + 1
        elif char == ",":
            if name.strip():
                shape[name.strip()] = None
            name, at = "", at + 1
        else:
            name, at = name + char, at + 1
    if name.strip():
        shape[name.strip()] = None
    return shape


def check_shape(shape: dict, answer_type, where: str) -> None:
    fields = {f.name: f for f in dataclasses.fields(answer_type)}
    documented = set(shape) - {"..."}
    assert documented <= set(fields), f"{where}: {documented - set(fields)} are not answered"
    if "..." not in shape:
        required = {n for n, f in fields.items() if not f.metadata.get("omit")}
        assert required <= documented, f"{where}: {required - documented} are not documented"
    for name, inner in shape.items():
        if inner is not None:
            check_shape(inner, NESTED[name], f"{where}.{name}")


def documented_shapes() -> list[tuple[str, str]]:
    found = []
    for line in WEB_DOC.read_text().splitlines():
        for request in ANSWERS:
            if line.startswith(f"| `{request}"):
                answer = line.split(" | ", 1)[1]
                shapes = [s for s in re.findall(r"`([^`]*)`", answer) if s.endswith("}")]
                found.append((request, shapes[0]))
    return found


def test_every_documented_answer_is_found():
    assert {request for request, _ in documented_shapes()} == set(ANSWERS)


@pytest.mark.parametrize("request_line, shape", documented_shapes())
def test_docs_web_md_shapes_are_the_answer_types(request_line, shape):
    if shape.startswith("{"):
        check_shape(parse_shape(shape), ANSWERS[request_line], request_line)
    else:  # "same shape, plus library: {...}"
        check_shape(parse_shape("{..., " + shape + "}"), results.SearchResult, request_line)


def test_the_shape_parser_reads_nesting_and_ellipses():
    assert parse_shape("{a, b: {c, ...}, d: [{e, f}]}") == {
        "a": None, "b": {"c": None, "...": None}, "d": {"e": None, "f": None}}  # fmt: skip


def test_the_readme_screenshot_caption_is_what_the_script_photographs():
    import sys

    sys.path.insert(0, str(REPO / "docs"))
    import screenshot

    readme = (REPO / "README.md").read_text()
    assert f"![{screenshot.CAPTION}](web/static/screenshot-search.png)" in readme


def test_papersearch_eval_figures_are_the_same_wherever_they_are_quoted():
    """README's `papersearch eval` nDCG@10 per mode is what docs/search.md and docs/hosts.md
    tabulate (one measurement, quoted three times)."""
    readme = (REPO / "README.md").read_text()
    row = re.search(
        r"\| SQLite and PostgreSQL \| ([\d.]+) \| ([\d.]+) \| \*\*([\d.]+)\*\* \|", readme
    )
    quoted = dict(zip(("semantic", "keyword", "hybrid"), row.groups(), strict=True))
    for doc in ("search.md", "hosts.md"):
        text = (REPO / "docs" / doc).read_text()
        for mode, value in quoted.items():
            pattern = rf"\| {mode}( \(IVF[^|]*\))? \| (\*\*)?{re.escape(value)}(\*\*)? \|"
            assert re.search(pattern, text), f"docs/{doc}: {mode} is not {value}"


def test_the_design_doc_lists_every_module():
    """docs/design.md is the map: every module of search/, indexer/ and web/ is in it by
    its dotted name, and every dotted name in it is a module or package that exists."""

    def dotted(path):
        return ".".join(path.relative_to(REPO).with_suffix("").parts).removesuffix(".__init__")

    files = [path for part in ("search", "indexer", "web") for path in (REPO / part).rglob("*.py")]
    packages = {dotted(path) for path in files if path.name == "__init__.py"}
    modules = {dotted(path) for path in files if path.name != "__init__.py"} | {"web"}
    text = (REPO / "docs" / "design.md").read_text(encoding="utf-8")
    named = set(re.findall(r"`((?:search|indexer|web)(?:\.\w+)*)`", text))
    assert modules - named == set()

    def exists(name: str) -> bool:  # a module, a package, or a name a module defines
        owner, _, attr = name.rpartition(".")
        if name in modules | packages:
            return True
        return owner in modules and hasattr(importlib.import_module(owner), attr)

    assert {name for name in named if not exists(name)} == set()


def test_the_error_table_and_the_openapi_codes_are_the_registry(monkeypatch):
    """docs/web.md's table and OpenAPI's Error.code come from search.base.errors: a code
    added to the registry appears in both."""
    from search.base import errors
    from web.openapi import openapi_document

    web_md = (REPO / "docs" / "web.md").read_text(encoding="utf-8")
    assert errors.markdown_table() in web_md, "regenerate it: python -m search.base.errors"

    def error_codes():
        schema = openapi_document()["components"]["schemas"]["Error"]
        return schema["properties"]["error"]["properties"]["code"]["enum"]

    assert error_codes() == list(errors.ERROR_CODES)
    added = errors.ErrorCode("teapot", 418, "A code added to the registry.")
    monkeypatch.setitem(errors.ERROR_CODES, "teapot", added)
    assert "teapot" in error_codes() and "| `teapot` | 418 |" in errors.markdown_table()


def test_every_corpus_format_is_documented_with_an_example():
    """docs/indexing.md's table has a row and a one-line example for each format the
    readers know, and the README runs the new ones on the bundled files (test_newcomer
    runs every README example)."""
    from indexer.readers import FORMATS

    table = (REPO / "docs" / "indexing.md").read_text().split("## Corpus formats")[1]
    rows = re.findall(r"^\| `([a-z0-9-]+)` \|.*\| `(papersearch [^`]+)` \|$", table, re.M)
    assert tuple(name for name, _ in rows) == FORMATS
    readme = (REPO / "README.md").read_text()
    for fixture in ("tests/data/pubmed/", "tests/data/openalex/", "tests/data/pdfs/"):
        assert re.search(rf"^papersearch --home \S+ index {fixture}", readme, re.M), fixture


def test_web_md_names_every_export_format():
    from search.answers.export import FORMATS

    web_md = (REPO / "docs" / "web.md").read_text()
    sentence = re.search(r"`format` \(([^)]*)", web_md).group(1)
    assert set(re.findall(r"`(\w+)`", sentence)) == set(FORMATS)


def test_the_readme_and_install_md_give_the_same_setup_time_and_size():
    readme = (REPO / "README.md").read_text()
    install = (REPO / "docs" / "install.md").read_text()
    measured = re.search(r"(\d\.\d GB), set up in (\d+ s)", install)
    assert measured and f"set up in {measured.group(2)}, {measured.group(1)}" in readme
