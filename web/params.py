"""Request parameters → engine arguments, with the API's error codes for bad ones."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from flask import request

from search.engine import parse_filters
from search.filters import Filters
from web.errors import ApiError


def int_arg(args: Mapping[str, str], name: str, default: int) -> int:
    raw = args.get(name)
    if raw is None or raw.strip() == "":
        return default
    try:
        return int(raw.strip())
    except ValueError:
        raise ApiError(
            400, "invalid_parameter", f"{name} must be an integer, not {raw[:40]!r}."
        ) from None


def query_arg(args: Mapping[str, str]) -> str:
    query = args.get("q")
    if query is None:
        raise ApiError(400, "missing_query", "The q parameter (the search query) is required.")
    return query


def filters_arg(args: Mapping[str, str]) -> Filters:
    """``year``, ``venue``, ``category``, ``author`` as Semantic Scholar's API takes them."""
    return parse_filters(
        year=args.get("year"),
        venue=args.get("venue"),
        category=args.get("category"),
        author=args.get("author"),
    )


def choice_arg(args: Mapping[str, str], name: str, choices: tuple[str, ...], default: str) -> str:
    raw = (args.get(name) or "").strip().lower()
    if not raw:
        return default
    if raw not in choices:
        raise ApiError(
            422,
            "invalid_parameter",
            f"{name} must be one of {', '.join(choices)}, not {raw[:40]!r}.",
        )
    return raw


def json_body() -> dict[str, Any]:
    """The request's JSON object; anything else is a 400 with the API's error shape."""
    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        raise ApiError(400, "invalid_body", "The request body must be a JSON object.")
    return body


def id_list(body: Mapping[str, Any], name: str) -> list[int | str]:
    """Paper references: internal ids (integers) or external ids / DOIs (strings)."""
    value = body.get(name, [])
    if not isinstance(value, list) or not all(
        (isinstance(v, int) and not isinstance(v, bool)) or isinstance(v, str) for v in value
    ):
        raise ApiError(
            422, "invalid_parameter", f"{name} must be a list of paper ids (integers or strings)."
        )
    return value
