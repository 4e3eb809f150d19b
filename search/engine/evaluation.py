"""Measuring the ranking on judged queries (BEIR layout), with ``ir-measures``.

``papersearch eval`` runs each query through the engine, in each mode (or, with
``by_example``, each query record as an example paper), against the index as it
is (nothing is indexed here), and compares the semantic ranking with exact
search over the stored vectors. The measures are ir-measures' (``nDCG@10``,
``R@100``, ``RR@10`` by default; any names it parses), computed by it, from the
same runs that ``--run`` writes as TREC run files, so a run file scores the
same in any TREC tool.
"""

from __future__ import annotations

import csv
import functools
import gzip
import json
import math
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from search.ann.tuning import EXACT_CHUNK_ROWS, exact_top_k, top_k_overlap
from search.base.errors import EvalDataError, PapersearchError
from search.engine.engine import SearchEngine
from search.query.keywords import semantic_text
from search.query.limits import MAX_EXAMPLE_CHARS, MAX_QUERY_CHARS, MODES, RANKING_DEPTH

DEPTH = 100  # results per query: Recall@100 needs 100


@dataclass(frozen=True)
class Judged:
    queries: dict[str, str]  # query id → text, only queries with a relevant document
    qrels: dict[str, dict[str, int]]  # query id → {document id → relevance}
    missing: tuple[str, ...] = ()  # judged in the qrels, absent from the queries file
    unjudged: tuple[str, ...] = ()  # in the queries file, no relevant document judged
    titles: dict[str, str] = field(default_factory=dict)  # query id → its record's title


@dataclass
class QueryNotes:
    """What evaluation had to do to a query: reported, never fatal."""

    truncated: set[str] = field(default_factory=set)  # cut to the limits, then run
    skipped: dict[str, str] = field(default_factory=dict)  # query id → why it could not run

    def report(self) -> dict:
        return {"truncated": sorted(self.truncated), "skipped": dict(sorted(self.skipped.items()))}


Run = dict[str, list[tuple[str, float]]]  # query id → [(document id, score)], best first
DEFAULT_MEASURES = "nDCG@10,R@100,RR@10"


def parse_measures(raw: str) -> list:
    """ir-measures names, comma-separated (``nDCG@20,AP,R@1000``)."""
    import ir_measures

    measures = []
    for name in (n.strip() for n in raw.split(",")):
        if not name:
            continue
        try:
            measures.append(ir_measures.parse_measure(name))
        except (ValueError, NameError, SyntaxError, TypeError, AttributeError):
            raise EvalDataError(
                f"--measures: {name!r} is not a measure ir-measures knows "
                "(e.g. nDCG@10, R@100, RR@10, AP, P@5)."
            ) from None
    if not measures:
        raise EvalDataError("--measures needs at least one measure.")
    return list(dict.fromkeys(measures))


def scored_docs(runs: Run) -> list:
    """The runs as ir-measures' scored documents, scores made strictly decreasing down each
    ranking (ties nudged apart in rank order), so any TREC tool ranks them as we did."""
    import ir_measures

    docs = []
    for query_id, ranking in runs.items():
        previous = math.inf
        for doc_id, score in ranking:
            score = min(float(score), math.nextafter(previous, -math.inf))
            docs.append(ir_measures.ScoredDoc(query_id, doc_id, score))
            previous = score
    return docs


def measure(runs: Run, qrels: dict[str, dict[str, int]], measures: Sequence | None = None
            ) -> dict[str, float]:  # fmt: skip
    """Each measure's mean over the judged queries (a query without a run scores 0)."""
    import ir_measures

    measures = list(measures or parse_measures(DEFAULT_MEASURES))
    if not qrels:
        return {str(m): 0.0 for m in measures}
    qrel_list = _qrels(qrels)
    totals = dict.fromkeys(measures, 0.0)
    for metric in ir_measures.iter_calc(measures, qrel_list, scored_docs(runs)):
        totals[metric.measure] += metric.value
    return {str(m): totals[m] / len(qrels) for m in measures}


