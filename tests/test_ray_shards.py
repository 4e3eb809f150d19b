"""A build's shards on Ray Serve (``PAPERSEARCH_SHARD_SERVICE=ray``), on a real multi-node
Ray cluster on this machine (``ray.cluster_utils.Cluster``): the same rankings as the
build searched in one process; a replica killed under load costs no request beyond those
in flight; a shard with no replica fails the answer with 503 ``shard_unavailable``
naming it; a new build rolled out shard by shard while servers answer, none of them
from two builds."""

from __future__ import annotations

import threading
import time

import pytest

from indexer.pipeline import index_corpus, run
from search.engine.engine import SearchEngine
from search.engine.provider import EngineProvider
from search.query.filters import Filters
from search.shards import cluster
from tests.corpus import corpus_rows, write_corpus
from tests.helpers import settings_on

ray = pytest.importorskip("ray", reason="the scale extra: pip install '.[scale]'")
pytest.importorskip("ray.serve", reason="the scale extra: pip install '.[scale]'")

pytestmark = pytest.mark.slow
QUERIES = ("neural networks for images", "protein structure", "graph learning with data",
           "quantum field theory")  # fmt: skip
SEARCHES = [(q, mode, f) for q in QUERIES for mode in ("semantic", "keyword", "hybrid")
            for f in (Filters(), Filters.parse(year="2004-2013"))]  # fmt: skip


def answers(engine) -> list:
    return [[(h.id, round(h.score, 5)) for h in engine.search(q, k=20, mode=m, filters=f).results]
            for q, m, f in SEARCHES]  # fmt: skip


@pytest.fixture(scope="module")
def served(tmp_path_factory, tiny_encoder, postgres):
    """A 3-shard build, its rankings searched in this process, and a Ray cluster of a head
    and two hosts: the first holds shards 1 and 2, the second shards 2 and 3."""
    from ray.cluster_utils import Cluster

    home = tmp_path_factory.mktemp("ray-shards")
    rows = corpus_rows(900)
    settings = settings_on("sqlite", home / "data", postgres, "rayshards", shards=3)
    index_corpus(settings, [write_corpus(home / "d0.jsonl", rows[:880])], encoder=tiny_encoder)
    local = SearchEngine.open(settings, encoder=tiny_encoder)
    ray_cluster = Cluster(initialize_head=True, head_node_args={"num_cpus": 1})
    for held in ((1, 2), (2, 3)):
        ray_cluster.add_node(num_cpus=1, resources={cluster.RESOURCE.format(s): 1 for s in held})
    on_ray = settings.replace(shard_service="ray", ray_address=ray_cluster.address,
                              shard_timeout=3.0)  # fmt: skip
    try:
        cluster.deploy(on_ray, local.build, replicas=2, say=lambda line: None)
        yield {"settings": settings, "on_ray": on_ray, "local": local, "rows": rows,
               "home": home, "cluster": ray_cluster}  # fmt: skip
    finally:
        ray.shutdown()
        ray_cluster.shutdown()


def test_shards_on_ray_rank_as_the_build_in_one_process(served, tiny_encoder):
    remote = SearchEngine.open(served["on_ray"], encoder=tiny_encoder)
    assert remote.index.ntotal == served["local"].index.ntotal
    assert answers(remote) == answers(served["local"])
    one = remote.search(QUERIES[0], k=10, mode="keyword")
    assert one.total == served["local"].search(QUERIES[0], k=10, mode="keyword").total


