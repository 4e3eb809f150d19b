"""Embedding on a Ray cluster (``--executor ray``): the same vectors as the local path,
made by a pool of encoder actors.

The driver (the ``index`` or ``reindex`` process, holding the write lock) reads
the papers that need vectors from the store, a group at a time, as a Ray
dataset. ``map_batches`` sends them to a pool of encoder actors: one per GPU
(``num_gpus=1``) on a cluster with GPUs, otherwise ``PAPERSEARCH_RAY_ACTORS``
CPU actors (default one per CPU). Each actor loads the model once, with the
same settings, precision rules, batching and adapter as the local path, and
writes each batch's vectors as a shard into the data directory's ``vectors/``
(``search.store.shards.write_shard``). The directory must be on a filesystem
every node mounts. The driver records the shards in the manifest as their
results arrive, so an interrupted run keeps what was recorded and the next run
embeds only the rest; a batch that Ray retries after losing a node may leave
a shard file nobody recorded, which is deleted when the embedding ends. The
driver then builds and publishes the index as on the local path.

Nothing here imports Ray until a run asks for it: ``pip install 'papersearch[scale]'``.
"""

from __future__ import annotations

import logging
import os
import socket
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np

from search.base.errors import PapersearchError, SettingsError
from search.base.settings import Settings
from search.store import Store, shards
from search.store import vectors as vector_files

RAY_GROUP = 65_536  # pending papers the driver hands to Ray at a time
BATCH_PAPERS = 512  # papers per actor call: one shard each, as the local path's chunks


class ExecutorFailed(PapersearchError):
    """The Ray cluster could not be reached or could not finish; what it recorded is kept."""

    code = "executor_failed"


def import_ray():
    try:
        import ray
        import ray.data  # noqa: F401
    except ImportError as exc:
        raise SettingsError(
            "PAPERSEARCH_EXECUTOR=ray needs Ray Data: pip install 'papersearch[scale]'"
        ) from exc
    return ray


def connect(address: str | None) -> Any:
    """Join the cluster at ``address`` (``ray start --head`` prints it; also read from
    ``RAY_ADDRESS``), or start a local one on this machine when there is none."""
    ray = import_ray()
    context = ray.data.DataContext.get_current()
    context.enable_progress_bars = False  # the run's own progress bar and summary suffice
    context.print_on_execution_start = False
    logging.getLogger("ray.data").setLevel(logging.WARNING)
    if ray.is_initialized():
        return ray
    address = address or os.environ.get("RAY_ADDRESS") or None
    if address not in (None, "auto", "local"):
        _check_reachable(address)  # ray.init itself retries for minutes
    try:
        ray.init(address=address,
                 include_dashboard=False, log_to_driver=False,
                 logging_level="WARNING")  # fmt: skip
    except (ConnectionError, RuntimeError) as exc:
        raise ExecutorFailed(f"Cannot reach the Ray cluster at {address}: {exc}") from exc
    return ray


def _check_reachable(address: str, timeout: float = 5.0) -> None:
    host, _, port = address.removeprefix("ray://").rpartition(":")
    try:
        with socket.create_connection((host or "127.0.0.1", int(port)), timeout=timeout):
            pass
    except (OSError, ValueError) as exc:
        raise ExecutorFailed(
            f"Cannot reach the Ray cluster at {address} ({exc}): start it with "
            "`ray start --head` and give the address it prints (HOST:6379)."
        ) from exc


