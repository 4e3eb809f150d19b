"""The web front end through Flask's test client, on a real index of the tiny model."""

from __future__ import annotations

import io
import json
import re

import jsonschema
import pytest

from indexer.pipeline import index_corpus
from search.store import Store
from tests.helpers import sample_lines, settings_on, write_lines
from web import create_app

HOSTILE_TITLE = '<script>alert("owned")</script> Attention is <b>all</b> you need'


@pytest.fixture(scope="module")
def app_settings(tmp_path_factory, tiny_encoder, module_backend, postgres):
    root = tmp_path_factory.mktemp("web")
    hostile = json.dumps(
        {
            "id": "9999.00001",
            "title": HOSTILE_TITLE,
            "summary": "An abstract with <img src=x onerror=alert(1)> in it.",
            "authors": ["Eve <i>Hacker</i>"],
            "categories": ["cs.CR"],
            "abs": "javascript:alert(1)",
        }
    )
    corpus = write_lines(root / "corpus.jsonl", sample_lines(700) + [hostile])
    settings = settings_on(module_backend, root / "data", postgres, "web")
    index_corpus(settings, [corpus], encoder=tiny_encoder)
    return settings


@pytest.fixture(scope="module")
def openapi(app):
    return app.test_client().get("/api/v1/openapi.json").get_json()


def validate(openapi: dict, body: dict, schema_name: str) -> None:
    """Check a response body against the served OpenAPI document's schema."""
    schema = {"$ref": f"#/components/schemas/{schema_name}", **openapi}
    jsonschema.validate(body, schema, cls=jsonschema.Draft202012Validator)


def hostile_id(app) -> int:
    with app.app_context():
        return app.extensions["papersearch"].get().store.papers.get_by_external_id("9999.00001").id


# -- JSON API -------------------------------------------------------------------------


def test_api_search(client, openapi):
    response = client.get("/api/v1/search?q=face+landmark+alignment&k=5")
    assert response.status_code == 200
    body = response.get_json()
    validate(openapi, body, "SearchResult")
    assert body["query"] == "face landmark alignment" and body["total"] == 701
    assert len(body["results"]) == 5
    page2 = client.get("/api/v1/search?q=face+landmark+alignment&k=3&offset=2").get_json()
    assert [r["id"] for r in page2["results"]] == [r["id"] for r in body["results"][2:5]]


def test_api_paper_and_similar(client, openapi):
    hit = client.get("/api/v1/search?q=graph&k=1").get_json()["results"][0]
    paper = client.get(f"/api/v1/papers/{hit['id']}")
    assert paper.status_code == 200
    validate(openapi, paper.get_json(), "Paper")
    assert paper.get_json()["external_id"] == hit["external_id"]
    similar = client.get(f"/api/v1/papers/{hit['id']}/similar?k=4")
    assert similar.status_code == 200
    validate(openapi, similar.get_json(), "SearchResult")
    ids = [r["id"] for r in similar.get_json()["results"]]
    assert len(ids) == 4 and hit["id"] not in ids


def test_api_health(client, openapi):
    response = client.get("/api/v1/health")
    assert response.status_code == 200
    body = response.get_json()
    validate(openapi, body, "Health")
    assert body["status"] == "ok" and body["papers"] == 701
    assert body["build"]["id"] == 1 and body["build"]["index_type"] == "IVF17,Flat"
    assert body["models"]["base_model"] == "allenai/specter2_base"
    assert body["models"]["query_adapter"] == "allenai/specter2_adhoc_query"


def test_health_is_503_while_no_index_is_built(settings, client_on):
    store = Store.open(settings, migrate=True)  # migrated, empty
    client = client_on(settings)
    response = client.get("/api/v1/health")
    assert response.status_code == 503
    kind = store.url.split(":")[0].split("+")[0]  # where it is: the log's, not anyone's
    assert response.get_json() == {"status": "no_index", "papers": 0, "database": kind,
                                   "build": None}  # fmt: skip
    assert str(settings.home) not in response.get_data(as_text=True)
    search = client.get("/api/v1/search?q=anything")
    assert search.status_code == 503 and search.get_json()["error"]["code"] == "no_index"
    page = client.get("/?q=anything")
    assert page.status_code == 503 and b"papersearch index" in page.data


