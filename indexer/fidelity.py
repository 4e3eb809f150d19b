"""Proving the fast precision on the model actually loaded, before it embeds a corpus.

``PAPERSEARCH_PRECISION=auto`` takes bf16 on CPUs with native bf16 and fp16
on CUDA. Whether that keeps a model's rankings depends on the model:
all-MiniLM-L6-v2's normalised vectors keep them, but SPECTER2's raw CLS vectors
share a large common component, and rounding it can swamp the small
differences that rank papers (the cosine to the exact vector stays near 1
while neighbours change). So the first time ``auto`` embeds with a model, a
sample of the papers to embed is encoded in fp32 and in the fast mode and compared:
the mean overlap of each paper's 10 nearest neighbours (by the distance the
index ranks with) within the sample, and the minimum cosine between the two
vectors of a paper. Below either bar the run, and every later run of that
model, embeds in fp32, with one log line; the result is recorded per model
key, precision and device (``store.checks``), so the check runs once. The sample's
vectors in the precision chosen are stored as the papers' own, so the check costs
one extra encoding of the sample (a sixth of the papers at most), not two.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

import numpy as np
from tqdm import tqdm

from search.base.settings import Settings
from search.model.encoder import Encoder
from search.store import Store
from search.store.schema import PrecisionCheck

SAMPLE_PAPERS = 512
SAMPLE_SHARE = 6  # at most a sixth of the papers to embed
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


def sample_size(pending: int) -> int:
    """Papers to check on: a sixth of those to embed, within [MIN_SAMPLE, SAMPLE_PAPERS]
    (the check's vectors are kept, so it costs one fp32 encoding of the sample)."""
    return min(SAMPLE_PAPERS, max(MIN_SAMPLE, pending // SAMPLE_SHARE))


def checked_encoder(
    store: Store,
    settings: Settings,
    encoder: Encoder,
    pending: int,
    *,
    say: Callable[[str], object] | None = None,
    progress: bool = False,
) -> tuple[Encoder, int]:
    """(``encoder``, or an fp32 one when ``auto`` chose a fast precision that failed (or
    now fails) the check for this model; papers the check embedded). The first check
    encodes a sample of the ``pending`` papers in both precisions and stores the vectors
    of the one chosen as theirs: no paper is encoded twice in one precision."""
    if settings.precision != "auto" or encoder.precision == "fp32":
        return encoder, 0
    key, precision, device = encoder.info.key, encoder.precision, encoder.device
    record = store.checks.get(key, precision, device)
    if record is None:
        papers = store.vectors.pending_sample(key, sample_size(pending), pending)
        if len(papers) < MIN_SAMPLE:
            return encoder, 0
        if say:
            say(f"Checking that {precision} keeps this model's rankings: {len(papers):,} of "
                f"the {pending:,} papers encoded in fp32 and {precision} (once per model; "
                "the vectors are kept) ...")  # fmt: skip
        exact = Encoder.load(settings.replace(precision="fp32", query_backend="torch"))
        texts = [(p.title, p.abstract) for p in papers]
        with tqdm(total=2 * len(texts), unit="paper", desc=f"checking {precision}",
                  disable=None if progress else True) as bar:  # fmt: skip
            exact_vectors = exact.encode_papers(texts, on_batch=bar.update)
            fast_vectors = encoder.encode_papers(texts, on_batch=bar.update)
        overlap, cosine = compare(exact_vectors, fast_vectors)
        passed = overlap >= MIN_OVERLAP and cosine >= MIN_COSINE
        record = PrecisionCheck(model_key=key, precision=precision, device=device,
                                papers=len(papers), overlap=overlap, min_cosine=cosine,
                                passed=passed)  # fmt: skip
        store.checks.record(record)
        store.vectors.save(key, papers, fast_vectors if passed else exact_vectors)
        if passed:
            if say:
                say(f"{precision} keeps the rankings (top-{NEIGHBOURS} overlap {overlap:.3f}):"
                    f" embedding in {precision}.")  # fmt: skip
            return encoder, len(papers)
        log.warning(_failed(record))
        return exact, len(papers)
    if record.passed:
        return encoder, 0
    log.warning(_failed(record))
    return Encoder.load(settings.replace(precision="fp32", query_backend="torch")), 0


def _failed(record: PrecisionCheck) -> str:
    return (
        f"{record.precision} changes this model's rankings (top-{NEIGHBOURS} overlap "
        f"{record.overlap:.3f}, minimum cosine {record.min_cosine:.4f} against fp32 on "
        f"{record.papers} papers; bars {MIN_OVERLAP}, {MIN_COSINE}): embedding in fp32."
    )
