"""A build's shards as a server calls them on Ray Serve: the engine's FAISS and keyword
indexes over remote shards, each call answered by a live replica within
``PAPERSEARCH_SHARD_TIMEOUT`` or failing the search with ShardUnavailable (503).

A replica that dies with a call in flight costs that call one more try, on another
replica (Ray is replacing the dead one): searches only read."""

from __future__ import annotations

import numpy as np

from search.ann.faiss_index import VectorIndex, read_part, verify
from search.base.errors import IndexCorrupt, ShardUnavailable
from search.base.parallel import each
from search.base.settings import Settings
from search.keyword_index.reader import KeywordIndex
from search.query.filters import Filters
from search.query.keywords import KeywordQuery, Phrases
from search.shards import cluster
from search.store.build_files import BuildFiles
from search.store.schema import IndexBuild

TRIES = 2  # a call whose replica died in flight is sent once more


def open_served(
    settings: Settings, build: IndexBuild, files: BuildFiles
) -> tuple[VectorIndex, KeywordIndex]:
    """The build's FAISS and keyword indexes over its shards on Ray: the centroids read
    here (once they and the graph pass their checksum), every shard a deployment."""
    if build.shards < 2 or not build.part_checksums:
        raise IndexCorrupt(f"index build {build.id} is not in shards: "
                           "PAPERSEARCH_SHARD_SERVICE=ray serves builds in shards")  # fmt: skip
    verify(files.shared(), build.part_checksums["shared"])
    handles = cluster.handles(settings, build)
    shards = [RemoteShard(h, number, build, settings.shard_timeout)
              for number, h in enumerate(handles)]  # fmt: skip
    each(lambda shard: shard.describe(), shards)  # every shard answers, or the build waits
    centroids = read_part(files.index, mmap=False)
    index = VectorIndex(centroids, build.nprobe, build.deep_nprobe, parts=shards)
    return index, KeywordIndex(parts=shards)


class RemoteShard:
    """One shard of a build on Ray Serve, with the calls of ``FaissShard`` and
    ``KeywordShard``."""

    def __init__(self, handle, number: int, build: IndexBuild, timeout: float) -> None:
        self._handle, self.number, self._build, self._timeout = handle, number, build, timeout
        self.ntotal = self.papers = 0

    def describe(self) -> None:
        described = self._call("describe")
        if described["build"] != self._build.id or described["shard"] != self.number:
            raise ShardUnavailable(self.number, self._build.shards, self._build.id,
                                   f"its replica serves {described}")  # fmt: skip
        self.ntotal, self.papers = described["vectors"], described["papers"]

    def search_all(self, queries: np.ndarray, k: int, bits: np.ndarray | None):
        return self._call("search_all", queries, k, bits)

    def search_lists(self, queries: np.ndarray, k: int, lists: np.ndarray, coarse: np.ndarray,
                     bits: np.ndarray | None):  # fmt: skip
        return self._call("search_lists", queries, k, lists, coarse, bits)

    def statistics(self, weighed: list) -> tuple[int, list[list[int]]]:
        return self._call("statistics", weighed)

    def rank(self, query: KeywordQuery, limit: int, filters: Filters, weights: dict | None):
        return self._call("rank", query, limit, filters, weights)

    def containing(self, phrases: Phrases, filters: Filters, among: np.ndarray | None):
        return self._call("containing", phrases, filters, among)

    def count(self, phrases: Phrases, filters: Filters, up_to: int) -> int:
        return self._call("count", phrases, filters, up_to)

    def _call(self, method: str, *args):
        import ray.exceptions
        from ray.serve import exceptions as serve_errors

        why = ""
        for _ in range(TRIES):
            try:
                return getattr(self._handle, method).remote(*args).result(timeout_s=self._timeout)
            except (ray.exceptions.RayActorError, ray.exceptions.ActorUnavailableError,
                    serve_errors.ReplicaUnavailableError) as exc:  # fmt: skip
                why = f"its replica died: {type(exc).__name__}"
            except TimeoutError:
                why = f"no replica answered within {self._timeout:g} s"
                break
            except (serve_errors.DeploymentUnavailableError, serve_errors.BackPressureError,
                    serve_errors.RayServeException) as exc:  # fmt: skip
                why = f"it has no replica to answer ({type(exc).__name__})"
                break
        raise ShardUnavailable(self.number, self._build.shards, self._build.id, why)