@pytest.mark.parametrize(
    "url, status, code",
    [
        ("/api/v1/search", 400, "missing_query"),
        ("/api/v1/search?q=", 400, "empty_query"),
        ("/api/v1/search?q=%20%20", 400, "empty_query"),
        ("/api/v1/search?q=x&k=abc", 422, "invalid_parameter"),
        ("/api/v1/search?q=x&k=1.5", 422, "invalid_parameter"),
        ("/api/v1/search?q=x&k=0", 422, "out_of_range"),
        ("/api/v1/search?q=x&k=101", 422, "out_of_range"),
        ("/api/v1/search?q=x&k=-3", 422, "out_of_range"),
        ("/api/v1/search?q=x&k=99999999999999999999999", 422, "out_of_range"),
        ("/api/v1/search?q=x&offset=-1", 422, "out_of_range"),
        ("/api/v1/search?q=x&offset=1001", 422, "out_of_range"),
        ("/api/v1/search?q=x&offset=zz", 422, "invalid_parameter"),
        ("/api/v1/search?q=" + "x" * 2001, 422, "query_too_long"),
        ("/api/v1/papers/999999", 404, "not_found"),
        ("/api/v1/papers/0", 404, "not_found"),
        ("/api/v1/papers/99999999999999999999999999", 404, "not_found"),
        ("/api/v1/papers/abc", 404, "not_found"),
        ("/api/v1/papers/1/similar?k=0", 422, "out_of_range"),
        ("/api/v1/papers/1/similar?k=x", 422, "invalid_parameter"),
        ("/api/v1/papers/999999/similar", 404, "not_found"),
        ("/api/v1/no-such-endpoint", 404, "not_found"),
        ("/api/v1/search?q=x&mode=fuzzy", 422, "invalid_parameter"),
        ("/api/v1/search?q=x&year=20x9", 422, "invalid_parameter"),
        ("/api/v1/search?q=x&year=2021-2019", 422, "invalid_parameter"),
        ("/api/v1/search?q=x&venue=" + "v" * 201, 422, "invalid_parameter"),
        ("/api/v1/search?q=x&format=pdf", 422, "invalid_parameter"),
        ("/api/v1/search?q=%22%22&mode=keyword", 400, "empty_query"),
        ("/api/v1/papers/1/similar?year=soon", 422, "invalid_parameter"),
    ],
)
def test_api_bad_parameters_get_4xx_with_the_error_shape(client, openapi, url, status, code):
    response = client.get(url)
    assert response.status_code == status
    body = response.get_json()
    validate(openapi, body, "Error")
    assert body["error"]["code"] == code and body["error"]["message"]


def test_a_query_of_stopwords_alone_is_refused_by_keywords_like_an_empty_one(client):
    empty = client.get("/api/v1/search?q=%22%22&mode=keyword")
    stopwords = client.get("/api/v1/search?q=the+of+and&mode=keyword")
    assert stopwords.status_code == empty.status_code == 400
    error = stopwords.get_json()["error"]
    assert error["code"] == empty.get_json()["error"]["code"] == "empty_query"
    assert '"the", "of" and "and" are too common' in error["message"]
    page = client.get("/?q=the+of+and&mode=keyword")
    assert page.status_code == 400 and b"too common" in page.data
    # Hybrid ranks such a query by its meaning alone.
    hybrid = client.get("/api/v1/search?q=the+of+and&mode=hybrid&k=5").get_json()
    assert hybrid["matches"] == 0 and len(hybrid["results"]) == 5


def test_api_wrong_method_is_405_json(client):
    response = client.post("/api/v1/search?q=x")
    assert response.status_code == 405
    assert response.get_json()["error"]["code"] == "method_not_allowed"
    assert "GET" in response.headers["Allow"] and "POST" not in response.headers["Allow"]
    assert "POST" in client.get("/api/v1/recommendations").headers["Allow"]


