"""Shards on a Ray cluster: each shard of each build a Serve application of its own, its
replicas on the nodes that hold the shard's files, and the handles servers call them by.

A node holds shard S when it is started with the resource ``papersearch_shard_S``
(``ray start --resources '{"papersearch_shard_1": 1000}'``, docs/hosts.md): every
replica of shard S asks for a sliver of it, so Ray places them there and nowhere else,
and puts a replica that died back on such a node. ``papersearch shards deploy`` deploys
the current build's shards one after the other, each once its replicas run, and removes
the applications of builds that are neither current nor the one before it (which
servers may still be answering from while they switch).
"""

from __future__ import annotations

import time
from collections.abc import Callable

from search.base.errors import PapersearchError, ShardUnavailable
from search.base.settings import Settings
from search.store.schema import IndexBuild

RESOURCE = "papersearch_shard_{}"  # a node holding shard S's files has papersearch_shard_S
REPLICA_SHARE = 0.001  # of that resource a replica takes: many replicas fit on one node
PREFIX = "papersearch-build-"
DEPLOY_SECONDS = 300  # a shard's replicas must be running within this


def app_name(build_id: int, shard: int, shards: int) -> str:
    """``papersearch-build-000012-shard-2-of-3``: one application a shard of a build."""
    return f"{PREFIX}{build_id:06d}-shard-{shard + 1}-of-{shards}"


def connect(settings: Settings) -> None:
    """Join the Ray cluster (``PAPERSEARCH_RAY_ADDRESS``), once a process."""
    import ray

    if not ray.is_initialized():
        ray.init(address=settings.ray_address or None, namespace="papersearch",
                 log_to_driver=False, ignore_reinit_error=True)  # fmt: skip


def running(settings: Settings, build: IndexBuild) -> bool:
    """Every shard of ``build`` has an application whose replicas run."""
    from ray import serve

    connect(settings)
    status = serve.status().applications
    return all(_state(status, app_name(build.id, s, build.shards)) == "RUNNING"
               for s in range(build.shards))  # fmt: skip


def handles(settings: Settings, build: IndexBuild) -> list:
    """A deployment handle to each shard of ``build``; ShardUnavailable for a shard that is
    not deployed and running (servers keep the build they serve meanwhile)."""
    from ray import serve

    connect(settings)
    status = serve.status().applications
    found = []
    for shard in range(build.shards):
        name = app_name(build.id, shard, build.shards)
        state = _state(status, name)
        if state != "RUNNING":
            raise ShardUnavailable(shard, build.shards, build.id,
                                   f"its Serve application {name} is {state.lower()}")  # fmt: skip
        found.append(serve.get_app_handle(name))
    return found


def deploy(
    settings: Settings, build: IndexBuild, replicas: int, say: Callable[[str], object] = print
) -> None:
    """Deploy every shard of ``build`` with ``replicas`` replicas each, one shard after the
    other, each waited for until its replicas run (a shard whose replicas cannot start,
    for want of a node with its resource or of its files, stops the deployment)."""
    from ray import serve

    from search.shards.replica import ShardReplica

    if build.shards < 2 or not build.part_checksums:
        raise PapersearchError(f"Build {build.id} is not in shards: set PAPERSEARCH_SHARDS "
                               "and re-index before serving shards on Ray.")  # fmt: skip
    connect(settings)
    serve.start(proxy_location="Disabled")  # servers call the shards through handles
    recorded = {"path": build.path, "lists_path": build.lists_path, "shards": build.shards,
                "keywords_path": build.keywords_path}  # fmt: skip
    for shard in range(build.shards):
        name = app_name(build.id, shard, build.shards)
        deployment = serve.deployment(ShardReplica).options(
            name="shard", num_replicas=replicas, health_check_period_s=2,
            ray_actor_options={"num_cpus": 0,
                               "resources": {RESOURCE.format(shard + 1): REPLICA_SHARE}},
        )  # fmt: skip
        shard_files = {**recorded, "checksum": build.part_checksums["shards"][shard]}
        serve.run(deployment.bind(str(settings.builds_dir), build.id, shard, shard_files),
                  name=name, route_prefix=None, blocking=False)  # fmt: skip
        _wait_running(name)
        say(f"shard {shard + 1} of {build.shards} of build {build.id}: {replicas} replica(s) up")


def retire(settings: Settings, keep: set[int], say: Callable[[str], object] = print) -> list[str]:
    """Delete the shard applications of every build but those in ``keep``."""
    from ray import serve

    connect(settings)
    gone = []
    for name in serve.status().applications:
        if name.startswith(PREFIX) and int(name[len(PREFIX) :].split("-")[0]) not in keep:
            serve.delete(name)
            gone.append(name)
            say(f"removed {name}")
    return gone


def state(name: str) -> str:
    """An application's state: RUNNING, DEPLOYING, ..., or NOT_DEPLOYED."""
    from ray import serve

    return _state(serve.status().applications, name)


def _state(status: dict, name: str) -> str:
    found = status.get(name)
    return "NOT_DEPLOYED" if found is None else str(getattr(found.status, "value", found.status))


def _wait_running(name: str) -> None:
    from ray import serve

    deadline = time.monotonic() + DEPLOY_SECONDS
    while True:
        state = _state(serve.status().applications, name)
        if state == "RUNNING":
            return
        if state in ("DEPLOY_FAILED", "UNHEALTHY") or time.monotonic() > deadline:
            message = serve.status().applications.get(name)
            raise PapersearchError(f"{name} is {state.lower()}: "
                                   f"{getattr(message, 'message', '') or 'timed out'}")  # fmt: skip
        time.sleep(0.5)
