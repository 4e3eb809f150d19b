"""What a server says of itself and its corpus: the build it serves, the model, the
encoder, the corpus's filterable fields, its health (``/api/v1/health``, the about page).
"""

from __future__ import annotations

from dataclasses import dataclass

from search.answers.results import Answer, described, iso_utc, optional
from search.store.schema import IndexBuild


@dataclass
class BuildFacts(Answer):
    """An index build: what it is and when it was made."""

    id: int = described("Build number.")
    status: str = described("building, complete, failed or pruned.")
    index_type: str = described("FAISS index, e.g. IVF1093,Flat.")
    metric: str = described("Distance.")
    nlist: int | None = described("IVF lists.")
    nprobe: int | None = described("IVF lists probed for the first page of a ranking.")
    deep_nprobe: int | None = described(
        "IVF lists probed for rankings read deeper (hybrid's candidates, later pages), "
        "measured to reach recall@100; null when not tuned."
    )
    vectors: int = described("Papers in the index.")
    shards: int = described("Shards it is split into, searched in parallel (1: none).")
    device: str = described("Where it was built.")
    seconds: float | None = described("Build time.")
    finished_at: str | None = described("When it was completed (UTC).")
    published_at: str | None = described("When it was last made current (UTC).")

    @classmethod
    def of(cls, build: IndexBuild) -> BuildFacts:
        return cls(
            id=build.id,
            status=build.status,
            index_type=build.index_type,
            metric=build.metric,
            nlist=build.nlist,
            nprobe=build.nprobe,
            deep_nprobe=build.deep_nprobe,
            vectors=build.vector_count,
            shards=build.shards or 1,
            device=build.device,
            seconds=build.seconds,
            finished_at=iso_utc(build.finished_at),
            published_at=iso_utc(build.published_at),
        )


@dataclass
class ModelFacts(Answer):
    """The models the current build's vectors were made with."""

    name: str = described("What the model is called: its name, not its id.")
    base_model: str = described("Base model: hub id, directory or package.")
    base_revision: str | None = described("Its commit hash, or a fingerprint of a directory.")
    paper_adapter: str | None = described("Adapter for papers (proximity).")
    paper_adapter_revision: str | None = described("Its revision.")
    query_adapter: str | None = described("Adapter for queries (adhoc_query).")
    query_adapter_revision: str | None = described("Its revision.")
    pooling: str = described("cls or mean.")
    dim: int = described("Vector dimensions.")


@dataclass
class EncoderFacts(Answer):
    """How this server process encodes queries."""

    device: str = described("cpu or cuda.")
    precision: str = described("Precision of the model weights.", enum=["fp32", "bf16", "fp16"])
    query_backend: str = described("What runs queries.", enum=["torch", "onnx"])


@dataclass
class CorpusFacts(Answer):
    """What the searchable papers carry, so that clients know which filters can match."""

    with_year: int = described("Papers with a year.")
    with_venue: int = described("Papers with a venue.")
    with_categories: int = described("Papers with categories.")
    with_authors: int = described("Papers with authors.")
    with_citations: int = described("Papers with a citation count (sort=citations orders them).")
    first_year: int | None = described("The earliest year.")
    last_year: int | None = described("The latest year.")
    example_venue: str | None = described("The most common venue.")
    example_category: str | None = described("A common category.")
    example_author: str | None = described("A frequent author.")

    @property
    def example_year(self) -> str | None:
        """The corpus's years as a range, the year filter's example."""
        return f"{self.first_year}-{self.last_year}" if self.first_year else None


@dataclass
class Health(Answer):
    """Service status: the corpus, the build in use and the models (``/api/v1/health``)."""

    status: str = described(
        "ok; no_index while no build exists; database_unavailable while the database "
        "cannot be reached (a load balancer should take the server out).",
        enum=["ok", "no_index", "database_unavailable"],
    )
    papers: int | None = described("Searchable papers in the store (null: unknown).")
    database: str = described(
        "The kind of store this server reads (where it is, the server logs when it starts).",
        enum=["sqlite", "postgresql"],
    )
    build: BuildFacts | None = described("The build being searched.")
    models: ModelFacts | None = optional("The models of that build.")
    encoder: EncoderFacts | None = optional("This process's query encoder.")
    corpus: CorpusFacts | None = optional("What the papers carry (for filters).")
