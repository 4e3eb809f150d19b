"""The web front end through Flask's test client, on a real index of the tiny model."""

from __future__ import annotations

import json

import jsonschema
import pytest

from indexer.pipeline import index_corpus, open_store
from search.settings import Settings
from tests.conftest import sample_lines, write_lines
from web import create_app

HOSTILE_TITLE = '<script>alert("owned")</script> Attention is <b>all</b> you need'


@pytest.fixture(scope="module")
def indexed_home(tmp_path_factory, tiny_encoder):
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
    settings = Settings(home=root / "data")
    index_corpus(settings, [corpus], encoder=tiny_encoder)
    return settings


@pytest.fixture(scope="module")
def app(indexed_home, tiny_encoder):
    return create_app(indexed_home, encoder=tiny_encoder)


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture(scope="module")
def openapi(app):
    return app.test_client().get("/api/v1/openapi.json").get_json()


def validate(openapi: dict, body: dict, schema_name: str) -> None:
    """Check a response body against the served OpenAPI document's schema."""
    schema = {"$ref": f"#/components/schemas/{schema_name}", **openapi}
    jsonschema.validate(body, schema, cls=jsonschema.Draft202012Validator)


def hostile_id(app) -> int:
    with app.app_context():
        return app.extensions["papersearch"].get().store.get_by_external_id("9999.00001").id


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


def test_health_is_503_while_no_index_is_built(tmp_path, tiny_encoder):
    settings = Settings(home=tmp_path)
    open_store(settings)  # migrated, empty
    client = create_app(settings, encoder=tiny_encoder).test_client()
    response = client.get("/api/v1/health")
    assert response.status_code == 503
    assert response.get_json() == {"status": "no_index", "papers": 0, "build": None}
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
        ("/api/v1/search?q=x&k=abc", 400, "invalid_parameter"),
        ("/api/v1/search?q=x&k=1.5", 400, "invalid_parameter"),
        ("/api/v1/search?q=x&k=0", 422, "out_of_range"),
        ("/api/v1/search?q=x&k=101", 422, "out_of_range"),
        ("/api/v1/search?q=x&k=-3", 422, "out_of_range"),
        ("/api/v1/search?q=x&k=99999999999999999999999", 422, "out_of_range"),
        ("/api/v1/search?q=x&offset=-1", 422, "out_of_range"),
        ("/api/v1/search?q=x&offset=1001", 422, "out_of_range"),
        ("/api/v1/search?q=x&offset=zz", 400, "invalid_parameter"),
        ("/api/v1/search?q=" + "x" * 2001, 422, "query_too_long"),
        ("/api/v1/papers/999999", 404, "not_found"),
        ("/api/v1/papers/0", 404, "not_found"),
        ("/api/v1/papers/99999999999999999999999999", 404, "not_found"),
        ("/api/v1/papers/abc", 404, "not_found"),
        ("/api/v1/papers/1/similar?k=0", 422, "out_of_range"),
        ("/api/v1/papers/1/similar?k=x", 400, "invalid_parameter"),
        ("/api/v1/papers/999999/similar", 404, "not_found"),
        ("/api/v1/no-such-endpoint", 404, "not_found"),
    ],
)
def test_api_bad_parameters_get_4xx_with_the_error_shape(client, openapi, url, status, code):
    response = client.get(url)
    assert response.status_code == status
    body = response.get_json()
    validate(openapi, body, "Error")
    assert body["error"]["code"] == code and body["error"]["message"]


def test_api_wrong_method_is_405_json(client):
    response = client.post("/api/v1/search?q=x")
    assert response.status_code == 405
    assert response.get_json()["error"]["code"] == "method_not_allowed"


def test_openapi_document_lists_every_endpoint(openapi):
    assert openapi["openapi"].startswith("3.")
    assert set(openapi["paths"]) == {
        "/api/v1/search",
        "/api/v1/papers/{paper_id}",
        "/api/v1/papers/{paper_id}/similar",
        "/api/v1/health",
        "/api/v1/openapi.json",
    }
    jsonschema.Draft202012Validator.check_schema(openapi["components"]["schemas"]["SearchResult"])


# -- HTML pages -----------------------------------------------------------------------


def test_landing_page(client):
    response = client.get("/")
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert 'name="q"' in html and "Find papers by what they are about" in html


def test_search_page_shows_results_from_the_same_engine_call(client):
    html = " ".join(client.get("/?q=face+landmark+alignment").get_data(as_text=True).split())
    api = client.get("/api/v1/search?q=face+landmark+alignment&k=10").get_json()
    assert 'value="face landmark alignment"' in html
    assert "Results 1–10 of 701 papers" in html
    positions = [html.index(f'href="/papers/{r["id"]}"') for r in api["results"]]
    assert positions == sorted(positions)
    assert 'href="/?q=face+landmark+alignment&amp;page=2"' in html


def test_search_page_two(client):
    html = " ".join(client.get("/?q=face+landmark+alignment&page=2").get_data(as_text=True).split())
    api = client.get("/api/v1/search?q=face+landmark+alignment&k=10&offset=10").get_json()
    assert "Results 11–20 of 701" in html and '<ol class="results" start="11">' in html
    assert f'href="/papers/{api["results"][0]["id"]}"' in html


@pytest.mark.parametrize(
    "url, status, text",
    [
        ("/?q=", 400, "Type a few words to search for."),
        ("/?q=x&page=abc", 400, "page must be an integer"),
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


def test_static_assets_are_served_by_the_app(client):
    assert client.get("/static/style.css").status_code == 200
    assert client.get("/static/app.js").status_code == 200
    html = client.get("/").get_data(as_text=True)
    assert "http://" not in html.replace("http://www.w3.org", "") and "https://" not in html
