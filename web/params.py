"""Request parameters → engine arguments, with the API's error codes for bad ones."""

from __future__ import annotations

from collections.abc import Mapping

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
