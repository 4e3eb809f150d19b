"""Measuring the ranking on judged queries (BEIR layout): nDCG@10, Recall@100, MRR@10.

``papersearch eval`` runs each query through the engine, in each mode, against
the index as it is (nothing is indexed here), and compares the semantic
ranking with exact search over the stored vectors. The measures follow
trec_eval's definitions (linear gains, log2 discount, judgments with a
relevance above 0 count as relevant); the tests check them against
``ir-measures``.
"""

from __future__ import annotations

import csv
import gzip
import json
import math
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from search.engine import SearchEngine
from search.errors import EvalDataError, PapersearchError
from search.keywords import semantic_text
from search.limits import MAX_QUERY_CHARS, RANKING_DEPTH
from search.results import MODES
from search.tuning import EXACT_CHUNK_ROWS, exact_top_k, top_k_overlap

DEPTH = 100  # results per query: Recall@100 needs 100


@dataclass(frozen=True)
class Judged:
    queries: dict[str, str]  # query id → text, only queries with a relevant document
    qrels: dict[str, dict[str, int]]  # query id → {document id → relevance}
    missing: tuple[str, ...] = ()  # judged in the qrels, absent from the queries file
    unjudged: tuple[str, ...] = ()  # in the queries file, no relevant document judged


@dataclass
class QueryNotes:
    """What evaluation had to do to a query: reported, never fatal."""

    truncated: set[str] = field(default_factory=set)  # cut to the limits, then run
    skipped: dict[str, str] = field(default_factory=dict)  # query id → why it could not run

    def report(self) -> dict:
        return {"truncated": sorted(self.truncated), "skipped": dict(sorted(self.skipped.items()))}


def ndcg_at(ranked: Sequence[str], judgments: dict[str, int], k: int = 10) -> float:
    gains = sum(judgments.get(doc, 0) / math.log2(rank + 2) for rank, doc in enumerate(ranked[:k]))
    ideal_gains = sorted((g for g in judgments.values() if g > 0), reverse=True)[:k]
    ideal = sum(g / math.log2(rank + 2) for rank, g in enumerate(ideal_gains))
    return gains / ideal if ideal else 0.0


def recall_at(ranked: Sequence[str], judgments: dict[str, int], k: int = 100) -> float:
    relevant = {doc for doc, g in judgments.items() if g > 0}
    return len(relevant.intersection(ranked[:k])) / len(relevant) if relevant else 0.0


def mrr_at(ranked: Sequence[str], judgments: dict[str, int], k: int = 10) -> float:
    for rank, doc in enumerate(ranked[:k], start=1):
        if judgments.get(doc, 0) > 0:
            return 1.0 / rank
    return 0.0


def measure(runs: dict[str, list[str]], qrels: dict[str, dict[str, int]]) -> dict[str, float]:
    """Mean nDCG@10, Recall@100 and MRR@10 over the judged queries (a missing run scores 0)."""
    per_query = [
        (ndcg_at(runs.get(q, []), j), recall_at(runs.get(q, []), j), mrr_at(runs.get(q, []), j))
        for q, j in qrels.items()
    ]
    if not per_query:
        return {"ndcg@10": 0.0, "recall@100": 0.0, "mrr@10": 0.0}
    means = np.mean(np.asarray(per_query), axis=0)
    return {"ndcg@10": float(means[0]), "recall@100": float(means[1]), "mrr@10": float(means[2])}


def read_judged(queries_path: Path, qrels_path: Path) -> Judged:
    """BEIR queries (JSON lines with ``_id`` and ``text``) and qrels (TSV with a
    ``query-id corpus-id score`` header, or TREC's ``qid 0 docid rel``)."""
    qrels = read_qrels(qrels_path)
    texts = read_queries(queries_path)
    judged = {q: j for q, j in qrels.items() if any(g > 0 for g in j.values())}
    missing = tuple(sorted(set(judged) - set(texts)))
    found = {q: j for q, j in judged.items() if q in texts}
    if not found:
        raise EvalDataError(
            f"{qrels_path}: none of its {len(judged)} judged queries is in {queries_path}."
        )
    unjudged = tuple(sorted(set(texts) - set(found)))
    return Judged({q: texts[q] for q in found}, found, missing, unjudged)


def read_queries(path: Path) -> dict[str, str]:
    queries = {}
    for number, line in enumerate(_lines(path), start=1):
        if not line.strip():
            continue
        try:
            obj = json.loads(line)
            queries[str(obj["_id"])] = str(obj["text"])
        except (ValueError, KeyError, TypeError):
            raise EvalDataError(
                f"{path}:{number}: expected a JSON object with _id and text."
            ) from None
    return queries


def read_qrels(path: Path) -> dict[str, dict[str, int]]:
    qrels: dict[str, dict[str, int]] = {}
    rows = list(csv.reader(_lines(path), delimiter="\t"))
    for number, row in enumerate(rows, start=1):
        if len(row) == 1:  # TREC format: whitespace-separated
            row = row[0].split()
        if not row or (number == 1 and row[0].lower() in ("query-id", "query_id", "qid")):
            continue
        if len(row) == 4:
            row = [row[0], row[2], row[3]]
        try:
            query, doc, score = row[0], row[1], int(float(row[2]))
        except (ValueError, IndexError):
            raise EvalDataError(
                f"{path}:{number}: expected 'query-id corpus-id score' (or TREC qrels)."
            ) from None
        qrels.setdefault(query, {})[doc] = score
    return qrels


