"""Proving the fast precision on the model actually loaded, before it embeds a corpus.

``PAPERSEARCH_PRECISION=auto`` takes bf16 on CPUs with native bf16 and fp16
on CUDA. Whether that keeps a model's rankings depends on the model:
all-MiniLM-L6-v2's normalised vectors keep them, but SPECTER2's raw CLS vectors
share a large common component, and rounding it can swamp the small
differences that rank papers (the cosine to the exact vector stays near 1
while neighbours change). So the first time ``auto`` embeds with a model, a
sample of the corpus is encoded in fp32 and in the fast mode and compared:
the mean overlap of each paper's 10 nearest neighbours (by the distance the
index ranks with) within the sample, and the minimum cosine between the two
vectors of a paper. Below either bar the run, and every later run of that
model, embeds in fp32, with one log line; the result is recorded per model
key, precision and device (``store.checks``), so the check runs once.
"""

from __future__ import annotations

import logging

import numpy as np

from search.encoder import Encoder
from search.schema import PrecisionCheck
from search.settings import Settings
from search.store import Store

SAMPLE_PAPERS = 512
MIN_SAMPLE = 50  # fewer papers than this say little about neighbours: checked next time
NEIGHBOURS = 10
MIN_OVERLAP = 0.95  # mean share of the exact top-10 neighbours that the fast mode keeps
MIN_COSINE = 0.999

log = logging.getLogger("papersearch.fidelity")


def compare(exact: np.ndarray, fast: np.ndarray, k: int = NEIGHBOURS) -> tuple[float, float]:
    """(mean top-k neighbour overlap within the sample, minimum cosine exact↔fast)."""
    k = min(k, len(exact) - 1)

    def neighbours(vectors: np.ndarray) -> np.ndarray:
        v = vectors.astype(np.float64)
        squared = (v * v).sum(1)
        distances = squared[:, None] + squared[None, :] - 2 * v @ v.T
        np.fill_diagonal(distances, np.inf)
        return np.argsort(distances, axis=1, kind="stable")[:, :k]

    a, b = neighbours(exact), neighbours(fast)
    overlap = np.mean([len(np.intersect1d(x, y)) / k for x, y in zip(a, b, strict=True)])
    norms = np.linalg.norm(exact, axis=1) * np.linalg.norm(fast, axis=1)
    cosine = (exact * fast).sum(1) / np.maximum(norms, 1e-12)
    return float(overlap), float(cosine.min())


def checked_encoder(store: Store, settings: Settings, encoder: Encoder) -> Encoder:
    """``encoder``, or an fp32 one when ``auto`` chose a fast precision that failed (or
    now fails) the check for this model."""
    if settings.precision != "auto" or encoder.precision == "fp32":
        return encoder
    key, precision, device = encoder.info.key, encoder.precision, encoder.device
    record = store.checks.get(key, precision, device)
    if record is None:
        papers = store.papers.sample_texts(SAMPLE_PAPERS)
        if len(papers) < MIN_SAMPLE:
            return encoder
        exact = Encoder.load(settings.replace(precision="fp32", query_backend="torch"))
        overlap, cosine = compare(exact.encode_papers(papers), encoder.encode_papers(papers))
        passed = overlap >= MIN_OVERLAP and cosine >= MIN_COSINE
        record = PrecisionCheck(model_key=key, precision=precision, device=device,
                                papers=len(papers), overlap=overlap, min_cosine=cosine,
                                passed=passed)  # fmt: skip
        store.checks.record(record)
        if passed:
            return encoder
        log.warning(_failed(record))
        return exact
    if record.passed:
        return encoder
    log.warning(_failed(record))
    return Encoder.load(settings.replace(precision="fp32", query_backend="torch"))


def _failed(record: PrecisionCheck) -> str:
    return (
        f"{record.precision} changes this model's rankings (top-{NEIGHBOURS} overlap "
        f"{record.overlap:.3f}, minimum cosine {record.min_cosine:.4f} against fp32 on "
        f"{record.papers} papers; bars {MIN_OVERLAP}, {MIN_COSINE}): embedding in fp32."
    )
