"""The ONNX Runtime query encoder: the adapter is in the export, vectors equal PyTorch's,
and a missing, stale or broken export is rebuilt or refused, never used."""

from __future__ import annotations

import logging
import shutil

import numpy as np
import pytest

from search.base.settings import Settings, SettingsError
from search.model.encoder import Encoder
from search.model.onnx_query import (
    OnnxUnavailable,
    choose_query_backend,
    manifest_path,
    tokenizer_path,
)

pytest.importorskip("onnxruntime", reason="pip install 'papersearch[onnx]'")

QUERIES = [
    "graph neural networks",
    "x",
    "A rather long query about the measurement of neutrino oscillation parameters "
    "with reactor experiments and what they tell us about the mass hierarchy " * 3,
    "CRISPR-Cas9 off-target effects",
    "quantum error correction",
]


def cosine_rows(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return (a * b).sum(1) / (np.linalg.norm(a, axis=1) * np.linalg.norm(b, axis=1))


def load(home, **changes) -> Encoder:
    return Encoder.load(Settings(home=home, precision="fp32").replace(**changes))


def onnx_files(home) -> list:
    return sorted((home / "models").glob("*.onnx"))


def test_onnx_queries_equal_pytorch_with_the_adapter_in_the_export(tmp_path, tiny_model_dirs):
    onnx = load(tmp_path, query_backend="onnx")
    torch_ = load(tmp_path, query_backend="torch")
    bare = load(tmp_path, query_backend="torch", query_adapter="none")
    assert (onnx.query_backend, torch_.query_backend) == ("onnx", "torch")
    got, want = onnx.encode_queries(QUERIES), torch_.encode_queries(QUERIES)
    assert cosine_rows(got, want).min() >= 0.9999
    np.testing.assert_allclose(got, want, atol=1e-4)
    # An export without the bottleneck adapter would give the base model's vectors.
    assert cosine_rows(got, bare.encode_queries(QUERIES)).max() < 0.99
    # One at a time (the server's path) equals a padded batch.
    singles = np.stack([onnx.encode_queries([q])[0] for q in QUERIES])
    np.testing.assert_allclose(singles, got, atol=1e-5)
    # Papers still go through PyTorch with the proximity adapter.
    papers = [("A title", "An abstract about things.")]
    np.testing.assert_array_equal(onnx.encode_papers(papers), torch_.encode_papers(papers))


def test_mean_pooling_and_normalisation_are_in_the_onnx_path(tmp_path, tiny_model_dirs):
    base = tmp_path / "st-model"
    shutil.copytree(tiny_model_dirs["base"], base)
    (base / "modules.json").write_text('[{"type": "sentence_transformers.models.Normalize"}]')
    settings = dict(base_model=str(base), paper_adapter="none", query_adapter="none",
                    pooling="mean")  # fmt: skip
    onnx = load(tmp_path, query_backend="onnx", **settings)
    torch_ = load(tmp_path, query_backend="torch", **settings)
    got = onnx.encode_queries(QUERIES)
    np.testing.assert_allclose(np.linalg.norm(got, axis=1), 1.0, atol=1e-5)
    np.testing.assert_allclose(got, torch_.encode_queries(QUERIES), atol=1e-5)


def test_export_is_reused_and_a_broken_one_is_rebuilt(tmp_path, tiny_model_dirs, caplog):
    first = load(tmp_path, query_backend="onnx")
    [path] = onnx_files(tmp_path)
    inode = path.stat().st_ino  # an export writes a new file and renames it over
    want = first.encode_queries(QUERIES)
    load(tmp_path, query_backend="onnx")
    assert path.stat().st_ino == inode  # loaded, not exported again

    path.write_bytes(path.read_bytes()[:1000])  # truncated
    with caplog.at_level(logging.WARNING, logger="papersearch"):
        again = load(tmp_path, query_backend="onnx")
    assert "does not load" in caplog.text
    np.testing.assert_allclose(again.encode_queries(QUERIES), want, atol=1e-5)
    kept = sorted(p.name for p in (tmp_path / "models").iterdir())  # no temp files
    assert kept == sorted([path.name, manifest_path(path).name, tokenizer_path(path).name])


def test_a_stale_export_is_detected_by_its_vectors(tmp_path, tiny_model_dirs, caplog):
    """A file that loads but computes something else (here: the graph without the
    adapter) is caught by comparing with PyTorch, and exported again."""
    load(tmp_path / "bare", query_backend="onnx", query_adapter="none")
    [bare_graph] = onnx_files(tmp_path / "bare")
    want = load(tmp_path, query_backend="torch").encode_queries(QUERIES)
    load(tmp_path, query_backend="onnx")
    [path] = onnx_files(tmp_path)
    shutil.copyfile(bare_graph, path)
    with caplog.at_level(logging.WARNING, logger="papersearch"):
        encoder = load(tmp_path, query_backend="onnx")
    assert "stale" in caplog.text
    np.testing.assert_allclose(encoder.encode_queries(QUERIES), want, atol=1e-4)


def test_an_export_that_cannot_match_is_refused(tmp_path, tiny_model_dirs, monkeypatch, caplog):
    """`onnx` asked for explicitly fails loudly; `auto` logs why and stays on PyTorch."""
    import search.model.onnx_query as onnx_query

    monkeypatch.setattr(onnx_query, "MIN_COSINE", 1.01)  # nothing can be that close
    with pytest.raises(OnnxUnavailable, match="differs from PyTorch"):
        load(tmp_path, query_backend="onnx")
    with caplog.at_level(logging.WARNING, logger="papersearch"):
        encoder = load(tmp_path, query_backend="auto")
    assert encoder.query_backend == "torch"
    assert "queries use PyTorch" in caplog.text


def test_query_backend_selection():
    assert choose_query_backend("auto", "cpu", onnx_installed=True) == "onnx"
    assert choose_query_backend("auto", "cpu", onnx_installed=False) == "torch"
    assert choose_query_backend("auto", "cuda", onnx_installed=True) == "torch"
    assert choose_query_backend("torch", "cpu", onnx_installed=True) == "torch"
    assert choose_query_backend("onnx", "cpu", onnx_installed=True) == "onnx"
    with pytest.raises(OnnxUnavailable, match=r"pip install 'papersearch\[onnx\]'"):
        choose_query_backend("onnx", "cpu", onnx_installed=False)
    with pytest.raises(OnnxUnavailable, match="CUDA"):
        choose_query_backend("onnx", "cuda", onnx_installed=True)
    with pytest.raises(SettingsError, match="PAPERSEARCH_QUERY_BACKEND"):
        Settings.from_env({"PAPERSEARCH_QUERY_BACKEND": "tensorrt"})
    assert Settings.from_env({"PAPERSEARCH_QUERY_BACKEND": "ONNX"}).query_backend == "onnx"


def test_old_exports_are_pruned(tmp_path, tiny_model_dirs):
    import os
    import time

    load(tmp_path, query_backend="onnx")
    [current] = onnx_files(tmp_path)
    for age, name in ((300, "query-old1.onnx"), (200, "query-old2.onnx")):
        stale = tmp_path / "models" / name
        stale.write_bytes(b"an export of another model")
        os.utime(stale, (time.time() - age, time.time() - age))
    load(tmp_path, query_backend="onnx")  # in use: kept, with the most recent other one
    assert sorted(p.name for p in onnx_files(tmp_path)) == sorted([current.name, "query-old2.onnx"])


# -- one-off queries without PyTorch ------------------------------------------------------


def indexed_home(tmp_path, pooling="cls"):
    from indexer.pipeline import index_corpus
    from tests.helpers import sample_lines, write_lines

    settings = Settings(home=tmp_path / "data", precision="fp32", pooling=pooling)
    corpus = write_lines(tmp_path / "c.jsonl", sample_lines(40))
    index_corpus(settings, [corpus])
    return settings


def test_the_verified_export_alone_encodes_queries_as_the_full_encoder(tmp_path, tiny_model_dirs):
    from search.model.onnx_query import OnnxQueryEncoder
    from search.store import Store

    settings = indexed_home(tmp_path)
    full = load(settings.home, query_backend="onnx")  # exports, verifies, keeps the manifest
    build = Store.open(settings).builds.current()
    light = OnnxQueryEncoder.find(settings.models_dir, build, threads=2)
    assert light is not None and light.info == full.info
    np.testing.assert_allclose(light.encode_queries(QUERIES), full.encode_queries(QUERIES),
                               atol=1e-5)  # fmt: skip
    assert [light.count_tokens(q) for q in QUERIES] == [full.count_tokens(q) for q in QUERIES]
    assert light.max_length == full.max_length
    # Another query adapter or paper model: not this export.
    other = type("Build", (), {**{c: getattr(build, c) for c in ("model_key", "query_adapter")},
                               "query_adapter_revision": "elsewhere"})()  # fmt: skip
    assert OnnxQueryEncoder.find(settings.models_dir, other, threads=2) is None


def test_a_changed_export_or_tokenizer_is_never_used_on_its_own(tmp_path, tiny_model_dirs):
    from search.model.onnx_query import OnnxQueryEncoder
    from search.store import Store

    settings = indexed_home(tmp_path)
    load(settings.home, query_backend="onnx")
    build = Store.open(settings).builds.current()
    graph = onnx_files(settings.home)[0]
    vocab = tokenizer_path(graph).read_text()
    assert '"lowercase":true' in vocab
    tokenizer_path(graph).write_text(vocab.replace('"lowercase":true', '"lowercase":false'))
    assert OnnxQueryEncoder.find(settings.models_dir, build, threads=2) is None
    tokenizer_path(graph).write_text(vocab)
    assert OnnxQueryEncoder.find(settings.models_dir, build, threads=2) is not None
    graph.write_bytes(graph.read_bytes()[:1000])  # truncated
    assert OnnxQueryEncoder.find(settings.models_dir, build, threads=2) is None
    # The full encoder notices, exports again, and the light path works again.
    load(settings.home, query_backend="onnx")
    assert OnnxQueryEncoder.find(settings.models_dir, build, threads=2) is not None


def test_a_one_off_cli_query_loads_no_pytorch(tmp_path, tiny_model_dirs):
    import json
    import os
    import subprocess
    import sys

    settings = indexed_home(tmp_path)
    load(settings.home, query_backend="onnx")
    script = (
        "import json, sys\n"
        "from click.testing import CliRunner\n"
        "from papersearch import main\n"
        f"out = CliRunner().invoke(main, ['--home', {str(settings.home)!r}, 'search', "
        "'graph neural networks', '--json', '-k', '3'])\n"
        "loaded = {name: name in sys.modules for name in ('torch', 'adapters')}\n"
        "print(json.dumps({'exit': out.exit_code, 'output': out.output, **loaded}))"
    )
    env = {k: v for k, v in os.environ.items() if k != "PAPERSEARCH_PRECISION"}
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                          env=env, check=True)  # fmt: skip
    report = json.loads(done.stdout.strip().splitlines()[-1])
    assert report["exit"] == 0, report["output"]
    assert not report["torch"] and not report["adapters"]
    light = [hit["id"] for hit in json.loads(report["output"])["results"]]
    from search.engine.engine import SearchEngine

    full = SearchEngine.open(settings.replace(query_backend="torch"))
    assert light == [h.id for h in full.search("graph neural networks", k=3).results]