class EncoderActor:
    """One model per actor, loaded once; each call embeds a batch and writes its shard."""

    def __init__(self, settings: Settings, model_key: str, directory: str) -> None:
        from search.model.encoder import Encoder

        # Queries are not encoded here: no ONNX export per actor.
        self.encoder = Encoder.load(settings.replace(query_backend="torch"))
        if self.encoder.info.key != model_key:
            raise ExecutorFailed(
                f"A Ray worker loaded another model ({self.encoder.info.key}) than the "
                f"driver ({model_key}): the model files differ between nodes."
            )
        self.model_key = model_key
        self.directory = Path(directory)

    def __call__(self, batch: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        papers = list(zip(batch["title"].tolist(), batch["abstract"].tolist(), strict=True))
        vectors = self.encoder.encode_papers(papers)
        hashes = shards.hash_array(batch["text_hash"].tolist())
        shard = shards.write_shard(
            self.directory, self.model_key, batch["id"].astype(np.int64), hashes, vectors
        )
        return {"name": np.array([shard.name]), "rows": np.array([shard.rows]),
                "dim": np.array([shard.dim])}  # fmt: skip


def pool_size(resources: dict[str, float], actors: int | None) -> tuple[int, dict[str, float]]:
    """(actors, resources per actor): one per GPU when the cluster has GPUs, else
    ``actors`` CPU actors (default one per CPU)."""
    gpus = int(resources.get("GPU", 0))
    if gpus:
        return (actors or gpus), {"num_gpus": 1}
    return (actors or max(1, int(resources.get("CPU", 1)))), {"num_cpus": 1}


def embed_pending(
    store: Store,
    settings: Settings,
    model_key: str,
    on_batch: Callable[[int], object] | None = None,
    *,
    ids: np.ndarray | None = None,
) -> int:
    """Embed every paper that has no current vector for ``model_key`` (those of ``ids``,
    when given) on the Ray cluster; returns how many were recorded."""
    ray = connect(settings.ray_address)
    actors, per_actor = pool_size(ray.cluster_resources(), settings.ray_actors)
    done = recorded = 0
    try:
        for group in store.vectors.pending(model_key, RAY_GROUP, ids):
            for shard in _embed_group(ray, group, settings, model_key, actors, per_actor):
                _check_visible(store.vectors.directory, shard)
                store.vectors.record([shard])
                done += shard.rows
                recorded += 1
                if on_batch is not None:
                    on_batch(shard.rows)
                if recorded % vector_files.SMALL_SHARDS == 0:  # keep the files few
                    store.vectors.merge_small(model_key)
    except ray.exceptions.RayError as exc:
        raise ExecutorFailed(
            f"The Ray job failed after {done} vectors were recorded (they are kept; run "
            f"again to embed the rest): {exc}"
        ) from exc
    finally:
        store.vectors.remove_orphans()  # shards of batches that Ray ran twice
    return done


def _embed_group(ray, group, settings: Settings, model_key: str, actors: int,
                 per_actor: dict[str, float]) -> Iterator[shards.ShardFile]:  # fmt: skip
    import pyarrow as pa

    def block(papers) -> pa.Table:
        return pa.table({
            "id": pa.array([p.id for p in papers], pa.int64()),
            "title": pa.array([p.title for p in papers], pa.string()),
            "abstract": pa.array([p.abstract for p in papers], pa.string()),
            "text_hash": pa.array([p.text_hash for p in papers], pa.string()),
        })  # fmt: skip

    # One block per actor call, so that every actor of the pool gets work.
    blocks = [block(group[at : at + BATCH_PAPERS]) for at in range(0, len(group), BATCH_PAPERS)]
    dataset = ray.data.from_arrow(blocks).map_batches(
        EncoderActor,
        batch_size=BATCH_PAPERS,
        batch_format="numpy",
        compute=ray.data.ActorPoolStrategy(size=min(actors, len(blocks))),
        fn_constructor_kwargs={
            "settings": settings,
            "model_key": model_key,
            "directory": str(store_directory(settings)),
        },  # fmt: skip
        **per_actor,
    )
    for row in dataset.iter_rows():
        yield shards.ShardFile(model_key, str(row["name"]), int(row["rows"]),
                                     int(row["dim"]))  # fmt: skip


def store_directory(settings: Settings) -> Path:
    """Where workers write shards: the data directory's, as an absolute path."""
    return settings.vectors_dir.resolve()


def _check_visible(directory: Path, shard: shards.ShardFile) -> None:
    path = directory / shard.model_key / f"{shard.name}.vectors.npy"
    if not path.is_file():
        raise ExecutorFailed(
            f"A Ray worker wrote {path.name}, but this host cannot see it under {directory}: "
            "the data directory must be on a filesystem every Ray node mounts."
        )
