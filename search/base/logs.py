"""Log lines as plain text (the default) or as JSON, one object a line, for every command.

``PAPERSEARCH_LOG_FORMAT=json`` (``--log-format json``) makes each record one JSON
object with its time, level, logger and message, plus the structured fields a
record carries (``extra={"fields": {...}}``): a server's request lines carry the
request id, route, status, latency, search mode and build; the indexer's carry
what it is doing. Log collectors (journald, Loki, Elasticsearch) read them as is.
"""

from __future__ import annotations

import json
import logging
import sys
from datetime import datetime, timezone
from typing import Any

HANDLER_NAME = "papersearch"
TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"


class JsonFormatter(logging.Formatter):
    """One JSON object a record."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, timezone.utc).isoformat(
                timespec="milliseconds"
            ),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        entry.update(getattr(record, "fields", None) or {})
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry, default=str, ensure_ascii=False)


class TextFormatter(logging.Formatter):
    """The message, then its fields as ``key=value``."""

    def __init__(self) -> None:
        super().__init__(TEXT_FORMAT)

    def format(self, record: logging.LogRecord) -> str:
        line = super().format(record)
        fields = getattr(record, "fields", None) or {}
        extra = " ".join(f"{key}={value}" for key, value in fields.items() if value is not None)
        return f"{line} {extra}" if extra else line


def formatter(log_format: str) -> logging.Formatter:
    return JsonFormatter() if log_format == "json" else TextFormatter()


class StderrHandler(logging.StreamHandler):
    """Writes to whatever ``sys.stderr`` is when a record comes (test runners swap it)."""

    def emit(self, record: logging.LogRecord) -> None:
        self.stream = sys.stderr
        super().emit(record)


def configure(log_format: str, level: int = logging.INFO) -> None:
    """Send ``level`` and above to stderr in ``log_format``; called again, it replaces its
    own handler, and leaves handlers that others installed alone."""
    root = logging.getLogger()
    for handler in [h for h in root.handlers if h.get_name() == HANDLER_NAME]:
        root.removeHandler(handler)
    handler = StderrHandler()
    handler.set_name(HANDLER_NAME)
    handler.setFormatter(formatter(log_format))
    root.addHandler(handler)
    if root.getEffectiveLevel() > level:
        root.setLevel(level)