def test_the_contract_at_its_edges(client, openapi):
    """Each refusal as the document says, in the error shape, naming what to do."""
    for path, method in (("/api/v1/search", "get"), ("/api/v1/papers/{paper_id}", "get")):
        assert "414" in openapi["paths"][path][method]["responses"]
    for body, schema, path in (({}, "Example", "/api/v1/search/by_example"),
                               ({}, "Recommendation", "/api/v1/recommendations")):  # fmt: skip
        with pytest.raises(jsonschema.ValidationError):  # {} is not a valid body...
            validate(openapi, body, schema)
        assert client.post(path, json=body).status_code == 422  # ...and is refused
    big = client.post("/api/v1/recommendations", data="[" + "1," * 40_000 + "1]",
                      content_type="application/json")  # fmt: skip
    assert big.status_code == 413 and "64 KB" in big.get_json()["error"]["message"]
    chunked = client.post(
        "/api/v1/recommendations",
        input_stream=io.BytesIO(b"x" * 70_000),
        content_type="application/json",
        headers={"Transfer-Encoding": "chunked"},
        environ_overrides={"wsgi.input_terminated": True},
    )  # as gunicorn
    # fmt: skip
    assert chunked.status_code == 413 and "64 KB" in chunked.get_json()["error"]["message"]
    curl = client.post("/api/v1/recommendations/from_bibtex", data=b"@article{x, title={T}}",
                       content_type="application/x-www-form-urlencoded")  # fmt: skip
    assert curl.status_code == 400 and "Content-Type: application/x-bibtex" in curl.get_json()[
        "error"]["message"]  # fmt: skip
    days = client.post(
        "/api/v1/recommendations/from_bibtex?new_days=0",
        data="@article{x, title={A title}}",
        content_type="text/plain",
    )
    assert days.status_code == 422 and days.get_json()["error"]["message"].startswith("new_days")


def api_routes(app) -> dict[tuple[str, str], set[str]]:
    """(path in OpenAPI's form, method) → path parameters, of every /api/v1 route Flask
    serves."""
    routes = {}
    for rule in app.url_map.iter_rules():
        if not rule.rule.startswith("/api/v1"):
            continue
        path = re.sub(r"<(?:\w+:)?(\w+)>", r"{\1}", rule.rule)
        for method in rule.methods - {"HEAD", "OPTIONS"}:
            routes[(path, method.lower())] = set(rule.arguments)
    return routes


def documented_routes(openapi: dict) -> dict[tuple[str, str], set[str]]:
    """(path, method) → path parameters, as the OpenAPI document has them."""
    return {
        (path, method): {p["name"] for p in operation.get("parameters", []) if p["in"] == "path"}
        for path, operations in openapi["paths"].items()
        for method, operation in operations.items()
    }


def test_the_api_routes_are_the_documented_paths_with_their_parameters(app, openapi):
    assert openapi["openapi"].startswith("3.")
    assert api_routes(app) == documented_routes(openapi)
    for (path, _), names in documented_routes(openapi).items():
        assert names == set(re.findall(r"{(\w+)}", path))  # the path names each parameter
    jsonschema.Draft202012Validator.check_schema(openapi["components"]["schemas"]["SearchResult"])


def test_a_route_added_without_documenting_it_is_caught(app_settings, tiny_encoder, openapi):
    """The check above fails on an app with one more /api/v1 route than the document."""
    app = create_app(app_settings, encoder=tiny_encoder)
    app.add_url_rule("/api/v1/papers/<paper_id>/throwaway", "throwaway", lambda paper_id: "")
    missing = set(api_routes(app)) - set(documented_routes(openapi))
    assert missing == {("/api/v1/papers/{paper_id}/throwaway", "get")}


def test_api_modes_and_filters(client, openapi):
    for mode in ("semantic", "keyword", "hybrid"):
        response = client.get(f"/api/v1/search?q=graph+neural&mode={mode}&k=7&category=cs")
        assert response.status_code == 200, response.get_json()
        body = response.get_json()
        validate(openapi, body, "SearchResult")
        assert body["mode"] == mode and body["filters"] == {"category": "cs"}
        assert 0 < len(body["results"]) <= 7
    years = client.get("/api/v1/search?q=graph&k=100&year=2023-").get_json()
    assert years["results"] and all(r["year"] >= 2023 for r in years["results"])


