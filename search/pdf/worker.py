"""The sandbox's child: ``python -m search.pdf.worker LIMITS`` reads one JSON request a
line ({"path": ...}) and answers one JSON line each ({"paper": ..., "sha256": ...} or
{"error": reason}), under an address-space limit."""

from __future__ import annotations

import hashlib
import json
import logging
import sys
from pathlib import Path

from search.pdf.limits import PdfLimits, Unreadable
from search.pdf.text import read_pdf


def answer(path: Path, limits: PdfLimits, references: bool = False) -> dict:
    try:
        with path.open("rb") as fh:
            data = fh.read(limits.max_bytes + 1)
        paper = read_pdf(data, limits, references=references)
        return {"paper": paper.to_dict(), "sha256": hashlib.sha256(data).hexdigest()}
    except Unreadable as exc:
        return {"error": str(exc)}
    except MemoryError:
        return {"error": "needs more memory than a PDF may use (a compression bomb?)"}
    except RecursionError:
        return {"error": "damaged: its objects nest too deep"}
    except OSError as exc:
        return {"error": f"cannot be opened: {exc.strerror or exc}"}
    except Exception as exc:  # noqa: BLE001 - pypdf on a hostile file: that file's reason
        return {"error": f"damaged: {type(exc).__name__}: {str(exc)[:200]}"}


def main() -> None:
    import resource

    limits = PdfLimits(**json.loads(sys.argv[1]))
    _, hard = resource.getrlimit(resource.RLIMIT_AS)  # a lower limit set outside stays
    cap = limits.memory_bytes if hard == resource.RLIM_INFINITY else min(limits.memory_bytes, hard)
    resource.setrlimit(resource.RLIMIT_AS, (cap, hard))
    logging.disable(logging.WARNING)  # pypdf's complaints about a file are not ours
    for line in sys.stdin:
        asked = json.loads(line)
        reply = answer(Path(asked["path"]), limits, asked.get("references", False))
        sys.stdout.write(json.dumps(reply, ensure_ascii=False) + "\n")
        sys.stdout.flush()


if __name__ == "__main__":
    main()
