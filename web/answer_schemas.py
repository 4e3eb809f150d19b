"""JSON Schemas of the engine's answers, generated from the result types in
``search.answers.results`` (their fields, types and described metadata), so that the
OpenAPI document cannot drift from what the API answers."""

from __future__ import annotations

import dataclasses
import types
import typing
from typing import Any

from search.answers.authors import AuthorProfile, CoAuthor, Topic
from search.answers.facts import BuildFacts, CorpusFacts, EncoderFacts, Health, ModelFacts
from search.answers.results import (
    Connection,
    Hit,
    LibraryFacts,
    PaperDetail,
    PdfExample,
    SearchResult,
    Seed,
    Version,
)

# Component name → the result type it is generated from.
RESULT_TYPES = {
    "SearchResult": SearchResult,
    "SearchHit": Hit,
    "Paper": PaperDetail,
    "Health": Health,
    "BuildFacts": BuildFacts,
    "ModelFacts": ModelFacts,
    "EncoderFacts": EncoderFacts,
    "CorpusFacts": CorpusFacts,
    "Seed": Seed,
    "LibraryFacts": LibraryFacts,
    "PdfExample": PdfExample,
    "Connection": Connection,
    "AuthorProfile": AuthorProfile,
    "CoAuthor": CoAuthor,
    "Topic": Topic,
    "Version": Version,
}
_COMPONENT_OF = {cls: name for name, cls in RESULT_TYPES.items()}
_JSON_TYPES = {int: "integer", float: "number", str: "string", bool: "boolean"}


def _ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


def type_schema(kind: Any) -> dict[str, Any]:
    """JSON Schema for a Python type: scalars, ``X | None``, lists, dicts, result types."""
    args = typing.get_args(kind)
    if typing.get_origin(kind) in (typing.Union, types.UnionType):
        inner = type_schema(next(a for a in args if a is not type(None)))
        if "type" in inner and isinstance(inner["type"], str):
            return {**inner, "type": [inner["type"], "null"]}
        return {"anyOf": [inner, {"type": "null"}]}
    if typing.get_origin(kind) is list:
        return {"type": "array", "items": type_schema(args[0])}
    if typing.get_origin(kind) is dict:
        return {"type": "object", "additionalProperties": type_schema(args[1])}
    if kind in _COMPONENT_OF:
        return _ref(_COMPONENT_OF[kind])
    return {"type": _JSON_TYPES[kind]}


def result_schema(cls: type) -> dict[str, Any]:
    """The component schema of a result type: each field's type, description and extra
    JSON Schema keywords; every field is required unless it is left out when None."""
    hints = typing.get_type_hints(cls)
    properties, required = {}, []
    for f in dataclasses.fields(cls):
        extra = dict(f.metadata.get("schema", {}))
        schema = _ref(extra.pop("ref")) if "ref" in extra else type_schema(hints[f.name])
        properties[f.name] = {**schema, **extra, "description": f.metadata["description"]}
        if not f.metadata.get("omit"):
            required.append(f.name)
    description = (cls.__doc__ or "").strip().splitlines()[0]
    return {"type": "object", "description": description, "required": required,
            "properties": properties, "additionalProperties": False}  # fmt: skip