def test_api_by_example_and_recommendations(client, openapi):
    first = client.get("/api/v1/search?q=graph&k=3").get_json()["results"]
    by_id = client.post("/api/v1/search/by_example?k=5", json={"paper": first[0]["external_id"]})
    assert by_id.status_code == 200
    validate(openapi, by_id.get_json(), "SearchResult")
    similar = client.get(f"/api/v1/papers/{first[0]['id']}/similar?k=5").get_json()
    assert [r["id"] for r in by_id.get_json()["results"]] == [r["id"] for r in similar["results"]]
    example = {"title": first[1]["title"], "abstract": first[1]["abstract"]}
    by_text = client.post("/api/v1/search/by_example?k=2", json=example)
    assert by_text.get_json()["results"][0]["id"] == first[1]["id"]

    rec = client.post("/api/v1/recommendations?k=10",
                      json={"positive_ids": [first[0]["id"], first[1]["external_id"]],
                            "negative_ids": [first[2]["id"]]})  # fmt: skip
    assert rec.status_code == 200
    body = rec.get_json()
    validate(openapi, body, "SearchResult")
    assert len(body["results"]) == 10 and body["mode"] == "recommend"
    assert not {r["id"] for r in body["results"]} & {r["id"] for r in first}


@pytest.mark.parametrize(
    "path, body, status, code",
    [
        ("/api/v1/recommendations", None, 400, "invalid_body"),
        ("/api/v1/recommendations", [1, 2], 400, "invalid_body"),
        ("/api/v1/recommendations", {"positive_ids": []}, 422, "missing_ids"),
        ("/api/v1/recommendations", {"positive_ids": "1"}, 422, "invalid_parameter"),
        ("/api/v1/recommendations", {"positive_ids": [True]}, 422, "invalid_parameter"),
        ("/api/v1/recommendations", {"positive_ids": [{"id": 1}]}, 422, "invalid_parameter"),
        ("/api/v1/recommendations", {"positive_ids": list(range(1, 102))}, 422, "too_many_ids"),
        ("/api/v1/recommendations", {"positive_ids": [999999]}, 404, "not_found"),
        ("/api/v1/recommendations", {"positive_ids": ["nope"]}, 404, "not_found"),
        ("/api/v1/search/by_example", {}, 422, "invalid_parameter"),
        ("/api/v1/search/by_example", {"title": 5}, 422, "invalid_parameter"),
        ("/api/v1/search/by_example", {"title": " "}, 400, "empty_query"),
        ("/api/v1/search/by_example", {"title": "x" * 20001}, 422, "query_too_long"),
        ("/api/v1/search/by_example", {"paper": [1]}, 422, "invalid_parameter"),
        ("/api/v1/search/by_example", {"paper": "no-such"}, 404, "not_found"),
    ],
)
def test_api_bad_bodies_get_4xx_with_the_error_shape(client, openapi, path, body, status, code):
    if body is None:
        response = client.post(path, data="not json", content_type="application/json")
    else:
        response = client.post(path, json=body)
    assert response.status_code == status, response.get_json()
    validate(openapi, response.get_json(), "Error")
    assert response.get_json()["error"]["code"] == code


def test_api_exports_download_as_files(client, app):
    import csv
    import io

    import bibtexparser

    bib = client.get("/api/v1/search?q=attention+is+all+you+need&mode=keyword&k=20&format=bibtex")
    assert bib.status_code == 200 and bib.mimetype == "application/x-bibtex"
    assert bib.headers["Content-Disposition"] == 'attachment; filename="papersearch-results.bib"'
    library = bibtexparser.parse_string(bib.get_data(as_text=True))
    assert not library.failed_blocks and len(library.entries) == 20
    titles = [e.fields_dict["title"].value for e in library.entries]
    assert any("script" in t for t in titles)  # the hostile paper, escaped and parsed back
    data = client.get("/api/v1/search?q=graph&k=5&format=csv")
    assert data.mimetype == "text/csv"
    assert len(list(csv.DictReader(io.StringIO(data.get_data(as_text=True))))) == 5
    rec = client.post("/api/v1/recommendations?format=json", json={"positive_ids": [1]})
    assert rec.mimetype == "application/json" and "attachment" in rec.headers["Content-Disposition"]
    assert len(json.loads(rec.get_data(as_text=True))["results"]) == 10


# -- HTML pages -----------------------------------------------------------------------


