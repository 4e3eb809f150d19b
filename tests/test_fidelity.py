"""The fast precision is proven on the model actually loaded (``indexer.fidelity``): a tiny
model whose vectors share a large common component, as SPECTER2's raw CLS vectors do,
fails the check in bf16 and embeds in fp32; all-MiniLM-L6-v2 passes and keeps bf16."""

from __future__ import annotations

import logging
import shutil
from collections import Counter

import numpy as np
import pytest

from indexer import fidelity
from indexer.pipeline import index_corpus
from search.base.settings import Settings
from search.model import encoder as encoder_module
from search.model.encoder import Encoder
from search.store import Store
from tests.helpers import sample_lines, write_lines

COMMON_COMPONENT = 300.0  # bf16 keeps 8 bits: at 300 it rounds in steps of 2


def test_compare_counts_neighbours_and_cosines():
    rng = np.random.default_rng(0)
    exact = rng.normal(size=(200, 16)).astype(np.float32)
    assert fidelity.compare(exact, exact) == pytest.approx((1.0, 1.0))
    overlap, cosine = fidelity.compare(exact, exact + rng.normal(scale=0.5, size=exact.shape))
    assert overlap < 0.8 and cosine < 0.99
    # a common component hides changed neighbours from the cosine, not from the overlap
    shifted = exact + 300
    rounded = np.round(shifted / 2) * 2
    overlap, cosine = fidelity.compare(shifted, rounded)
    assert cosine > 0.9999 and overlap < fidelity.MIN_OVERLAP


@pytest.fixture
def bf16_cpu(monkeypatch):
    """A CPU that ``auto`` takes bf16 on (bf16 runs on any CPU, only slower)."""
    monkeypatch.setattr(encoder_module, "cpu_has_native_bf16", lambda: True)


def model_settings(settings: Settings, base, dirs) -> Settings:
    return settings.replace(base_model=str(base), paper_adapter=str(dirs["proximity"]),
                            query_adapter=str(dirs["adhoc_query"]), precision="auto")  # fmt: skip


@pytest.fixture(scope="module")
def common_component_base(tmp_path_factory, tiny_model_dirs):
    """The tiny base model with a large bias on its last layer's output: every vector
    shares a component of 300 in each dimension."""
    from transformers import AutoModel

    base = tmp_path_factory.mktemp("common") / "base"
    shutil.copytree(tiny_model_dirs["base"], base)
    model = AutoModel.from_pretrained(str(base))
    model.encoder.layer[-1].output.LayerNorm.bias.data += COMMON_COMPONENT
    model.save_pretrained(str(base))
    return base


def stored_vectors(settings: Settings, key: str) -> np.ndarray:
    return Store.open(settings).vectors.all(key)[1]