def fit_query(text: str, count_tokens: Callable[[str], int] | None, max_tokens: int) -> str:
    """``text`` cut to what a search accepts: MAX_QUERY_CHARS characters and, when
    ``count_tokens`` is given, ``max_tokens`` tokens of its encoder text; cut at a space
    where there is one. Unchanged when it fits."""
    text = " ".join(text.split())

    def fits(prefix: str) -> bool:
        return count_tokens is None or count_tokens(semantic_text(prefix)) <= max_tokens

    def cut(length: int) -> str:
        prefix = text[:length]
        if length < len(text) and " " in prefix:
            prefix = prefix[: prefix.rindex(" ")]
        return prefix.rstrip()

    if len(text) <= MAX_QUERY_CHARS and fits(text):
        return text
    low, high = 0, min(len(text), MAX_QUERY_CHARS)  # the longest cut that fits: binary search
    while low < high:
        middle = (low + high + 1) // 2
        low, high = (middle, high) if fits(cut(middle)) else (low, middle - 1)
    return cut(low)


def run_mode(
    engine: SearchEngine,
    judged: Judged,
    mode: str,
    progress: Callable[[int], object] = id,
    notes: QueryNotes | None = None,
) -> dict[str, list[str]]:
    """Each query's ranked external ids (the corpus's document ids) in ``mode``. A query
    longer than a search accepts is cut to fit and one that still cannot run is skipped
    (its run stays empty and scores 0): both are noted in ``notes``."""
    notes = notes if notes is not None else QueryNotes()
    encoder = engine.query_encoder if mode != "keyword" else None
    count_tokens = encoder.count_tokens if encoder else None
    max_tokens = encoder.max_length if encoder else 0
    runs: dict[str, list[str]] = {}
    for query_id, text in judged.queries.items():
        fitted = fit_query(text, count_tokens, max_tokens)
        if fitted != " ".join(text.split()):
            notes.truncated.add(query_id)
        try:
            result = engine.search(fitted, k=DEPTH, mode=mode)
        except PapersearchError as exc:
            notes.skipped[query_id] = str(exc)
            runs[query_id] = []
        else:
            runs[query_id] = [hit.external_id for hit in result.results]
        progress(1)
    return runs


def exact_semantic(engine: SearchEngine, judged: Judged) -> tuple[dict[str, list[str]], float]:
    """Exact nearest neighbours over the stored vectors: the runs, and the index's
    recall@10 against them (the ANN's own error, apart from the encoder's). Queries are
    cut to fit as in :func:`run_mode`."""
    live = engine.store.vectors.live(engine.build.model_key)
    encoder = engine.encoder
    texts = [
        fit_query(t, encoder.count_tokens, encoder.max_length) for t in judged.queries.values()
    ]
    queries = encoder.encode_queries([semantic_text(t) or "?" for t in texts])
    exact_ids = exact_top_k(live.chunks(EXACT_CHUNK_ROWS), queries, DEPTH)
    _, approx = engine.index.search(queries, 10, ranking_depth=RANKING_DEPTH)  # as search does
    ann_recall = top_k_overlap(
        [row[row >= 0] for row in approx], [row[:10][row[:10] >= 0] for row in exact_ids]
    )
    papers = engine.store.papers.get_many(int(i) for i in np.unique(exact_ids))
    runs = {
        query_id: [papers[int(i)].external_id for i in row if int(i) in papers]
        for query_id, row in zip(judged.queries, exact_ids, strict=True)
    }
    return runs, ann_recall


def evaluate(
    engine: SearchEngine,
    judged: Judged,
    modes: Iterable[str] = MODES,
    progress: Callable[[int], object] = id,
) -> dict:
    """The report ``papersearch eval --json`` prints. Exact semantic search is measured
    only when a mode encodes queries: ``keyword`` alone loads no encoder."""
    report: dict = {"modes": {}}
    notes = QueryNotes()
    modes = list(modes)
    for mode in modes:
        runs = run_mode(engine, judged, mode, progress, notes)
        report["modes"][mode] = measure(runs, judged.qrels)
    if set(modes) - {"keyword"}:
        exact_runs, ann_recall = exact_semantic(engine, judged)
        report["semantic_exact"] = measure(exact_runs, judged.qrels)
        report["ann_recall@10"] = ann_recall
    report["queries"] = len(judged.queries)
    report["missing_queries"] = list(judged.missing)
    report["unjudged_queries"] = len(judged.unjudged)
    report.update(notes.report())
    return report


def parse_modes(raw: str) -> list[str]:
    modes = [m.strip().lower() for m in raw.split(",") if m.strip()]
    unknown = [m for m in modes if m not in MODES]
    if not modes or unknown:
        raise EvalDataError(f"--mode takes {', '.join(MODES)} (comma-separated), not {raw!r}.")
    return list(dict.fromkeys(modes))


def _lines(path: Path) -> list[str]:
    try:
        opener = gzip.open if path.suffix == ".gz" else open
        with opener(path, "rt", encoding="utf-8") as fh:
            return fh.read().splitlines()
    except (OSError, UnicodeDecodeError) as exc:
        raise EvalDataError(f"{path}: cannot be read ({exc}).") from exc