def test_phrase_notice_in_the_api_and_on_the_page(client, openapi):
    body = client.get('/api/v1/search?q="graph+zebra"+learning&mode=keyword&k=5').get_json()
    validate(openapi, body, "SearchResult")
    assert body["notice"].startswith('No papers contain "graph zebra"') and body["results"]
    page = client.get('/?q="graph+zebra"+learning&mode=keyword').get_data(as_text=True)
    assert "No papers contain &#34;graph zebra&#34;; showing results without the quotes" in page
    plain = client.get("/api/v1/search?q=graph+learning&mode=keyword&k=5").get_json()
    assert plain["notice"] is None


def test_sort_by_date_in_the_api_and_on_the_page(client, openapi):
    body = client.get("/api/v1/search?q=graph+learning&mode=keyword&k=10&sort=date").get_json()
    validate(openapi, body, "SearchResult")
    assert body["sort"] == "date"
    keys = [(hit["year"] or 0, hit["date"] or "") for hit in body["results"]]
    assert keys == sorted(keys, reverse=True)
    bad = client.get("/api/v1/search?q=graph&sort=newest")
    assert bad.status_code in (400, 422)
    assert "sort must be one of" in bad.get_json()["error"]["message"]
    page = client.get("/?q=graph+learning&mode=keyword&sort=date").get_data(as_text=True)
    assert "newest first" in page and 'value="date" selected' in page
    assert "sort=date" in page  # the page links keep the order


def test_landing_page(client):
    response = client.get("/")
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert 'name="q"' in html and "Find papers by what they are about" in html


def test_search_page_shows_results_from_the_same_engine_call(client):
    html = " ".join(client.get("/?q=face+landmark+alignment").get_data(as_text=True).split())
    api = client.get("/api/v1/search?q=face+landmark+alignment&k=10").get_json()
    assert 'value="face landmark alignment"' in html
    assert "Results 1–10 of all 701 papers, ranked by similarity and keywords" in html
    assert api["mode"] == "hybrid"  # the default, on the page and in the API
    positions = [html.index(f'href="/papers/{r["id"]}"') for r in api["results"]]
    assert positions == sorted(positions)
    assert 'href="/?q=face+landmark+alignment&amp;page=2"' in html


def test_search_page_two(client):
    html = " ".join(client.get("/?q=face+landmark+alignment&page=2").get_data(as_text=True).split())
    api = client.get("/api/v1/search?q=face+landmark+alignment&k=10&offset=10").get_json()
    assert "Results 11–20 of all 701" in html and '<ol class="results" start="11">' in html
    assert f'href="/papers/{api["results"][0]["id"]}"' in html


@pytest.mark.parametrize(
    "url, status, text",
    [
        ("/?q=", 400, "Type a few words to search for."),
        ("/?q=x&page=abc", 422, "page must be an integer"),
        ("/?q=x&page=0", 422, "page must be from 1 to"),
        ("/?q=x&page=1000", 422, "page must be from 1 to"),
        ("/papers/999999", 404, "No paper with id 999999"),
        ("/no-such-page", 404, "Not found"),
    ],
)
def test_html_bad_input_gets_a_readable_page(client, url, status, text):
    response = client.get(url)
    assert response.status_code == status
    assert text in response.get_data(as_text=True)


def test_paper_page_shows_metadata_and_similar_papers(client):
    hit = client.get("/api/v1/search?q=graph&k=1").get_json()["results"][0]
    similar = client.get(f"/api/v1/papers/{hit['id']}/similar?k=10").get_json()["results"]
    html = client.get(f"/papers/{hit['id']}").get_data(as_text=True)
    assert hit["external_id"] in html and "Similar papers" in html
    for paper in similar:
        assert f'href="/papers/{paper["id"]}"' in html


def test_about_page(client):
    html = client.get("/about").get_data(as_text=True)
    assert "IVF17,Flat" in html and "allenai/specter2_base" in html and "701" in html


def test_hostile_content_is_escaped_everywhere(app, client):
    paper_id = hostile_id(app)
    # The search-results page that lists the hostile paper (the tiny model ranks at random).
    results_page = next(
        html
        for page in range(1, 72)
        if f'href="/papers/{paper_id}"'
        in (html := client.get(f"/?q=attention+is+all+you+need&page={page}").get_data(as_text=True))
    )
    paper_page = client.get(f"/papers/{paper_id}").get_data(as_text=True)
    for html in (results_page, paper_page):
        assert "<script>alert" not in html and "<b>all</b>" not in html
        assert "<img src=x" not in html and "<i>Hacker</i>" not in html
        assert "&lt;script&gt;alert(&#34;owned&#34;)&lt;/script&gt;" in html
        assert 'href="javascript:' not in html


