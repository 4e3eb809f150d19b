"""Named points in a write run where tests stop the process to prove crash safety.

With ``PAPERSEARCH_PAUSE_AT=<name>`` and ``PAPERSEARCH_PAUSE_FILE=<path>`` set,
a run that reaches that point writes the file and waits, so that a test can
SIGKILL it exactly there. Unset (always, in normal use) this does nothing.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

POINTS = ("embedding", "index-written", "keywords", "keywords-written", "graph", "publish")


def checkpoint(name: str) -> None:
    if os.environ.get("PAPERSEARCH_PAUSE_AT") != name:
        return
    Path(os.environ["PAPERSEARCH_PAUSE_FILE"]).write_text(str(os.getpid()))
    while True:  # until killed
        time.sleep(1)
