"""``papersearch search``, ``similar``, ``eval``, ``db`` and ``model``: the read path's commands."""

from __future__ import annotations

import json
from pathlib import Path

import click

from search.answers.results import SearchResult, short_authors
from search.base.settings import Settings
from search.cli.options import JSON_OPTION, filter_options, settings_options
from search.query.filters import Filters
from search.query.limits import DEFAULT_MODE, MODES, SORTS


def print_result(result: SearchResult, as_json: bool) -> None:
    """One JSON document (the API's shape) or a readable ranked list."""
    if as_json:
        click.echo(json.dumps(result.to_dict(), ensure_ascii=False))
        return
    click.echo(f"{len(result.results)} of {result.total} papers, {result.took_ms:.1f} ms")
    for hit in result.results:
        authors = short_authors(hit.authors)
        year = f" ({hit.date or hit.year})" if hit.year else ""
        cited = f"  · cited by {hit.citations:,}" if hit.citations is not None else ""
        click.echo(f"\n[{hit.id}] {hit.score:.4f}  {hit.title}{year}{cited}")
        if authors:
            click.echo(f"    {authors}")
        if hit.connection is not None:
            click.echo(f"    {hit.connection.summary}")
        click.echo(f"    {hit.url or hit.external_id}")


@click.command("search")
@click.argument("query")
@click.option("-k", "--k", "k", default=10, show_default=True, help="Number of results.")
@click.option("--offset", default=0, show_default=True, help="Skip this many results.")
@click.option(
    "--mode",
    type=click.Choice(MODES),
    default=DEFAULT_MODE,
    show_default=True,
    help="Ranking: embeddings, BM25 keywords, or both fused.",
)
@click.option(
    "--sort",
    type=click.Choice(SORTS),
    default="relevance",
    show_default=True,
    help="date: the same matches newest first; citations: most cited first.",
)
@filter_options
@JSON_OPTION
@settings_options
def search_command(
    query: str,
    k: int,
    offset: int,
    mode: str,
    sort: str,
    as_json: bool,
    settings: Settings,
    filters: Filters,
) -> None:
    """Search the current index with a free-text QUERY ("quoted phrases" must match in
    keyword mode and rank higher in hybrid mode)."""
    from search.engine.engine import SearchEngine

    engine = SearchEngine.open(settings, light_queries=True)
    result = engine.search(query, k=k, offset=offset, mode=mode, filters=filters, sort=sort)
    print_result(result, as_json)


@click.command("similar")
@click.argument("papers", nargs=-1)
@click.option("--unlike", multiple=True, help="A paper the results should be unlike (repeatable).")
@click.option(
    "--bibtex",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="A BibTeX library (a Zotero, JabRef or Mendeley export): papers like it, its own "
    "left out; it is kept, and its id printed, for its page and feed.",
)
@click.option("--external", is_flag=True, help="Numbers are the corpus's ids, not internal ids.")
@click.option("-k", "--k", "k", default=10, show_default=True, help="Number of results.")
@filter_options
@JSON_OPTION
@settings_options
def similar_command(
    papers: tuple[str, ...],
    unlike: tuple[str, ...],
    bibtex: Path | None,
    external: bool,
    k: int,
    as_json: bool,
    settings: Settings,
    filters: Filters,
) -> None:
    """Papers similar to stored PAPERS (internal ids, the corpus's own ids such as arXiv ids,
    or DOIs); with several, or with --unlike, a recommendation from all of them; with
    --bibtex, papers like a BibTeX library."""
    from search.engine.engine import SearchEngine
    from search.query.paper_refs import paper_ref

    if bool(papers) == bool(bibtex):
        raise click.UsageError("Name stored PAPERS, or a library with --bibtex (not both).")
    engine = SearchEngine.open(settings)
    refs = list(papers) if external else [paper_ref(p) for p in papers]
    if bibtex is not None:
        text = bibtex.read_bytes().decode("utf-8-sig", errors="replace")
        result = engine.recommendations.from_bibtex(text, k=k, filters=filters)
        if not as_json:
            click.echo(f"library {result.library.id}: {result.library.matched} of "
                       f"{result.library.entries} entries in the corpus")  # fmt: skip
    elif len(refs) == 1 and not unlike:
        result = engine.similar(engine.resolve_paper(refs[0]).id, k=k, filters=filters)
    else:
        result = engine.recommendations.recommend(refs, list(unlike), k=k, filters=filters)
    print_result(result, as_json)