def test_search_page_keeps_mode_and_filters_in_the_url(client):
    html = client.get("/?q=graph+networks&mode=keyword&year=2022-&category=cs").get_data(
        as_text=True
    )
    assert '<option value="keyword" selected>' in html
    assert 'name="year" value="2022-"' in html and 'name="category" value="cs"' in html
    assert "papers that contain the query's words" in html and "<mark>" in html
    assert "format=bibtex" in html and "mode=keyword" in html
    bad = client.get("/?q=graph&year=soon")
    assert bad.status_code == 422 and "year must be" in bad.get_data(as_text=True)


def test_highlights_never_unescape_hostile_text(app, client):
    html = client.get("/?q=attention+script+alert+owned&mode=keyword").get_data(as_text=True)
    assert "<mark>script</mark>" in html or "<mark>attention</mark>" in html.lower()
    assert "<script>" not in html and "<b>all</b>" not in html
    assert "&lt;<mark>script</mark>&gt;" in html  # the tag is text, the word is marked


def test_recommend_and_example_pages(client):
    ids = [r["id"] for r in client.get("/api/v1/search?q=graph&k=3").get_json()["results"]]
    html = client.get(f"/recommend?like={ids[0]}&like={ids[1]}&unlike={ids[2]}").get_data(
        as_text=True
    )
    assert "More like 2 papers" in html and "and unlike:" in html
    assert f'name="like" value="{ids[0]}"' in html  # kept, so that more can be added
    download = client.get(f"/recommend?like={ids[0]}&format=csv")
    assert (
        download.mimetype == "text/csv" and "attachment" in download.headers["Content-Disposition"]
    )
    assert client.get("/recommend").status_code == 422
    assert client.get("/recommend?like=no-such-paper").status_code == 404

    assert "Search with an example paper" in client.get("/example").get_data(as_text=True)
    page = client.post("/example", data={"title": "Graph networks", "abstract": "Molecules."})
    assert page.status_code == 200 and page.get_data(as_text=True).count('class="result"') == 20
    by_id = client.post("/example", data={"paper": str(ids[0])})
    assert by_id.status_code == 200
    bib = client.post("/example", data={"paper": str(ids[0]), "format": "bibtex"})
    assert bib.mimetype == "application/x-bibtex"
    missing = client.post("/example", data={"paper": "nope"})
    assert missing.status_code == 404 and "No paper" in missing.get_data(as_text=True)


def test_by_example_reads_the_same_way_in_the_api_and_the_page(client):
    """One precedence rule: a named paper wins over a pasted title, on both surfaces."""
    ids = [r["id"] for r in client.get("/api/v1/search?q=graph&k=2").get_json()["results"]]
    both = {"paper": str(ids[0]), "title": "Protein folding", "abstract": "Molecules."}
    api = client.post("/api/v1/search/by_example?k=20", json=both).get_json()
    assert api["mode"] == "similar"
    page = client.post("/example", data={**both, "format": "json"}).get_json()
    assert [r["id"] for r in page["results"]] == [r["id"] for r in api["results"]]
    by_title = client.post("/example", data={**both, "paper": " ", "format": "json"}).get_json()
    assert by_title["mode"] == "example"


def test_answers_carry_exactly_the_documented_fields(client, openapi):
    """The component schemas are generated from the result types and closed: an answer
    with a field the document does not describe would fail validation."""
    schemas = openapi["components"]["schemas"]
    for name in ("SearchResult", "SearchHit", "Paper", "Health"):
        assert schemas[name]["additionalProperties"] is False
    hit = client.get("/api/v1/search?q=graph&k=1").get_json()["results"][0]
    hit_schema = schemas["SearchHit"]
    assert set(hit_schema["required"]) == set(hit) < set(hit_schema["properties"])  # omitted:
    assert set(hit_schema["properties"]) - set(hit) == {"connection"}  # connected lists' only
    paper = client.get(f"/api/v1/papers/{hit['id']}").get_json()
    validate(openapi, paper, "Paper")
    assert set(paper) == set(schemas["Paper"]["properties"])


