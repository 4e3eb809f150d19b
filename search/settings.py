"""One settings object for every command and the web app.

Values come from ``PAPERSEARCH_*`` environment variables; CLI flags passed as
overrides win. Defaults work on a laptop: everything lives under one data
directory (``./papersearch-data``).
"""

from __future__ import annotations

import dataclasses
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

DEFAULT_BASE_MODEL = "allenai/specter2_base"
DEFAULT_PAPER_ADAPTER = "allenai/specter2"
DEFAULT_QUERY_ADAPTER = "allenai/specter2_adhoc_query"

POOLINGS = ("cls", "mean")
DEVICES = ("auto", "cpu", "cuda")
PRECISIONS = ("auto", "fp32", "bf16", "fp16")
QUERY_BACKENDS = ("auto", "torch", "onnx")


class SettingsError(ValueError):
    """A setting has a value that cannot work; the message names the variable."""


@dataclass(frozen=True)
class Settings:
    home: Path = Path("papersearch-data")
    database_url: str = ""
    base_model: str = DEFAULT_BASE_MODEL
    paper_adapter: str | None = DEFAULT_PAPER_ADAPTER
    query_adapter: str | None = DEFAULT_QUERY_ADAPTER
    model_revision: str = "main"
    pooling: str = "cls"
    device: str = "auto"
    precision: str = "auto"
    query_backend: str = "auto"  # queries through PyTorch or an ONNX Runtime export
    max_length: int = 512
    batch_size: int = 8
    nlist: int | None = None
    nprobe: int | None = None
    index_memory: int | None = None  # bytes the index's vectors may take (None: no limit)
    keep_builds: int = 3
    reload_seconds: float = 2.0
    # Longest a request waits to have its query encoded before a 503 (busy) answer.
    query_timeout: float = 10.0
    # Requests per client address and minute (web only, per worker process); None: no limit.
    rate_limit: int | None = None

    def __post_init__(self) -> None:
        for name in ("paper_adapter", "query_adapter"):  # "none" means no adapter
            value = getattr(self, name)
            if value is not None and value.strip().lower() in ("", "none"):
                object.__setattr__(self, name, None)
        if self.pooling not in POOLINGS:
            raise SettingsError(
                f"PAPERSEARCH_POOLING must be one of {POOLINGS}, not {self.pooling!r}"
            )
        if self.precision not in PRECISIONS:
            raise SettingsError(
                f"PAPERSEARCH_PRECISION must be one of {PRECISIONS}, not {self.precision!r}"
            )
        if self.query_backend not in QUERY_BACKENDS:
            raise SettingsError(
                f"PAPERSEARCH_QUERY_BACKEND must be one of {QUERY_BACKENDS}, "
                f"not {self.query_backend!r}"
            )
        if self.device not in DEVICES:
            raise SettingsError(f"PAPERSEARCH_DEVICE must be one of {DEVICES}, not {self.device!r}")
        if self.reload_seconds <= 0:
            raise SettingsError("PAPERSEARCH_RELOAD_SECONDS must be a positive number")
        if self.query_timeout <= 0:
            raise SettingsError("PAPERSEARCH_QUERY_TIMEOUT must be a positive number")
        for name in ("max_length", "batch_size", "keep_builds"):
            if getattr(self, name) < 1:
                raise SettingsError(f"{name} must be a positive integer")
        for name in ("nlist", "nprobe", "index_memory", "rate_limit"):
            value = getattr(self, name)
            if value is not None and value < 1:
                raise SettingsError(f"PAPERSEARCH_{name.upper()} must be a positive integer")
        if not self.base_model:
            raise SettingsError("PAPERSEARCH_BASE_MODEL must not be empty")

    @property
    def sqlite_path(self) -> Path:
        return self.home / "papersearch.sqlite3"

    @property
    def builds_dir(self) -> Path:
        """Each index build is one file in here."""
        return self.home / "builds"

    @property
    def models_dir(self) -> Path:
        """Files derived from the models (the ONNX query encoder), rebuilt when missing."""
        return self.home / "models"

    @property
    def db_url(self) -> str:
        return self.database_url or f"sqlite:///{self.sqlite_path.resolve()}"

    def replace(self, **changes: Any) -> Settings:
        return dataclasses.replace(self, **changes)

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None, **overrides: Any) -> Settings:
        """Read ``PAPERSEARCH_*`` variables; overrides that are not None win."""
        env = os.environ if environ is None else environ
        values: dict[str, Any] = {}
        for f in dataclasses.fields(cls):
            raw = env.get(f"PAPERSEARCH_{f.name.upper()}")
            if raw is not None and raw.strip() != "":
                values[f.name] = _parse(f.name, raw.strip())
        for name, value in overrides.items():
            if value is not None:
                values[name] = _parse(name, value) if isinstance(value, str) else value
        if "home" in values:
            values["home"] = Path(values["home"]).expanduser()
        return cls(**values)


_INT_FIELDS = {"max_length", "batch_size", "nlist", "nprobe", "keep_builds", "rate_limit"}
_FLOAT_FIELDS = {"reload_seconds", "query_timeout"}
_SIZE_UNITS = {
    "b": 1,
    "kb": 10**3,
    "mb": 10**6,
    "gb": 10**9,
    "tb": 10**12,
    "kib": 2**10,
    "mib": 2**20,
    "gib": 2**30,
    "tib": 2**40,
}


def parse_size(raw: str, name: str = "index_memory") -> int:
    """``800MB``, ``2GB``, ``1.5GiB`` → bytes (a bare number must be followed by a unit)."""
    match = re.fullmatch(r"\s*([0-9]+(?:\.[0-9]+)?)\s*([a-zA-Z]*)\s*", raw)
    unit = match.group(2).lower() if match else None
    if match is None or unit not in _SIZE_UNITS:
        raise SettingsError(
            f"PAPERSEARCH_{name.upper()} must be a size with a unit, such as 800MB or 2GB, "
            f"not {raw!r}"
        )
    return int(float(match.group(1)) * _SIZE_UNITS[unit])


def _parse(name: str, raw: str) -> Any:
    if name == "index_memory":
        return parse_size(raw, name)
    if name in _INT_FIELDS:
        try:
            return int(raw)
        except ValueError:
            raise SettingsError(
                f"PAPERSEARCH_{name.upper()} must be an integer, not {raw!r}"
            ) from None
    if name in _FLOAT_FIELDS:
        try:
            return float(raw)
        except ValueError:
            raise SettingsError(
                f"PAPERSEARCH_{name.upper()} must be a number, not {raw!r}"
            ) from None
    if name in ("pooling", "device", "precision", "query_backend"):
        return raw.lower()
    return raw
