"""The embedding model: where its weights come from, its identity in a build, and the
encoder (PyTorch, with the ONNX Runtime query path)."""

from __future__ import annotations

from search.model.encoder import Encoder
from search.model.identity import ModelInfo
from search.model.source import resolve

__all__ = ["Encoder", "ModelInfo", "resolve"]
