"""papersearch eval: run files, judgments, over-long queries, keyword-only and
by-example runs.

The corpus is tests.corpus's 800 sample papers, indexed once per session on each store
(the ``engine`` and ``papers`` fixtures in conftest.py).
"""

from __future__ import annotations

import json

import numpy as np
import pytest
from click.testing import CliRunner

from papersearch import main
from search.engine.engine import SearchEngine
from tests.helpers import cli_args, write_lines


def test_run_files_score_identically_in_ir_measures(tmp_path):
    """Runs with tied scores (BM25 and fused scores tie) are written so that a TREC tool
    ranks them as we did; the measures are ir-measures' own, averaged over every judged
    query (a query without a run scores 0, as trec_eval -c)."""
    import ir_measures
    from ir_measures import RR, R, nDCG

    from search.engine.evaluation import measure, write_run

    rng = np.random.default_rng(0)
    docs = [f"d{i}" for i in range(300)]
    qrels, runs = {}, {}
    for q in range(40):
        judged = rng.choice(docs, size=int(rng.integers(1, 8)), replace=False)
        qrels[f"q{q}"] = {d: int(rng.integers(0, 3)) for d in judged}
        ranked = rng.choice(docs, size=120, replace=False)
        runs[f"q{q}"] = [(str(d), float(round(5 - r / 40))) for r, d in enumerate(ranked)]  # ties
    qrels = {q: j for q, j in qrels.items() if any(g > 0 for g in j.values())}
    ours = measure(runs, qrels)
    write_run(runs, tmp_path / "run.txt", "test")
    lines = (tmp_path / "run.txt").read_text().splitlines()
    assert lines[0].split()[:4] == ["q0", "Q0", runs["q0"][0][0], "1"] and len(lines) == 40 * 120
    theirs = ir_measures.calc_aggregate(
        [nDCG @ 10, R @ 100, RR @ 10],
        [ir_measures.Qrel(q, d, g) for q, j in qrels.items() for d, g in j.items()],
        list(ir_measures.read_trec_run(str(tmp_path / "run.txt"))),
    )
    assert ours == {name: pytest.approx(theirs[m], abs=1e-12)
                    for name, m in (("nDCG@10", nDCG @ 10), ("R@100", R @ 100),
                                    ("RR@10", RR @ 10))}  # fmt: skip
    fewer = measure({q: r for q, r in runs.items() if q != "q0"}, qrels)
    assert fewer["R@100"] < ours["R@100"] or not any(d in qrels["q0"] for d, _ in runs["q0"])


def test_eval_command_on_hand_made_judgments(engine, papers, tmp_path):
    """Two queries, each the full title of a paper (keyword mode puts it first):
    q1 judges that paper relevant: nDCG 1, R@100 1, MRR 1.
    q2 judges its paper (rank 1, gain 1) and a document that is not in the corpus:
    nDCG = 1 / (1 + 1/log2(3)) = 0.61315, R@100 = 0.5, MRR = 1.
    Means: nDCG 0.80657, R@100 0.75, MRR 1."""
    a, b = papers[10], papers[20]
    for paper in (a, b):
        assert engine.search(paper.title, k=1, mode="keyword").results[0].id == paper.id
    queries = write_lines(tmp_path / "queries.jsonl", [
        json.dumps({"_id": "q1", "text": a.title}), json.dumps({"_id": "q2", "text": b.title}),
        json.dumps({"_id": "q3", "text": "not judged, not run"}),
    ])  # fmt: skip
    qrels = write_lines(tmp_path / "qrels.tsv", [
        "query-id\tcorpus-id\tscore", f"q1\t{a.external_id}\t1", f"q2\t{b.external_id}\t1",
        "q2\tnot-in-corpus\t1", f"q3\t{a.external_id}\t0",
    ])  # fmt: skip
    home = cli_args(engine.settings)
    out = CliRunner().invoke(
        main, ["eval", "--queries", str(queries), "--qrels", str(qrels), "--mode", "keyword",
               "--json", *home],
    )  # fmt: skip
    assert out.exit_code == 0, out.output
    report = json.loads(out.output)
    assert report["queries"] == 2 and report["unjudged_queries"] == 1
    assert report["measures"] == ["nDCG@10", "R@100", "RR@10"]
    assert "ann_recall@10" not in report  # keyword alone: no encoder, no exact search
    keyword = report["modes"]["keyword"]
    assert keyword["nDCG@10"] == pytest.approx((1 + 1 / (1 + 1 / np.log2(3))) / 2)
    assert keyword["R@100"] == pytest.approx(0.75)
    assert keyword["RR@10"] == pytest.approx(1.0)
    out = CliRunner().invoke(
        main, ["eval", "--queries", str(queries), "--qrels", str(qrels), "--mode",
               "semantic,hybrid", *home],
    )  # fmt: skip
    assert out.exit_code == 0, out.output
    assert "semantic, exact" in out.output and "hybrid" in out.output
    assert "ANN recall@10" in out.output
    out = CliRunner().invoke(
        main, ["eval", "--queries", str(queries), "--qrels", str(qrels), "--mode", "keyword",
               "--measures", "nDCG@20,AP,P@1", "--per-query", "--run",
               str(tmp_path / "runs" / "kw.txt"), "--json", *home],
    )  # fmt: skip
    assert out.exit_code == 0, out.output
    report = json.loads(out.output)
    assert report["measures"] == ["nDCG@20", "AP", "P@1"]
    assert report["modes"]["keyword"]["P@1"] == pytest.approx(1.0)
    assert report["per_query"]["keyword"]["q1"]["AP"] == pytest.approx(1.0)
    assert report["per_query"]["keyword"]["q2"]["AP"] == pytest.approx(0.5)
    run_lines = (tmp_path / "runs" / "kw.txt").read_text().splitlines()
    assert run_lines[0].split()[:4] == ["q1", "Q0", a.external_id, "1"]
    assert run_lines[0].split()[5] == "papersearch-keyword"
    bad = CliRunner().invoke(
        main, ["eval", "--queries", str(queries), "--qrels", str(qrels), "--measures",
               "nDCG@ten", *home],
    )  # fmt: skip
    assert bad.exit_code == 1 and "not a measure ir-measures knows" in bad.output
    bad = CliRunner().invoke(
        main, ["eval", "--queries", str(queries), "--qrels", str(qrels), "--mode", "fuzzy", *home]
    )
    assert bad.exit_code == 1 and "--mode takes" in bad.output
    broken = write_lines(tmp_path / "broken.tsv", ["q1 only-two"])
    bad = CliRunner().invoke(
        main, ["eval", "--queries", str(queries), "--qrels", str(broken), *home]
    )
    assert bad.exit_code == 1 and "broken.tsv:1" in bad.output