def test_a_replica_killed_under_load_fails_no_request_beyond_those_in_flight(served, tiny_encoder):
    from ray.util.state import list_actors

    engine = SearchEngine.open(served["on_ray"], encoder=tiny_encoder)
    expected = answers(served["local"])
    failures, done, stop = [], [], threading.Event()

    def load() -> None:
        while not stop.is_set() and len(done) < 10_000:
            for (q, m, f), want in zip(SEARCHES, expected, strict=True):
                try:
                    got = [(h.id, round(h.score, 5))
                           for h in engine.search(q, k=20, mode=m, filters=f).results]  # fmt: skip
                    assert got == want, (q, m)
                    done.append(1)
                except Exception as exc:  # counted: the test says how many and why
                    failures.append(repr(exc))

    clients = [threading.Thread(target=load) for _ in range(2)]
    for client in clients:
        client.start()
    time.sleep(2)
    app = cluster.app_name(served["local"].build.id, 0, 3)
    replicas = [a for a in list_actors(filters=[("state", "=", "ALIVE")])
                if a.class_name.startswith("ServeReplica") and app in a.class_name]  # fmt: skip
    assert len(replicas) == 2
    ray.kill(ray.get_actor(replicas[0].name, namespace="serve"), no_restart=True)
    killed_at = len(done)
    time.sleep(6)
    stop.set()
    for client in clients:
        client.join(timeout=60)
    print(f"replica killed: {len(failures)} failed of {len(done) + len(failures)} searches")
    assert len(done) > killed_at + 20, "searches went on after the kill"
    assert len(failures) <= len(clients), failures  # at most the requests in flight
    deadline = time.monotonic() + 60  # Ray puts a replica back
    while len([a for a in list_actors(filters=[("state", "=", "ALIVE")])
               if app in a.class_name]) < 2:  # fmt: skip
        assert time.monotonic() < deadline, "the dead replica was not replaced"
        time.sleep(0.5)
    while cluster.state(app) != "RUNNING":
        assert time.monotonic() < deadline, "the shard did not run again"
        time.sleep(0.5)


def test_a_shard_without_replicas_is_a_503_naming_it(served, tiny_encoder):
    from ray import serve

    from web import create_app

    app = create_app(served["on_ray"], encoder=tiny_encoder)
    client = app.test_client()
    first = client.get("/api/v1/search?q=protein+structure&mode=hybrid")
    assert first.status_code == 200, first.get_json()
    name = cluster.app_name(served["local"].build.id, 2, 3)
    serve.delete(name)
    try:
        answer = client.get("/api/v1/search?q=protein+structure&mode=keyword")
        assert answer.status_code == 503, answer.get_json()
        error = answer.get_json()["error"]
        assert error["code"] == "shard_unavailable" and "Shard 3 of 3" in error["message"]
        assert answer.headers["Retry-After"] == "1"
    finally:
        cluster.deploy(served["on_ray"], served["local"].build, replicas=2, say=lambda line: None)


def test_a_new_build_rolls_out_shard_by_shard_and_no_answer_mixes_two_builds(served, tiny_encoder):
    settings, on_ray = served["settings"], served["on_ray"]
    before = answers(served["local"])
    run(settings, [write_corpus(served["home"] / "d1.jsonl", served["rows"])], snapshot=True,
        encoder=tiny_encoder)  # fmt: skip
    after_engine = SearchEngine.open(settings, encoder=tiny_encoder)
    after = answers(after_engine)
    assert after != before and after_engine.build.id != served["local"].build.id
    provider = EngineProvider(on_ray.replace(reload_seconds=0.2), encoder=tiny_encoder)
    seen, mixed, stop = set(), [], threading.Event()

    def load() -> None:
        while not stop.is_set():
            engine = provider.get()
            got = answers(engine)
            seen.add(engine.build.id)
            if got not in (before, after):
                mixed.append(engine.build.id)

    client = threading.Thread(target=load)
    client.start()
    try:
        deadline = time.monotonic() + 60
        while not seen:
            assert time.monotonic() < deadline, "no answer from the servers"
            time.sleep(0.2)
        assert seen == {served["local"].build.id}, "the new build's shards are not deployed yet"
        cluster.deploy(on_ray, after_engine.build, replicas=1, say=lambda line: None)
        deadline = time.monotonic() + 30
        while after_engine.build.id not in seen:
            assert time.monotonic() < deadline, "servers did not switch to the new build"
            time.sleep(0.2)
        time.sleep(1)
    finally:
        stop.set()
        client.join(timeout=60)
        provider.settings = provider.settings.replace(reload_seconds=3600)  # its watcher rests
    assert not mixed and seen == {served["local"].build.id, after_engine.build.id}
    gone = cluster.retire(on_ray, {after_engine.build.id}, say=lambda line: None)
    assert len(gone) == 3
