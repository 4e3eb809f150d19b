"""Result lists as file downloads (BibTeX, RIS, CSV, JSON), for the API and the pages alike."""

from __future__ import annotations

from flask import Response

from search.answers.export import FORMATS, render
from search.answers.results import SearchResult


def file_response(result: SearchResult, fmt: str, name: str) -> Response:
    content_type, extension = FORMATS[fmt]
    return Response(
        render(result, fmt),
        content_type=content_type,
        headers={"Content-Disposition": f'attachment; filename="{name}.{extension}"'},
    )