@click.command("eval")
@click.option(
    "--queries",
    "queries_path",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="BEIR queries.jsonl (_id, text; title for --by-example).",
)
@click.option(
    "--qrels",
    "qrels_path",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="BEIR qrels TSV (query-id, corpus-id, score) or TREC qrels.",
)
@click.option(
    "--links", default=500, show_default=True,
    help="Where the corpus has citations: hide one reference of this many papers and report "
    "how often connected papers (links and text) and similar papers (text) find it; 0: no.",
)  # fmt: skip
@click.option(
    "--mode", "modes", default="semantic,keyword,hybrid", show_default=True,
    help="One mode or a comma-separated list.",
)  # fmt: skip
@click.option(
    "--measures", default="nDCG@10,R@100,RR@10", show_default=True,
    help="ir-measures names, comma-separated (e.g. nDCG@20,AP,R@1000).",
)  # fmt: skip
@click.option(
    "--run", "run_file", type=click.Path(dir_okay=False, path_type=Path),
    help="Write each run as a TREC run file (qid Q0 docid rank score tag): this path, "
    "with the run's name before the suffix when there are several (run.hybrid.txt).",
)  # fmt: skip
@click.option("--per-query", is_flag=True, help="Also print each query's measures.")
@click.option(
    "--by-example", is_flag=True,
    help="Each query record (title and text) is an example paper, searched as by example; "
    "the query's own paper is left out.",
)  # fmt: skip
@JSON_OPTION
@settings_options
def eval_command(
    queries_path: Path | None,
    qrels_path: Path | None,
    links: int,
    modes: str,
    measures: str,
    run_file: Path | None,
    per_query: bool,
    by_example: bool,
    as_json: bool,
    settings: Settings,
) -> None:
    """Measure the current index on judged queries (--queries and --qrels): each mode's
    measures (ir-measures), exact search for comparison, and the ANN's recall@10 (the
    corpus indexed with its document ids as external ids, as `papersearch index` does for
    BEIR corpora); and, where the corpus has citations, how well its links find a paper's
    hidden references (--links)."""
    from search.engine.engine import SearchEngine

    if (queries_path is None) != (qrels_path is None):
        raise click.UsageError("Give --queries and --qrels together.")
    engine = SearchEngine.open(settings)
    recovery = link_recovery(engine, links)
    if queries_path is None:
        if recovery is None:
            raise click.UsageError("Give --queries and --qrels (this build has no citations "
                                   "to measure by --links).")  # fmt: skip
        click.echo(json.dumps({"links": recovery}) if as_json else links_line(recovery))
        return
    report = judged_report(engine, queries_path, qrels_path, modes, measures, run_file,
                           per_query, by_example, as_json)  # fmt: skip
    if recovery is not None:
        report["links"] = recovery
    if as_json:
        click.echo(json.dumps(report))
        return
    for line in eval_table(report, engine.index.ntotal, per_query):
        click.echo(line)
    if recovery is not None:
        click.echo(links_line(recovery))


def link_recovery(engine, papers: int) -> dict | None:
    """``search.engine.link_recovery`` on ``papers`` papers, where the build has links."""
    from search.engine import link_recovery as recovery

    if papers <= 0 or not engine.citations.available or not engine.citations.graph.edges:
        return None
    measured = recovery.measure(engine, papers)
    return measured.to_dict() if measured is not None else None


def links_line(found: dict) -> str:
    def shares(r: dict) -> str:
        return f"top 10 {r['hits_10']:.1%}, top 100 {r['hits_100']:.1%}, MRR {r['mrr']:.3f}"

    return (
        f"links: one reference hidden from each of {found['papers']:,} papers; found by "
        f"connected papers (links and text): {shares(found['connected'])}; by similar "
        f"papers (text alone): {shares(found['similar'])}"
    )


