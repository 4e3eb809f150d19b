"""Starting from papers: query by example, recommendations, negative examples.

The corpus is tests.corpus's 800 sample papers, indexed once per session on each store
(the ``engine`` and ``papers`` fixtures in conftest.py).
"""

from __future__ import annotations

import numpy as np
import pytest

from search.base.errors import InvalidRequest, PaperNotFound


def test_query_by_example_finds_the_paper_itself(engine, papers):
    paper = papers[42]
    result = engine.search_by_example(paper.title, paper.abstract, k=3)
    assert result.results[0].id == paper.id and result.results[0].distance < 1e-3
    for ref in (paper.id, paper.external_id, f"arXiv:{paper.external_id}v2"):
        assert engine.resolve_paper(ref).id == paper.id
    with_doi = next(p for p in papers if p.doi)
    assert engine.resolve_paper(with_doi.doi.lower()).id == with_doi.id
    assert engine.resolve_paper("https://doi.org/" + with_doi.doi).id == with_doi.id
    with pytest.raises(PaperNotFound):
        engine.resolve_paper("no-such-paper")
    with pytest.raises(InvalidRequest):
        engine.search_by_example("   ", "abstract only")


def test_recommendations_leave_out_their_inputs(engine):
    seeds = [hit.id for hit in engine.search("galaxies", k=3).results]
    result = engine.recommendations.recommend(seeds[:2], [seeds[2]], k=20)
    assert len(result.results) == 20
    assert not {hit.id for hit in result.results} & set(seeds)
    with pytest.raises(InvalidRequest):
        engine.recommendations.recommend([], [seeds[0]])
    with pytest.raises(InvalidRequest, match="both positive and negative"):
        engine.recommendations.recommend([seeds[0]], [seeds[0]])
    with pytest.raises(InvalidRequest, match="At most"):
        engine.recommendations.recommend(list(range(1, 102)))


def test_negative_examples_move_results_away(engine):
    """Constructed: one positive paper and, as the negative, its nearest neighbour. With the
    negative, the results are farther from it on average."""
    key = engine.build.model_key
    positive = engine.search("superconductivity", k=1).results[0].id
    negative = engine.similar(positive, k=1).results[0].id
    neg_vector = engine.store.vectors.get(negative, key)

    def distance_to_negative(result) -> float:
        vectors = np.stack([engine.store.vectors.get(hit.id, key) for hit in result.results])
        return float(np.linalg.norm(vectors - neg_vector, axis=1).mean())

    plain = engine.recommendations.recommend([positive], k=10)
    away = engine.recommendations.recommend([positive], [negative], k=10)
    assert distance_to_negative(away) > distance_to_negative(plain)
    assert negative not in {hit.id for hit in away.results}
    # With no negatives, a recommendation from one paper is that paper's similar list.
    assert [h.id for h in plain.results] == [h.id for h in engine.similar(positive, k=10).results]
    assert plain.results[0].id == negative