def test_eval_cuts_an_over_long_query_and_reports_what_it_left_out(engine, papers, tmp_path):
    """A 5,000-character query runs, cut to the limits, in every mode; a judged query that
    the queries file lacks is reported, not fatal; nothing aborts the run."""
    a = papers[10]
    long_text = a.title + " " + " ".join(["aerodynamic boundary layer transition"] * 140)
    assert len(long_text) > 5000
    queries = write_lines(tmp_path / "queries.jsonl", [
        json.dumps({"_id": "long", "text": long_text}),
        json.dumps({"_id": "q1", "text": a.title}),
        json.dumps({"_id": "quotes", "text": '""'}),
    ])  # fmt: skip
    qrels = write_lines(tmp_path / "qrels.tsv", [
        "query-id\tcorpus-id\tscore", f"long\t{a.external_id}\t1", f"q1\t{a.external_id}\t1",
        f"quotes\t{a.external_id}\t1", f"gone\t{a.external_id}\t1",
    ])  # fmt: skip
    out = CliRunner().invoke(
        main, ["eval", "--queries", str(queries), "--qrels", str(qrels), "--json",
               *cli_args(engine.settings)],
    )  # fmt: skip
    assert out.exit_code == 0, out.output
    report = json.loads(out.output)
    assert report["queries"] == 3 and report["missing_queries"] == ["gone"]
    assert report["truncated"] == ["long"]
    assert list(report["skipped"]) == ["quotes"] and "The query" in report["skipped"]["quotes"]
    assert set(report["modes"]) == {"semantic", "keyword", "hybrid"}
    out = CliRunner().invoke(
        main, ["eval", "--queries", str(queries), "--qrels", str(qrels),
               *cli_args(engine.settings)],
    )  # fmt: skip
    assert "1 queries cut to the query limits: long" in out.output
    assert "query quotes skipped (scored 0)" in out.output
    assert "1 judged queries are not in the queries file, left out: gone" in out.output


def test_fit_query_cuts_at_a_space_within_the_token_limit():
    from search.engine.evaluation import fit_query
    from search.query.limits import MAX_QUERY_CHARS

    words = " ".join(f"w{i}" for i in range(3000))
    cut = fit_query(words, lambda text: len(text.split()) + 2, 50)
    assert cut == " ".join(f"w{i}" for i in range(48))
    assert len(fit_query(words, None, 0)) <= MAX_QUERY_CHARS
    assert fit_query(words, None, 0).split()[-1] in words.split()  # a whole word
    assert fit_query("short  query", lambda text: 3, 50) == "short query"


def test_keyword_eval_loads_no_encoder(papers, tmp_path, engine):
    from search.engine.evaluation import evaluate, read_judged

    a = papers[10]
    queries = write_lines(tmp_path / "q.jsonl", [json.dumps({"_id": "q", "text": a.title})])
    qrels = write_lines(tmp_path / "r.tsv", [f"q\t{a.external_id}\t1"])
    fresh = SearchEngine.open(engine.settings)
    report = evaluate(fresh, read_judged(queries, qrels), ["keyword"])
    assert report["modes"]["keyword"]["RR@10"] == 1.0
    assert fresh._encoder is None and fresh._query_encoder is None


def test_eval_by_example_leaves_the_query_paper_out(engine, papers, tmp_path):
    """Each query record is an example paper; one that is in the corpus is not its own
    answer, and the run still holds 100 papers."""
    a = papers[10]
    nearest = engine.similar(a.id, k=1).results[0]
    queries = write_lines(tmp_path / "q.jsonl", [
        json.dumps({"_id": a.external_id, "title": a.title, "text": a.abstract}),
    ])  # fmt: skip
    qrels = write_lines(tmp_path / "r.tsv", [f"{a.external_id}\t{nearest.external_id}\t1"])
    out = CliRunner().invoke(
        main, ["eval", "--queries", str(queries), "--qrels", str(qrels), "--by-example",
               "--run", str(tmp_path / "ex.txt"), "--json", *cli_args(engine.settings)],
    )  # fmt: skip
    assert out.exit_code == 0, out.output
    report = json.loads(out.output)
    assert list(report["modes"]) == ["example"] and "semantic_exact" not in report
    assert report["modes"]["example"]["RR@10"] == pytest.approx(1.0)
    run = [line.split() for line in (tmp_path / "ex.txt").read_text().splitlines()]
    assert len(run) == 100 and a.external_id not in {row[2] for row in run}
    assert run[0][2] == nearest.external_id