def cosines(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return (a * b).sum(1) / np.linalg.norm(a, axis=1) / np.linalg.norm(b, axis=1)


def count_encodings(monkeypatch) -> dict[str, Counter]:
    """How many times each paper text is encoded, by precision, from now on."""
    encoded: dict[str, Counter] = {"fp32": Counter(), "bf16": Counter()}
    original = Encoder.encode_papers

    def encode_papers(self, papers, **kwargs):
        encoded[self.precision].update(papers)
        return original(self, papers, **kwargs)

    monkeypatch.setattr(Encoder, "encode_papers", encode_papers)
    return encoded


def test_the_check_sample_grows_with_the_papers_to_embed():
    sizes = {n: fidelity.sample_size(n) for n in (100, 300, 3000, 100_000)}
    assert sizes == {100: 50, 300: 50, 3000: 500, 100_000: 512}


def test_a_model_that_bf16_harms_embeds_in_fp32_and_is_checked_once(
    settings, tmp_path, tiny_model_dirs, common_component_base, bf16_cpu, caplog, monkeypatch
):
    chosen = model_settings(settings, common_component_base, tiny_model_dirs)
    assert Encoder.load(chosen).precision == "bf16"  # what auto would take
    corpus = write_lines(tmp_path / "a.jsonl", sample_lines(600))
    encoded = count_encodings(monkeypatch)
    said = []
    with caplog.at_level(logging.WARNING, logger="papersearch.fidelity"):
        summary = index_corpus(chosen, [corpus], say=said.append)
    [line] = [r.getMessage() for r in caplog.records if r.name == "papersearch.fidelity"]
    assert "bf16 changes this model's rankings" in line and "embedding in fp32" in line
    assert said == [
        "Checking that bf16 keeps this model's rankings: 100 of the 600 papers "
        "encoded in fp32 and bf16 (once per model; the vectors are kept) ..."
    ]
    # The check's fp32 vectors are kept: every paper encoded once in fp32, the sample in bf16.
    assert Counter(encoded["fp32"].values()) == {1: 600}
    assert Counter(encoded["bf16"].values()) == {1: 100}
    assert summary.embedded == 600 and summary.checked == 100
    exact = Encoder.load(chosen.replace(precision="fp32"))
    key = exact.info.key
    check = Store.open(chosen).checks.get(key, "bf16", "cpu")
    assert check.papers == 100 and not check.passed and check.overlap < fidelity.MIN_OVERLAP
    papers = Store.open(chosen).papers.sample_texts(600)  # every paper, in id order
    expected = exact.encode_papers(papers)
    assert cosines(stored_vectors(chosen, key), expected).min() >= 0.9999  # fp32's vectors
    # The next run of this model does not check again, and still embeds in fp32.
    monkeypatch.setattr(fidelity, "compare", lambda *a: pytest.fail("checked twice"))
    more = write_lines(tmp_path / "b.jsonl", sample_lines(660))
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="papersearch.fidelity"):
        assert index_corpus(chosen, [more]).embedded == 60
    assert any("embedding in fp32" in r.getMessage() for r in caplog.records)
    papers = Store.open(chosen).papers.sample_texts(660)
    assert cosines(stored_vectors(chosen, key), exact.encode_papers(papers)).min() >= 0.9999


@pytest.mark.slow  # real MiniLM weights, three encodings of the sample
def test_a_model_that_keeps_its_rankings_in_bf16_embeds_in_bf16(
    settings, tmp_path, minilm_dir, bf16_cpu
):
    """all-MiniLM-L6-v2 (real weights, normalised vectors) keeps its neighbours in bf16.
    (The tiny random model does not: its vectors are nearly one vector.)"""
    chosen = settings.replace(base_model=str(minilm_dir), paper_adapter="none",
                              query_adapter="none", pooling="mean", precision="auto")  # fmt: skip
    index_corpus(chosen, [write_lines(tmp_path / "a.jsonl", sample_lines(120))])
    exact = Encoder.load(chosen.replace(precision="fp32"))
    check = Store.open(chosen).checks.get(exact.info.key, "bf16", "cpu")
    assert check.passed and check.overlap >= fidelity.MIN_OVERLAP
    assert check.min_cosine >= fidelity.MIN_COSINE
    papers = Store.open(chosen).papers.sample_texts(120)
    similarity = cosines(stored_vectors(chosen, exact.info.key), exact.encode_papers(papers))
    assert similarity.min() >= 0.999 and similarity.min() < 0.99999  # bf16's, not fp32's


def test_explicit_precisions_are_not_second_guessed(settings, tmp_path, tiny_model_dirs):
    chosen = model_settings(settings, tiny_model_dirs["base"], tiny_model_dirs)
    index_corpus(chosen.replace(precision="bf16"), [write_lines(tmp_path / "a.jsonl",
                                                                sample_lines(100))])  # fmt: skip
    key = Encoder.load(chosen.replace(precision="fp32")).info.key
    assert Store.open(chosen).checks.get(key, "bf16", "cpu") is None