def per_query(runs: Run, qrels: dict[str, dict[str, int]], measures: Sequence
              ) -> dict[str, dict[str, float]]:  # fmt: skip
    """Each judged query's measures (0 for a query without a run)."""
    import ir_measures

    table = {q: {str(m): 0.0 for m in measures} for q in qrels}
    for metric in ir_measures.iter_calc(list(measures), _qrels(qrels), scored_docs(runs)):
        table[metric.query_id][str(metric.measure)] = metric.value
    return table


def write_run(runs: Run, path: Path, tag: str) -> None:
    """A TREC run file: ``qid Q0 docid rank score tag``, one line per ranked document."""
    path.parent.mkdir(parents=True, exist_ok=True)
    by_query: dict[str, list] = {}
    for doc in scored_docs(runs):
        by_query.setdefault(doc.query_id, []).append(doc)
    with open(path, "w", encoding="utf-8") as fh:
        for query_id, docs in by_query.items():
            for rank, doc in enumerate(docs, start=1):
                fh.write(f"{query_id} Q0 {doc.doc_id} {rank} {doc.score!r} {tag}\n")


def _qrels(qrels: dict[str, dict[str, int]]) -> list:
    import ir_measures

    return [ir_measures.Qrel(q, d, g) for q, judged in qrels.items() for d, g in judged.items()]


def read_judged(queries_path: Path, qrels_path: Path) -> Judged:
    """BEIR queries (JSON lines with ``_id`` and ``text``) and qrels (TSV with a
    ``query-id corpus-id score`` header, or TREC's ``qid 0 docid rel``)."""
    qrels = read_qrels(qrels_path)
    texts, titles = read_queries(queries_path)
    judged = {q: j for q, j in qrels.items() if any(g > 0 for g in j.values())}
    missing = tuple(sorted(set(judged) - set(texts)))
    found = {q: j for q, j in judged.items() if q in texts}
    if not found:
        raise EvalDataError(
            f"{qrels_path}: none of its {len(judged)} judged queries is in {queries_path}."
        )
    unjudged = tuple(sorted(set(texts) - set(found)))
    return Judged({q: texts[q] for q in found}, found, missing, unjudged,
                  {q: titles[q] for q in found if q in titles})  # fmt: skip


def read_queries(path: Path) -> tuple[dict[str, str], dict[str, str]]:
    """(query id → text, query id → title for the records that have one)."""
    queries, titles = {}, {}
    for number, line in enumerate(_lines(path), start=1):
        if not line.strip():
            continue
        try:
            obj = json.loads(line)
            queries[str(obj["_id"])] = str(obj["text"])
            if isinstance(obj.get("title"), str) and obj["title"].strip():
                titles[str(obj["_id"])] = obj["title"]
        except (ValueError, KeyError, TypeError):
            raise EvalDataError(
                f"{path}:{number}: expected a JSON object with _id and text."
            ) from None
    return queries, titles


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
) -> Run:
    """Each query's ranking in ``mode`` as (external id, score) pairs. A query longer than
    a search accepts is cut to fit and one that still cannot run is skipped (its run stays
    empty and scores 0): both are noted in ``notes``."""
    notes = notes if notes is not None else QueryNotes()
    encoder = engine.query_encoder if mode != "keyword" else None
    count_tokens = encoder.count_tokens if encoder else None
    max_tokens = encoder.max_length if encoder else 0
    runs: Run = {}
    for query_id, text in judged.queries.items():
        fitted = fit_query(text, count_tokens, max_tokens)
        if fitted != " ".join(text.split()):
            notes.truncated.add(query_id)
        search = functools.partial(engine.search, fitted, k=DEPTH, mode=mode)
        runs[query_id] = _ranking(query_id, notes, search)
        progress(1)
    return runs


