"""A folder of PDFs as a corpus: built in the test (tests/pdfs.py), indexed with
``papersearch index ./papers/``, then re-indexed after a file is added, one changed and
one deleted; hostile files are counted rejects with their reasons, and nothing else is
lost."""

from __future__ import annotations

import hashlib
import json

import pytest
from click.testing import CliRunner

from indexer.pipeline import run
from papersearch import main
from search.store import Store
from tests import pdfs
from tests.helpers import cli_args

ABSTRACTS = {
    "attention": "We propose the Transformer, a sequence transduction model based solely on "
    "attention mechanisms, dispensing with recurrence and convolutions entirely.",
    "bert": "We introduce BERT, bidirectional encoder representations from transformers, "
    "pre-trained on unlabeled text and fine-tuned for language understanding tasks.",
    "folding": "We predict protein structures from amino acid sequences with a deep network "
    "that reaches experimental accuracy in most cases.",
    "graphs": "Graph neural networks pass messages between neighbouring nodes to learn "
    "representations of molecules, citation networks and social graphs.",
    "draft": "This draft studies retrieval of scientific papers with dense embeddings and "
    "compares them with keyword ranking on several collections.",
}


def build_folder(papers):
    pdfs.write(papers, "attention.pdf", pdfs.paper_pdf(
        "Attention Is All You Need", ABSTRACTS["attention"],
        stamp="arXiv:1706.03762v5 [cs.CL] 6 Dec 2017",
        metadata={"/Author": "Ashish Vaswani; Noam Shazeer; Niki Parmar"}))  # fmt: skip
    pdfs.write(papers, "nlp/bert.pdf", pdfs.paper_pdf(
        "BERT: Pre-training of Deep Bidirectional Transformers", ABSTRACTS["bert"],
        extra_lines=((8.0, "doi:10.18653/v1/N19-1423"),),
        metadata={"/Title": "BERT: Pre-training of Deep Bidirectional Transformers for "
                            "Language Understanding",
                  "/Author": "Jacob Devlin, Ming-Wei Chang and Kenton Lee"}))  # fmt: skip
    pdfs.write(papers, "bio/folding.pdf", pdfs.paper_pdf(
        "Protein structure prediction at experimental accuracy", ABSTRACTS["folding"],
        metadata={"/doi": "10.1038/s41586-021-03819-2"}))  # fmt: skip
    graphs = pdfs.paper_pdf("Message passing on graphs", ABSTRACTS["graphs"])
    pdfs.write(papers, "graphs.pdf", graphs)
    draft = pdfs.paper_pdf("Dense retrieval for science", ABSTRACTS["draft"],
                           metadata={"/Title": "Microsoft Word - draft3.docx"})  # fmt: skip
    pdfs.write(papers, "drafts/draft.pdf", draft)
    # hostile and unreadable files
    pdfs.write(papers, "a-slow.pdf", pdfs.slow_pdf())
    whole = pdfs.paper_pdf("Cut short", ABSTRACTS["graphs"])
    pdfs.write(papers, "broken/truncated.pdf", whole[: len(whole) // 2])
    pdfs.write(papers, "locked.pdf", pdfs.encrypted_pdf())
    pdfs.write(papers, "huge.pdf", pdfs.long_pdf(2_500))
    pdfs.write(papers, "bomb.pdf", pdfs.compression_bomb(100))
    pdfs.write(papers, "fake.pdf", b"<html>a saved web page</html>")
    # not read at all
    pdfs.write(papers, ".hidden.pdf", draft)
    pdfs.write(papers, "notes.txt", b"not a paper")
    return [f"sha256:{hashlib.sha256(data).hexdigest()[:16]}" for data in (graphs, draft)]


def rejects_by_file(path) -> dict[str, str]:
    lines = [json.loads(line) for line in path.read_text().splitlines()]
    return {line["excerpt"]: line["reason"] for line in lines if not line.get("kept")}


def test_a_folder_of_pdfs_is_a_corpus_and_a_reindex_follows_it(
    settings, tmp_path, tiny_model_dirs, tiny_encoder
):
    papers = tmp_path / "papers"
    graphs_id, draft_id = build_folder(papers)
    rejects = tmp_path / "rejects.jsonl"
    out = CliRunner().invoke(main, ["index", str(papers), "--json", "--rejects", str(rejects),
                                    "--pdf-timeout", "2", *cli_args(settings)])  # fmt: skip
    assert out.exit_code == 0, out.output
    summary = json.loads(out.output)
    assert (summary["added"], summary["rejected"], summary["build_id"]) == (5, 6, 1)
    reasons = rejects_by_file(rejects)
    assert reasons["a-slow.pdf"] == "took longer than 2 s to read (PAPERSEARCH_PDF_TIMEOUT)"
    assert reasons["broken/truncated.pdf"].startswith("truncated: the file ends before")
    assert reasons["locked.pdf"] == "encrypted: it needs a password"
    assert reasons["huge.pdf"].startswith("2,500 pages, more than the 2,000")
    assert "compression bomb" in reasons["bomb.pdf"]
    assert reasons["fake.pdf"] == "not a PDF (no %PDF- header)"
    assert len(reasons) == 6

    store = Store.open(settings)
    served = set(store.papers.external_ids().values())
    assert served == {"1706.03762", "10.18653/v1/N19-1423", "10.1038/s41586-021-03819-2",
                      graphs_id, draft_id}  # fmt: skip
    attention = store.papers.get_by_external_id("1706.03762")
    assert attention.title == "Attention Is All You Need"
    assert attention.authors == ["Ashish Vaswani", "Noam Shazeer", "Niki Parmar"]
    assert attention.abstract == ABSTRACTS["attention"]
    assert (attention.year, attention.url) == (2017, "https://arxiv.org/abs/1706.03762")
    bert = store.papers.get_by_external_id("10.18653/v1/N19-1423")
    assert bert.title.endswith("for Language Understanding")  # the document's own title
    assert bert.authors == ["Jacob Devlin", "Ming-Wei Chang", "Kenton Lee"]
    assert bert.doi == "10.18653/v1/N19-1423" and bert.categories == ["nlp"]
    draft = store.papers.get_by_external_id(draft_id)
    assert draft.title == "Dense retrieval for science"  # not the file name Word left
    assert draft.categories == ["drafts"] and draft.abstract == ABSTRACTS["draft"]

    # A new file, a changed one (same DOI, revised abstract), a deleted one.
    pdfs.write(papers, "new/rag.pdf", pdfs.paper_pdf(
        "Retrieval-augmented generation", "Generation conditioned on retrieved passages "
        "from a dense index answers open-domain questions.",
        stamp="arXiv:2005.11401v4 [cs.CL] 12 Apr 2021"))  # fmt: skip
    pdfs.write(papers, "nlp/bert.pdf", pdfs.paper_pdf(
        "BERT revised", ABSTRACTS["bert"] + " This version adds whole word masking.",
        extra_lines=((8.0, "https://doi.org/10.18653/v1/N19-1423"),)))  # fmt: skip
    (papers / "graphs.pdf").unlink()
    again = run(settings.replace(pdf_timeout=2.0), [papers], snapshot=True,
                encoder=tiny_encoder, rejects_path=tmp_path / "rejects2.jsonl")  # fmt: skip
    assert (again.added, again.updated, again.unchanged, again.removed) == (1, 1, 3, 1)
    assert again.rejected == 6 and again.embedded == 2 and again.published
    store = Store.open(settings)
    served = set(store.papers.external_ids().values())
    assert served == {"1706.03762", "10.18653/v1/N19-1423", "10.1038/s41586-021-03819-2",
                      draft_id, "2005.11401"}  # fmt: skip
    assert store.papers.get_by_external_id("10.18653/v1/N19-1423").abstract.endswith("masking.")
    assert rejects_by_file(tmp_path / "rejects2.jsonl") == reasons


def test_one_pdf_file_is_a_corpus_too(tmp_path):
    from indexer.readers import CorpusFormatError, detect_format, read_corpus

    path = pdfs.write(tmp_path, "one.PDF", pdfs.paper_pdf("A single paper", ABSTRACTS["graphs"]))
    assert detect_format(path) == "pdf" and detect_format(tmp_path) == "pdf"
    ((number, record),) = list(read_corpus(path))
    assert number == 1 and record.title == "A single paper" and record.categories == ()
    empty = tmp_path / "empty"
    pdfs.write(empty, "notes.txt", b"no paper here")
    with pytest.raises(CorpusFormatError, match="No PDF under"):
        list(read_corpus(empty))


def test_the_sandbox_child_runs_under_its_memory_cap(tmp_path):
    from search.pdf import PdfLimits, PdfSandbox, Unreadable

    path = pdfs.write(
        tmp_path, "paper.pdf", pdfs.paper_pdf("Title of a paper", ABSTRACTS["graphs"])
    )
    starved = PdfSandbox(PdfLimits(memory_bytes=40 << 20))  # less than pypdf needs
    with starved, pytest.raises(Unreadable, match="memory"):
        starved.read(path)
    with PdfSandbox(PdfLimits()) as sandbox:
        paper, sha256 = sandbox.read(path)
    assert paper.title == "Title of a paper" and len(sha256) == 64


def test_the_sandbox_reads_when_the_process_holds_over_a_thousand_files(tmp_path):
    """A server holds many files (index segments, memory-mapped graphs, client sockets):
    with descriptors past 1023, which select() cannot watch, a PDF is still read (the
    sandbox waits on its child with a selector)."""
    import os
    import resource

    from search.pdf import PdfLimits, PdfSandbox

    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard != resource.RLIM_INFINITY and hard < 1200:
        pytest.skip(f"this machine allows {hard} open files")
    resource.setrlimit(resource.RLIMIT_NOFILE, (max(soft, 1200), hard))
    held = [os.open(os.devnull, os.O_RDONLY) for _ in range(1100)]
    try:
        path = tmp_path / "paper.pdf"
        path.write_bytes(pdfs.paper_pdf("A paper read past a thousand open files",
                                        "Its abstract is read as any other. " * 5))  # fmt: skip
        with PdfSandbox(PdfLimits()) as sandbox:
            text, _ = sandbox.read(path)
        assert text.title == "A paper read past a thousand open files"
    finally:
        for fd in held:
            os.close(fd)
        resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))