def test_static_assets_are_served_by_the_app(client):
    assert client.get("/static/style.css").status_code == 200
    assert client.get("/static/app.js").status_code == 200
    html = client.get("/").get_data(as_text=True)
    assert "http://" not in html.replace("http://www.w3.org", "") and "https://" not in html


# -- what the pages and the API say ----------------------------------------------------------


def test_papers_are_found_by_their_corpus_id_in_paths(client):
    """arXiv ids (with or without a version) and internal ids all lead to the same paper;
    the page names its canonical address."""
    hit = client.get("/api/v1/search?q=graph&k=1").get_json()["results"][0]
    external = hit["external_id"]
    for ref in (external, f"{external}v2", f"arXiv:{external}", str(hit["id"])):
        page = client.get(f"/papers/{ref}")
        assert page.status_code == 200, ref
        html = page.get_data(as_text=True)
        assert f'<link rel="canonical" href="/papers/{hit["id"]}">' in html
        api = client.get(f"/api/v1/papers/{ref}")
        assert api.get_json()["id"] == hit["id"]
        assert api.headers["Content-Location"] == f"/api/v1/papers/{hit['id']}"
    by_ref = client.get(f"/api/v1/papers/{external}/similar?k=3").get_json()
    by_id = client.get(f"/api/v1/papers/{hit['id']}/similar?k=3").get_json()
    assert by_ref["results"] == by_id["results"]
    assert by_ref["seeds"] == [{"id": hit["id"], "external_id": external,
                                "title": hit["title"], "role": "like"}]  # fmt: skip
    assert client.get("/papers/no-such-paper").status_code == 404
    missing = client.get("/api/v1/papers/10.1000/nothing")
    assert missing.status_code == 404 and missing.get_json()["error"]["code"] == "not_found"


def test_totals_are_worded_for_what_each_mode_counts(client):
    keyword = client.get("/api/v1/search?q=graph+networks&mode=keyword").get_json()
    assert keyword["matches"] == keyword["total"] < 701
    semantic = client.get("/api/v1/search?q=graph+networks&mode=semantic").get_json()
    assert semantic["total"] == 701 and semantic["matches"] is None
    hybrid = client.get("/api/v1/search?q=graph+networks&mode=hybrid").get_json()
    assert hybrid["total"] == 701 and hybrid["matches"] == keyword["total"]
    html = client.get("/?q=graph+networks&mode=keyword").get_data(as_text=True)
    assert f"of {keyword['total']} papers that contain the query's words" in html
    html = client.get("/?q=graph+networks&mode=hybrid").get_data(as_text=True)
    assert f"of all 701 papers, ranked by similarity and keywords ({keyword['total']}" in html


@pytest.mark.parametrize(
    "mode, legend",
    [("semantic", "Euclidean distance between the query's and the paper's SPECTER2 vectors"),
     ("keyword", "BM25 over title, abstract and authors"),
     ("hybrid", "× similarity +")],
)  # fmt: skip
def test_each_mode_says_what_its_score_means(client, mode, legend):
    import html

    page = html.unescape(client.get(f"/?q=graph+networks&mode={mode}").get_data(as_text=True))
    assert legend in page


@pytest.mark.parametrize("query", ["graph", "graph neural networks for molecules",
                                   " ".join(f"word{i}" for i in range(40))])  # fmt: skip
def test_the_hybrid_legend_gives_the_weights_the_engine_used_for_the_query(client, query):
    import html

    answer = client.get("/api/v1/search", query_string={"q": query, "mode": "hybrid"})
    weight = answer.get_json()["semantic_weight"]
    page = client.get("/", query_string={"q": query, "mode": "hybrid"}).get_data(as_text=True)
    legend = f"Score: {weight:.2f} × similarity + {1 - weight:.2f} × BM25"
    assert legend in html.unescape(page)
    assert 0.3 <= weight <= 0.85
    other = client.get("/api/v1/search", query_string={"q": query, "mode": "semantic"})
    assert other.get_json()["semantic_weight"] is None


