"""``--executor ray`` against real local Ray clusters: ``ray.init(num_cpus=2)``, and a
two-node ``ray.cluster_utils.Cluster`` that loses a node mid-job."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest

from indexer import ray_executor
from indexer.pipeline import index_corpus
from search.store import Store
from tests.helpers import REPO, sample_lines, write_lines

ray = pytest.importorskip("ray", reason="the scale extra: pip install '.[scale]'")

BAD_LINE = '{"id": "bad-1", "title": "cut off'  # broken JSON: rejected, counted


def vectors_by_paper(settings, model_key: str) -> dict[str, np.ndarray]:
    store = Store.open(settings)
    ids, vectors = store.vectors.all(model_key)
    external = store.papers.external_ids()
    return {external[int(i)]: v for i, v in zip(ids, vectors, strict=True)}


def assert_same_vectors(ours: dict, theirs: dict) -> None:
    assert ours.keys() == theirs.keys()
    names = sorted(ours)
    a = np.stack([ours[n] for n in names])
    b = np.stack([theirs[n] for n in names])
    cosine = (a * b).sum(1) / np.linalg.norm(a, axis=1) / np.linalg.norm(b, axis=1)
    assert cosine.min() >= 0.9999


@pytest.fixture
def local_ray():
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    yield
    ray.shutdown()


@pytest.mark.slow  # a whole process (or a Ray cluster) started
def test_ray_embeds_like_the_local_path_and_counts_bad_records(
    settings, tmp_path, tiny_encoder, local_ray
):
    corpus = write_lines(tmp_path / "corpus.jsonl", [*sample_lines(700), BAD_LINE])
    local = settings.replace(home=tmp_path / "local", database_url="")
    on_ray = settings.replace(executor="ray")
    expected = index_corpus(local, [corpus], encoder=tiny_encoder)
    got = index_corpus(on_ray, [corpus], encoder=tiny_encoder)
    assert (got.embedded, got.rejected, got.read) == (expected.embedded, 1, 700)
    with open(got.rejects_file, encoding="utf-8") as rejects:
        assert json.loads(rejects.readline())["line"] == 701
    key = tiny_encoder.info.key
    assert_same_vectors(vectors_by_paper(on_ray, key), vectors_by_paper(local, key))
    # every shard file the workers wrote is in the manifest, and each paper has one vector
    store = Store.open(on_ray)
    live = store.vectors.live(key)
    assert len(np.unique(live.ids)) == len(live) == 700
    named = {s.name for s in store.vectors.catalogue(key).manifest}
    on_disk = {f.name.split(".")[0] for f in (on_ray.vectors_dir / key).iterdir()}
    assert on_disk == named
    # unchanged papers are not embedded again on Ray either
    assert index_corpus(on_ray, [corpus], encoder=tiny_encoder).embedded == 0


def test_pool_size_follows_the_cluster():
    assert ray_executor.pool_size({"CPU": 8.0}, None) == (8, {"num_cpus": 1})
    assert ray_executor.pool_size({"CPU": 64.0, "GPU": 4.0}, None) == (4, {"num_gpus": 1})
    assert ray_executor.pool_size({"CPU": 8.0}, 2) == (2, {"num_cpus": 1})


def test_an_unreachable_cluster_is_a_fast_clear_error(settings, tmp_path, tiny_encoder):
    corpus = write_lines(tmp_path / "corpus.jsonl", sample_lines(20))
    nowhere = settings.replace(executor="ray", ray_address="127.0.0.1:9")
    with pytest.raises(ray_executor.ExecutorFailed, match="Cannot reach the Ray cluster"):
        index_corpus(nowhere, [corpus], encoder=tiny_encoder)
    assert Store.open(settings).papers.count() == 20  # the papers are stored all the same


@pytest.mark.slow  # a whole process (or a Ray cluster) started
def test_nothing_of_ray_is_imported_by_the_local_executor(settings, tmp_path, tiny_model_dirs):
    corpus = write_lines(tmp_path / "corpus.jsonl", sample_lines(50))
    code = (
        "import sys; from papersearch import main\n"
        "try:\n    main(sys.argv[1:])\nexcept SystemExit as e:\n    assert not e.code, e.code\n"
        "print('RAY' if any(m == 'ray' or m.startswith('ray.') for m in sys.modules) "
        "else 'NO RAY')"
    )
    home = ["--home", str(settings.home)]
    if settings.database_url:
        home += ["--database-url", settings.database_url]
    done = subprocess.run([sys.executable, "-c", code, "index", str(corpus), *home],
                          capture_output=True, text=True, cwd=REPO, timeout=300)  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip().endswith("NO RAY")


@pytest.mark.slow
def test_a_node_lost_mid_job_loses_no_vector_and_writes_none_twice(
    settings, tmp_path, tiny_encoder
):
    from ray.cluster_utils import Cluster

    corpus = write_lines(tmp_path / "corpus.jsonl", sample_lines(3000))
    local = settings.replace(home=tmp_path / "local", database_url="")
    index_corpus(local, [corpus], encoder=tiny_encoder)
    cluster = Cluster(initialize_head=True, head_node_args={"num_cpus": 1})
    worker = cluster.add_node(num_cpus=1)
    on_ray = settings.replace(executor="ray", ray_address=cluster.address)
    removed = []

    def remove_the_worker(done: int, pending: int, seconds: float) -> None:
        if not removed:  # after the first shard is recorded, while others are in flight
            cluster.remove_node(worker)
            removed.append(done)

    embedded = 0
    try:
        try:
            first = index_corpus(on_ray, [corpus], encoder=tiny_encoder,
                                 on_embedded=remove_the_worker)  # fmt: skip
            embedded += first.embedded
        except ray_executor.ExecutorFailed as failed:
            print("first run:", failed)
            recorded = Store.open(on_ray).vectors.live(tiny_encoder.info.key)
            embedded += len(recorded)
        assert removed
        # a re-run (on what is left of the cluster) embeds the rest, and only the rest
        embedded += index_corpus(on_ray, [corpus], encoder=tiny_encoder).embedded
    finally:
        ray.shutdown()
        cluster.shutdown()
    assert embedded == 3000  # each paper's vector was recorded exactly once
    key = tiny_encoder.info.key
    assert_same_vectors(vectors_by_paper(on_ray, key), vectors_by_paper(local, key))
    store = Store.open(on_ray)
    named = {s.name for s in store.vectors.catalogue(key).manifest}
    assert {f.name.split(".")[0] for f in (on_ray.vectors_dir / key).iterdir()} == named
