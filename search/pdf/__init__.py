"""A paper read from a PDF (title, authors, abstract, DOI, arXiv id), in a sandboxed child
process bounded by size, pages, time and memory: a folder of PDFs as a corpus (the
indexer) and a draft uploaded to search by example (the web) read PDFs the same way."""

from search.pdf.limits import PdfLimits, PdfTooLarge, Unreadable
from search.pdf.sandbox import PdfSandbox
from search.pdf.text import PdfText, read_pdf

__all__ = ["PdfLimits", "PdfSandbox", "PdfText", "PdfTooLarge", "Unreadable", "read_pdf"]
