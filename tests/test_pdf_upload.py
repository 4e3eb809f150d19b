"""A PDF uploaded to search by example, in the API (multipart) and on the page: its title
and abstract go through the by-example path, and the PDF bounds answer 413 or 422."""

from __future__ import annotations

import io
import json

import pytest

from tests import pdfs
from tests.helpers import sample_lines, settings_on, write_lines


@pytest.fixture(scope="module")
def app_settings(tmp_path_factory, tiny_encoder, module_backend, postgres):
    from indexer.pipeline import index_corpus

    root = tmp_path_factory.mktemp("upload")
    corpus = write_lines(root / "corpus.jsonl", sample_lines(300))
    settings = settings_on(module_backend, root / "data", postgres, "upload")
    index_corpus(settings, [corpus], encoder=tiny_encoder)
    return settings


def a_draft() -> tuple[dict, bytes]:
    """A sample paper whose text Times-Roman can set, as a PDF."""
    for line in sample_lines(300):
        paper = json.loads(line)
        text = paper["title"] + paper["summary"]
        if text.isascii() and "$" not in text and "\\" not in text:
            return paper, pdfs.paper_pdf(paper["title"], paper["summary"])
    raise AssertionError("no plain-text paper in the sample")


def upload(client, data: bytes, path: str = "/api/v1/search/by_example", **fields):
    return client.post(path, data={"pdf": (io.BytesIO(data), "draft.pdf"), **fields},
                       content_type="multipart/form-data")  # fmt: skip


def test_an_uploaded_pdf_finds_what_its_text_finds_by_example(client):
    paper, data = a_draft()
    found = upload(client, data, **{})
    assert found.status_code == 200, found.get_json()
    answer = found.get_json()
    example = answer["example"]
    assert example["title"] == " ".join(paper["title"].split())
    assert example["abstract"] == " ".join(paper["summary"].split())
    assert example["pages"] == 1 and answer["mode"] == "example"
    text = {"title": example["title"], "abstract": example["abstract"]}
    by_text = client.post("/api/v1/search/by_example", json=text)
    expected = by_text.get_json()["results"]
    assert [hit["id"] for hit in answer["results"]] == [hit["id"] for hit in expected]
    assert [hit["score"] for hit in answer["results"]] == [hit["score"] for hit in expected]
    assert answer["results"][0]["external_id"] == paper["id"]  # its own text is nearest
    paged = client.post("/api/v1/search/by_example?k=3&offset=2",
                        data={"pdf": (io.BytesIO(data), "d.pdf")})  # fmt: skip
    assert [h["id"] for h in paged.get_json()["results"]] == [h["id"] for h in expected[2:5]]


def test_the_example_page_takes_a_pdf(client):
    paper, data = a_draft()
    page = upload(client, data, path="/example")
    html = page.get_data(as_text=True)
    assert page.status_code == 200 and "Read from your PDF (1 page)" in html
    assert paper["title"].split()[0] in html and 'class="results"' in html
    ris = upload(client, data, path="/example", format="ris")
    assert ris.status_code == 200 and ris.data.startswith(b"TY  - ")
    form = client.get("/example").get_data(as_text=True)
    assert 'enctype="multipart/form-data"' in form and 'name="pdf" type="file"' in form


@pytest.mark.parametrize("data, status, code, words", [
    (pdfs.encrypted_pdf(), 422, "unreadable_pdf", "encrypted: it needs a password"),
    (pdfs.paper_pdf("Cut", "short text here for it")[:600], 422, "unreadable_pdf", "truncated"),
    (pdfs.long_pdf(2_100), 422, "unreadable_pdf", "2,100 pages, more than the 2,000"),
    (pdfs.page_tree_bomb(), 422, "unreadable_pdf", "page tree holds more than 20,000 pages"),
    (b"%PDF-1.7 nothing else", 422, "unreadable_pdf", "truncated"),
    (b"GIF89a", 422, "unreadable_pdf", "not a PDF"),
    (b"", 422, "unreadable_pdf", "empty"),
])  # fmt: skip
def test_unreadable_uploads_are_a_clear_422(client, data, status, code, words):
    answer = upload(client, data)
    assert answer.status_code == status
    error = answer.get_json()["error"]
    assert error["code"] == code and words in error["message"]
    page = upload(client, data, path="/example")
    assert page.status_code == status and words in page.get_data(as_text=True)


def test_a_pdf_past_the_size_bound_is_a_413(app_settings, client_on):
    client = client_on(app_settings.replace(pdf_max_size=20_000))
    _, small = a_draft()
    assert upload(client, small).status_code == 200
    big = pdfs.long_pdf(200)
    assert len(big) > 20_000
    answer = upload(client, big)
    assert answer.status_code == 413
    assert answer.get_json()["error"]["code"] == "pdf_too_large"
    assert "PAPERSEARCH_PDF_MAX_SIZE" in answer.get_json()["error"]["message"]
    page = upload(client, big, path="/example")
    assert page.status_code == 413 and "PAPERSEARCH_PDF_MAX_SIZE" in page.get_data(as_text=True)


def test_a_pdf_just_past_the_bound_is_told_in_bytes():
    """Not "50MB, larger than the 50MB"."""
    from search.pdf import PdfLimits

    message = str(PdfLimits(max_bytes=50 * 10**6).too_large(50 * 10**6 + 1))
    assert message.startswith("50,000,001 bytes, larger than the 50,000,000 bytes")