def judged_report(engine, queries_path: Path, qrels_path: Path, modes: str, measures: str,
                  run_file: Path | None, per_query: bool, by_example: bool,
                  as_json: bool) -> dict:  # fmt: skip
    """The judged queries' report (``search.engine.evaluation.evaluate``)."""
    from tqdm import tqdm

    from search.engine.evaluation import evaluate, parse_measures, parse_modes, read_judged

    chosen = ["example"] if by_example else parse_modes(modes)
    wanted = parse_measures(measures)
    judged = read_judged(queries_path, qrels_path)
    # Several runs: more than one mode, or a mode that encodes queries (exact search too).
    several = len(chosen) > 1 or not (by_example or chosen == ["keyword"])

    def run_path(name: str) -> Path:
        if not several:
            return run_file
        return run_file.with_name(f"{run_file.stem}.{name}{run_file.suffix or '.txt'}")

    progress_bar = tqdm(total=len(judged.queries) * len(chosen), unit="query",
                        disable=True if as_json else None)  # fmt: skip
    with progress_bar as bar:
        return evaluate(
            engine, judged, chosen, progress=bar.update, measures=wanted, by_example=by_example,
            with_per_query=per_query, run_path=run_path if run_file else None,
        )  # fmt: skip


def eval_table(report: dict, papers: int, per_query: bool) -> list[str]:
    """``papersearch eval``'s report as text: a row of measures per run, the ANN's recall,
    the run files, each query's measures when asked, and the notes."""
    from search.engine.evaluation import DEPTH

    names = report["measures"]
    lines = [f"{report['queries']} queries, {papers:,} papers indexed",
             f"{'run':<16}" + "".join(f"{name:>10}" for name in names)]  # fmt: skip
    rows = list(report["modes"].items())
    if "semantic_exact" in report:
        rows.append(("semantic, exact", report["semantic_exact"]))
    lines += [f"{mode:<16}" + "".join(f"{scores[name]:>10.4f}" for name in names)
              for mode, scores in rows]  # fmt: skip
    if "ann_recall@10" in report:
        lines.append(f"ANN recall@10 against exact search: {report['ann_recall@10']:.4f}, "
                     f"recall@{DEPTH}: {report[f'ann_recall@{DEPTH}']:.4f}")  # fmt: skip
    lines += [f"run file ({run}): {path}" for run, path in report.get("run_files", {}).items()]
    if per_query:
        lines.append("\nrun\tquery\t" + "\t".join(names))
        lines += [f"{run}\t{query_id}\t" + "\t".join(f"{scores[n]:.4f}" for n in names)
                  for run, table in report["per_query"].items()
                  for query_id, scores in table.items()]  # fmt: skip
    return lines + eval_notes(report)


def eval_notes(report: dict) -> list[str]:
    """What the run did to its queries, one line each: nothing is dropped unsaid."""
    lines = []
    if report["truncated"]:
        lines.append(f"{len(report['truncated'])} queries cut to the query limits: "
                     f"{', '.join(report['truncated'][:10])}")  # fmt: skip
    for query_id, why in report["skipped"].items():
        lines.append(f"query {query_id} skipped (scored 0): {why}")
    if report["missing_queries"]:
        lines.append(f"{len(report['missing_queries'])} judged queries are not in the queries "
                     f"file, left out: {', '.join(report['missing_queries'][:10])}")  # fmt: skip
    if report["unjudged_queries"]:
        lines.append(f"{report['unjudged_queries']} queries have no relevant judgment, left out")
    return lines


@click.group("model")
def model_group() -> None:
    """Model files."""


@model_group.command("download")
@click.option(
    "--to", "target", type=click.Path(path_type=Path), help="Directory (default: the HF cache)."
)
@settings_options
def model_download(target: Path | None, settings: Settings) -> None:
    """Fetch the base model and both adapters, for machines that will run offline."""
    from search.model.source import PACKAGE_PREFIX, download

    wanted = {
        "PAPERSEARCH_BASE_MODEL": settings.base_model,
        "PAPERSEARCH_PAPER_ADAPTER": settings.paper_adapter,
        "PAPERSEARCH_QUERY_ADAPTER": settings.query_adapter,
    }
    lines = []
    for variable, spec in wanted.items():
        if not spec or spec.startswith(PACKAGE_PREFIX) or Path(spec).expanduser().is_dir():
            continue
        sub = target / spec.partition("@")[0].replace("/", "--") if target else None
        got = download(spec, settings.model_revision, sub)
        click.echo(f"{spec}: {got.path}", err=True)
        lines.append(f"export {variable}={got.path}")
    if target:
        click.echo("# on the offline machine, after copying the directory:")
        click.echo("\n".join(lines))
