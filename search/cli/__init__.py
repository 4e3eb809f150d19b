"""The read-side commands (``papersearch search``, ``similar``, ``eval``, ``model``) and
the options every command shares."""

from __future__ import annotations

from search.cli.options import settings_options

__all__ = ["settings_options"]
