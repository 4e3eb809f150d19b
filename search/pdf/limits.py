"""The bounds on reading one PDF, and the errors a PDF can be refused with."""

from __future__ import annotations

from dataclasses import dataclass

from search.base.errors import PapersearchError
from search.base.settings import Settings
from search.base.units import format_size


class Unreadable(PapersearchError, ValueError):
    """This PDF cannot be read: the message is the reason (a reject's, or a 422's)."""

    code = "unreadable_pdf"


class PdfTooLarge(Unreadable):
    code = "pdf_too_large"


@dataclass(frozen=True)
class PdfLimits:
    """How much one PDF may cost: its size, its pages, and the seconds and memory its
    reading may take (in the sandbox's child process)."""

    max_bytes: int = 50 * 10**6
    max_pages: int = 2_000
    seconds: float = 20.0
    memory_bytes: int = 2 << 30  # the child's address space: a bomb fails, nothing else

    @classmethod
    def of(cls, settings: Settings) -> PdfLimits:
        return cls(settings.pdf_max_size, settings.pdf_max_pages, settings.pdf_timeout)

    def too_large(self, size: int) -> PdfTooLarge:
        shown, bound = format_size(size), format_size(self.max_bytes)
        if shown == bound:  # "50MB, larger than the 50MB": say it in bytes
            shown, bound = f"{size:,} bytes", f"{self.max_bytes:,} bytes"
        return PdfTooLarge(
            f"{shown}, larger than the {bound} a PDF may be (PAPERSEARCH_PDF_MAX_SIZE)"
        )