def run_by_example(
    engine: SearchEngine,
    judged: Judged,
    progress: Callable[[int], object] = id,
    notes: QueryNotes | None = None,
) -> Run:
    """Each query record as an example paper (its title and text, embedded as papers are:
    the query-by-example path), the query's own paper left out when the corpus holds it."""
    notes = notes if notes is not None else QueryNotes()
    runs: Run = {}
    for query_id, text in judged.queries.items():
        title = judged.titles.get(query_id) or text
        abstract = text if query_id in judged.titles else None
        title = title[:MAX_EXAMPLE_CHARS]
        if abstract:
            abstract = abstract[: max(MAX_EXAMPLE_CHARS - len(title), 0)] or None
        page = functools.partial(engine.search_by_example, title, abstract)
        found = _ranking(query_id, notes, functools.partial(page, k=DEPTH))
        if any(doc == query_id for doc, _ in found):  # itself: one more to fill the depth
            found += _ranking(query_id, notes, functools.partial(page, k=1, offset=DEPTH))
        runs[query_id] = [(doc, score) for doc, score in found if doc != query_id][:DEPTH]
        progress(1)
    return runs


def _ranking(query_id: str, notes: QueryNotes, search: Callable) -> list[tuple[str, float]]:
    try:
        result = search()
    except PapersearchError as exc:
        notes.skipped[query_id] = str(exc)
        return []
    return [(hit.external_id, hit.score) for hit in result.results]


def exact_semantic(engine: SearchEngine, judged: Judged) -> tuple[Run, dict[str, float]]:
    """Exact nearest neighbours over the stored vectors: the runs, and the index's
    recall@10 and recall@100 against them (the ANN's own error, apart from the encoder's;
    recall@100 is what hybrid's candidates get). Queries are cut to fit as in
    :func:`run_mode`."""
    live = engine.store.vectors.live(engine.build.model_key)
    encoder = engine.encoder
    texts = [
        fit_query(t, encoder.count_tokens, encoder.max_length) for t in judged.queries.values()
    ]
    queries = encoder.encode_queries([semantic_text(t) or "?" for t in texts])
    exact_ids = exact_top_k(live.chunks(EXACT_CHUNK_ROWS), queries, DEPTH)
    _, approx = engine.index.search(queries, DEPTH, ranking_depth=RANKING_DEPTH)  # as search does
    ann_recall = {
        f"ann_recall@{k}": top_k_overlap(
            [row[:k][row[:k] >= 0] for row in approx], [row[:k][row[:k] >= 0] for row in exact_ids]
        )
        for k in (10, DEPTH)
    }
    papers = engine.store.papers.get_many(int(i) for i in np.unique(exact_ids))
    runs = {
        query_id: [(papers[int(i)].external_id, float(DEPTH - rank))
                   for rank, i in enumerate(row) if int(i) in papers]
        for query_id, row in zip(judged.queries, exact_ids, strict=True)
    }  # fmt: skip
    return runs, ann_recall


def evaluate(
    engine: SearchEngine,
    judged: Judged,
    modes: Iterable[str] = MODES,
    progress: Callable[[int], object] = id,
    *,
    measures: Sequence | None = None,
    by_example: bool = False,
    with_per_query: bool = False,
    run_path: Callable[[str], Path] | None = None,
) -> dict:
    """The report ``papersearch eval --json`` prints. Exact semantic search is measured
    only when a mode encodes queries: ``keyword`` alone loads no encoder. ``by_example``
    runs each query record as an example paper instead of the modes (run "example").
    ``run_path(name)`` is where each run's TREC file goes (None: not written)."""
    measures = list(measures or parse_measures(DEFAULT_MEASURES))
    report: dict = {"measures": [str(m) for m in measures], "modes": {}}
    notes = QueryNotes()
    runs: dict[str, Run] = {}
    if by_example:
        runs["example"] = run_by_example(engine, judged, progress, notes)
    else:
        for mode in modes:
            runs[mode] = run_mode(engine, judged, mode, progress, notes)
    for name, run in runs.items():
        report["modes"][name] = measure(run, judged.qrels, measures)
    if not by_example and set(runs) - {"keyword"}:
        exact_runs, ann_recall = exact_semantic(engine, judged)
        report["semantic_exact"] = measure(exact_runs, judged.qrels, measures)
        report.update(ann_recall)
        runs["semantic_exact"] = exact_runs
    if with_per_query:
        report["per_query"] = {name: per_query(run, judged.qrels, measures)
                               for name, run in runs.items()}  # fmt: skip
    if run_path is not None:
        report["run_files"] = {}
        for name, run in runs.items():
            path = run_path(name)
            write_run(run, path, f"papersearch-{name}")
            report["run_files"][name] = str(path)
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
