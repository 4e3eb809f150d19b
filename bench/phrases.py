"""Benchmark: should a "quoted phrase" filter the hybrid ranking, or only boost the papers
that contain it?

    python bench/phrases.py [--database-url URL]

On each dev collection of ``../shared/data`` (SciFact train, Cranfield; indexed once with
all-MiniLM-L6-v2, as ``bench/fusion.py`` does), each query gets a quoted phrase: two
adjacent words of its own that at least 10 papers contain, either the most specific pair
(the fewest papers) or the most common one, as a user quoting a term would. Each quoted query
is ranked in hybrid mode

- as typed without quotes (the baseline),
- with the phrase as a filter (papersearch: both rankings keep only the papers that
  contain it, and fewer than 10 such papers drop the quotes), and
- with the phrase as a boost: the unquoted hybrid ranking, plus ``b`` on the fused score
  of every paper that contains the phrase,

and scored by nDCG@10 against the collection's judgments.
"""

from __future__ import annotations

import argparse
import sys

from fusion import collect
from workload import SHARED

COLLECTIONS = ("scifact-train", "cranfield")
BOOSTS = (0.05, 0.1, 0.2, 0.5)
PAGE = 10  # the page size that decides when quotes are dropped


def quoted_pairs(engine, text: str) -> dict[str, tuple[str, ...]]:
    """The query's most specific and most common adjacent word pairs that at least PAGE
    papers contain as a phrase (fewer, and papersearch drops the quotes: nothing to
    compare): {"specific": pair, "common": pair} (empty when none)."""
    from search.query.keywords import STOPWORDS, WORD

    words = [w.lower() for w in WORD.findall(text)]
    counts = {}
    for a, b in zip(words, words[1:], strict=False):
        if a in STOPWORDS or b in STOPWORDS or (a, b) in counts:
            continue
        found = len(engine.keywords.containing(((a, b),)))
        if found >= PAGE:
            counts[(a, b)] = found
    if not counts:
        return {}
    return {"specific": min(counts, key=counts.get), "common": max(counts, key=counts.get)}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url")
    parser.add_argument("--collections", default=",".join(COLLECTIONS))
    args = parser.parse_args()
    from search.engine.evaluation import fit_query, measure
    from search.query.keywords import KeywordQuery, semantic_text
    from search.ranking.fusion import FUSION_DEPTH, fuse_scores

    worst: dict[str, list[float]] = {}
    for name in args.collections.split(","):
        if not (SHARED / name).exists():
            print(f"skipped: {SHARED / name} not found (the shared data directory)")
            continue
        judged, pairs, external, engine = collect(name, args.database_url)
        encoder = engine.encoder
        for kind in ("specific", "common"):
            runs: dict[str, dict[str, dict[str, float]]] = {"no quotes": {}, "filter": {}}
            runs.update({f"boost {b}": {} for b in BOOSTS})
            dropped = 0
            for query_id, raw in judged.queries.items():
                text = fit_query(raw, encoder.count_tokens, encoder.max_length)
                phrase = quoted_pairs(engine, text).get(kind)
                if phrase is None:
                    continue
                semantic, keyword, keywords = pairs[query_id]
                plain = fuse_scores(semantic, keyword)
                containing = engine.keywords.containing((phrase,))
                inside = set(containing.tolist())
                quoted = KeywordQuery((phrase,), keywords.terms)
                if len(containing) < PAGE:  # papersearch drops the quotes
                    dropped += 1
                    filtered = plain
                else:
                    vector = encoder.encode_query(semantic_text(text))
                    near = engine.retriever.nearest(vector, FUSION_DEPTH, containing)
                    words, _ = engine.keywords.rank(quoted, FUSION_DEPTH)
                    filtered = fuse_scores(near, words)
                runs["no quotes"][query_id] = _run(plain, external)
                runs["filter"][query_id] = _run(filtered, external)
                for b in BOOSTS:
                    boosted = [(i, s + (b if i in inside else 0.0), d) for i, s, d in plain]
                    boosted.sort(key=lambda row: -row[1])
                    runs[f"boost {b}"][query_id] = _run(boosted, external)
            queries = len(runs["filter"])
            print(f"\n{name}, the {kind} pair quoted: {queries} queries ({dropped} with "
                  f"fewer than {PAGE} papers containing it: quotes dropped)")  # fmt: skip
            base = measure(runs["no quotes"], judged.qrels)["nDCG@10"]
            for rule, run in runs.items():
                score = measure(run, judged.qrels)["nDCG@10"]
                worst.setdefault(rule, []).append(score / base if base else 0.0)
                print(f"  {rule:<14}nDCG@10 {score:.4f}  ({score / base:.3f} × no quotes)")
    if worst:
        print("\nworst case over collections and phrase kinds, nDCG@10 / no quotes:")
        for rule, ratios in worst.items():
            print(f"  {rule:<14}{min(ratios):.3f}")
    return 0


def _run(ranked, external) -> list[tuple[str, float]]:
    return [(external[i], -rank) for rank, (i, _, _) in enumerate(ranked[:100])]


if __name__ == "__main__":
    sys.exit(main())