def test_the_first_page_of_a_fresh_server_offers_only_the_filters_the_corpus_has(
    app_settings, client_on
):
    """The first request to a server that has not loaded its index yet (as ``demo`` once
    served it) must not fall back to offering every filter."""
    client = client_on(app_settings)
    html = client.get("/").get_data(as_text=True)
    assert 'name="venue"' not in html and 'placeholder="NeurIPS"' not in html
    assert 'name="category"' in html


def test_filters_the_corpus_cannot_use_are_not_offered(client):
    """The sample has years, categories and authors, but no venues."""
    html = client.get("/?q=graph").get_data(as_text=True)
    assert 'name="venue"' not in html and "NeurIPS" not in html
    assert "This corpus has no venues, so that filter is not offered." in html
    assert '<option value="date"' in html and 'value="citations"' not in html  # no counts
    assert 'name="category"' in html and 'placeholder="cs.' in html
    assert re.search(r'name="year" value="" placeholder="20\d\d-20\d\d"', html)
    health = client.get("/api/v1/health").get_json()
    assert health["corpus"]["with_venue"] == 0 and health["corpus"]["with_categories"] == 701
    assert health["corpus"]["with_citations"] == 0
    # A venue typed into the URL still shows, so that the user sees what was searched.
    assert 'name="venue" value="ACL"' in client.get("/?q=graph&venue=ACL").get_data(as_text=True)


def test_the_api_reference_page_is_rendered_from_the_document(client, openapi):
    html = client.get("/api").get_data(as_text=True)
    for path in openapi["paths"]:
        assert f"{path}</" in html
    for name in openapi["components"]["schemas"]:
        assert f'id="schema-{name}"' in html
    assert "SPECTER2 embeddings" in html
    assert 'src="http' not in html and 'href="http' not in html  # no external assets
    home = client.get("/").get_data(as_text=True)
    assert '<a href="/api">API</a>' in home


def test_recommendations_with_nothing_checked_say_what_to_do(client):
    response = client.get("/recommend")
    assert response.status_code == 422
    assert "Check “more like this” beside at least one paper" in response.get_data(as_text=True)


def test_search_by_example_shows_the_paper_an_id_resolved_to(client):
    hit = client.get("/api/v1/search?q=graph&k=1").get_json()["results"][0]
    html = client.post("/example", data={"paper": hit["external_id"]}).get_data(as_text=True)
    assert f'“{hit["external_id"]}” is <a href="/papers/{hit["id"]}">' in html


def test_downloads_and_bodies_have_honest_content_types(client):
    data = client.get("/api/v1/search?q=graph&k=5&format=csv")
    assert data.headers["Content-Type"] == "text/csv; charset=utf-8"
    bib = client.get("/api/v1/search?q=graph&k=5&format=bibtex")
    assert bib.headers["Content-Type"] == "application/x-bibtex; charset=utf-8"
    ris = client.get("/api/v1/search?q=graph&k=5&format=ris")
    assert ris.headers["Content-Type"] == "application/x-research-info-systems; charset=utf-8"
    assert ".ris" in ris.headers["Content-Disposition"] and ris.data.startswith(b"TY  - ")
    wrong = client.post("/api/v1/recommendations", data='{"positive_ids": [1]}',
                        content_type="text/plain")  # fmt: skip
    assert wrong.status_code == 400
    message = wrong.get_json()["error"]["message"]
    assert "text/plain" in message and "Content-Type: application/json" in message


def test_pages_and_api_name_the_model_in_use(settings, tmp_path, tiny_model_dirs):
    """Built with a model that is not SPECTER2, nothing says SPECTER2."""
    import shutil

    base = tmp_path / "tinybert"
    shutil.copytree(tiny_model_dirs["base"], base)
    settings = settings.replace(base_model=str(base), paper_adapter="none",
                                query_adapter="none", pooling="mean")  # fmt: skip
    corpus = write_lines(tmp_path / "c.jsonl", sample_lines(50))
    index_corpus(settings, [corpus])
    client = create_app(settings).test_client()
    for url in ("/", "/?q=graph", "/about", "/api", "/api/v1/openapi.json", "/api/v1/health"):
        text = client.get(url).get_data(as_text=True)
        assert "SPECTER2" not in text, url
    assert "tinybert embeddings" in client.get("/").get_data(as_text=True)
    assert client.get("/api/v1/health").get_json()["models"]["name"] == "tinybert"
