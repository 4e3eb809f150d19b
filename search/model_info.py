"""What produced a vector: the models, their revisions, the pooling and the length.

Stored vectors, index builds and the ONNX query export are all keyed by it,
and a build refuses an encoder whose paper embedding space differs. Kept apart
from ``encoder`` so that the store and the build registry know models without
importing anything that loads one.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass
from typing import Any

from search.errors import ModelMismatch

# The model facts an index build records (and the health endpoint shows).
BUILD_FIELDS = (
    "base_model",
    "base_revision",
    "paper_adapter",
    "paper_adapter_revision",
    "query_adapter",
    "query_adapter_revision",
    "pooling",
    "dim",
)


@dataclass(frozen=True)
class ModelInfo:
    """What produced a vector; two vectors are comparable only if this matches."""

    base_model: str
    base_revision: str
    paper_adapter: str | None
    paper_adapter_revision: str | None
    query_adapter: str | None
    query_adapter_revision: str | None
    pooling: str
    normalize: bool
    dim: int
    max_length: int = 512

    @property
    def key(self) -> str:
        """Identity of the *paper* embedding space (queries do not change stored vectors)."""
        fields = asdict(self)
        for name in ("query_adapter", "query_adapter_revision"):
            fields.pop(name)
        if fields["max_length"] == 512:  # SPECTER2's length: keys made before the field stay
            fields.pop("max_length")
        return hashlib.sha256(json.dumps(fields, sort_keys=True).encode()).hexdigest()[:32]

    def build_fields(self) -> dict[str, Any]:
        """The columns an index build records about the model that made its vectors."""
        return {"model_key": self.key, **{name: getattr(self, name) for name in BUILD_FIELDS}}


def model_facts(build) -> dict[str, Any]:
    """The model facts recorded with an index build."""
    return {name: getattr(build, name) for name in BUILD_FIELDS}


def require_same_model(build, info: ModelInfo) -> None:
    """Stop with a clear message when ``info`` is not the model ``build`` was made with:
    vectors from two models are not comparable, so the results would be meaningless."""
    if info.key == build.model_key:
        return
    raise ModelMismatch(
        f"The index (build {build.id}) was built with {build.base_model} + "
        f"{build.paper_adapter or 'no adapter'} ({build.pooling} pooling), but the configured "
        f"model is {info.base_model} + {info.paper_adapter or 'no adapter'} "
        f"({info.pooling} pooling). Set the same model options, or run `papersearch index` "
        "to build with the new model."
    )
