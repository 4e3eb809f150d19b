"""The ground every layer stands on: errors a user can act on, the settings, and files
written atomically."""

from __future__ import annotations

from search.base.errors import InvalidRequest, PapersearchError
from search.base.settings import Settings

__all__ = ["InvalidRequest", "PapersearchError", "Settings"]
