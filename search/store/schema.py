"""ORM models of the tables: papers and the earlier versions of them that builds
still serve; embeddings (vectors as rows, kept only to move an
older release's into files); vector shards (the manifest of the vector files); index
builds; precision checks (each model's measured fast-precision fidelity);
libraries (uploaded BibTeX libraries, for their feeds); and email alerts (subscriptions,
the papers each was mailed, the outbox) with the key their links are signed with.

The tables are created only by the Alembic migrations in ``migrations/``;
these classes describe them for queries.
"""

from __future__ import annotations

from datetime import datetime, timezone

from sqlalchemy import (
    JSON,
    Boolean,
    DateTime,
    Float,
    ForeignKey,
    Integer,
    LargeBinary,
    String,
    Text,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

# Arrays of filter keys (search.query.filter_keys): JSONB on PostgreSQL, where a GIN index answers
# "has any of these keys" without a scan.
KeyList = JSON().with_variant(JSONB(), "postgresql")


def utcnow() -> datetime:
    return datetime.now(timezone.utc)


class Base(DeclarativeBase):
    pass


class Paper(Base):
    """One paper. ``id`` is also its FAISS id, and is never reused (AUTOINCREMENT)."""

    __tablename__ = "papers"
    __table_args__ = {"sqlite_autoincrement": True}

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    external_id: Mapped[str] = mapped_column(String(255), unique=True, nullable=False)
    title: Mapped[str] = mapped_column(Text, nullable=False)
    # The corpus gave no title: ``title`` is the abstract's first sentence (migration 0010).
    title_from_abstract: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)
    abstract: Mapped[str | None] = mapped_column(Text)
    authors: Mapped[list[str]] = mapped_column(JSON, nullable=False, default=list)
    year: Mapped[int | None] = mapped_column(Integer, index=True)
    # YYYY-MM-DD when the corpus gives a day (arXiv's listing date, a publication date);
    # sort=date orders by year, then this (migration 0009).
    date: Mapped[str | None] = mapped_column(String(10))
    citations: Mapped[int | None] = mapped_column(Integer)  # where the corpus says (0016)
    # Links (``search.graph.keys``, migration 0020): the paper's other ids, the papers it
    # cites and the papers its source says cite it, as keys; None: the source gave none.
    # Each build's citation graph is resolved from them; no query reads them as a graph.
    paper_keys: Mapped[list[str] | None] = mapped_column(JSON)
    reference_keys: Mapped[list[str] | None] = mapped_column(JSON)
    citer_keys: Mapped[list[str] | None] = mapped_column(JSON)
    # Each author's ids (``search.authors.keys``, migration 0021), in the order of
    # ``authors``; None: the source identifies none of them. ``author_id_keys``: all of
    # them, what an author's papers are looked up by.
    author_ids: Mapped[list[list[str]] | None] = mapped_column(JSON)
    author_id_keys: Mapped[list[str]] = mapped_column(KeyList, nullable=False, default=list)
    venue: Mapped[str | None] = mapped_column(Text)
    # What the venue filter matches (search.query.filter_keys.venue_key; migration 0019).
    venue_key: Mapped[str | None] = mapped_column(Text, index=True)
    doi: Mapped[str | None] = mapped_column(String(255))
    url: Mapped[str | None] = mapped_column(Text)
    categories: Mapped[list[str]] = mapped_column(JSON, nullable=False, default=list)
    # What the category and author filters match, whole (search.query.filter_keys; migration 0005).
    category_keys: Mapped[list[str]] = mapped_column(KeyList, nullable=False, default=list)
    author_keys: Mapped[list[str]] = mapped_column(KeyList, nullable=False, default=list)
    content_hash: Mapped[str] = mapped_column(String(64), nullable=False)
    text_hash: Mapped[str] = mapped_column(String(64), nullable=False)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), default=utcnow, onupdate=utcnow
    )
    # Set when a full snapshot no longer holds the paper: it leaves search and
    # its page, but keeps its id (never reused) and comes back if it reappears.
    withdrawn_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    # The first index build that held the paper (migration 0011): when it entered the index.
    first_build: Mapped[int | None] = mapped_column(Integer, index=True)
    # The first build that held this row's present state, its fields and whether it is
    # withdrawn (migration 0017); None: changed by a run since, and held by no build yet.
    # Servers of an earlier build read the paper's version (``PaperVersion``) valid there.
    content_build: Mapped[int | None] = mapped_column(Integer, index=True)


class PaperVersion(Base):
    """A paper's earlier state, kept while a build that held it may be served: valid for the
    builds from ``content_build`` up to, not including, ``until_build`` (None: the state
    that replaced it is held by no build yet). Its columns are a paper's, ``id`` the
    paper's id (``search.store.views`` reads both tables as one)."""

    __tablename__ = "paper_versions"
    __table_args__ = {"sqlite_autoincrement": True}

    version_id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    id: Mapped[int] = mapped_column(Integer, nullable=False, index=True)
    until_build: Mapped[int | None] = mapped_column(Integer)
    external_id: Mapped[str] = mapped_column(String(255), nullable=False)
    title: Mapped[str] = mapped_column(Text, nullable=False)
    title_from_abstract: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)
    abstract: Mapped[str | None] = mapped_column(Text)
    authors: Mapped[list[str]] = mapped_column(JSON, nullable=False, default=list)
    year: Mapped[int | None] = mapped_column(Integer)
    date: Mapped[str | None] = mapped_column(String(10))
    citations: Mapped[int | None] = mapped_column(Integer)
    paper_keys: Mapped[list[str] | None] = mapped_column(JSON)
    reference_keys: Mapped[list[str] | None] = mapped_column(JSON)
    citer_keys: Mapped[list[str] | None] = mapped_column(JSON)
    author_ids: Mapped[list[list[str]] | None] = mapped_column(JSON)
    author_id_keys: Mapped[list[str]] = mapped_column(KeyList, nullable=False, default=list)
    venue: Mapped[str | None] = mapped_column(Text)
    venue_key: Mapped[str | None] = mapped_column(Text)
    doi: Mapped[str | None] = mapped_column(String(255))
    url: Mapped[str | None] = mapped_column(Text)
    categories: Mapped[list[str]] = mapped_column(JSON, nullable=False, default=list)
    category_keys: Mapped[list[str]] = mapped_column(KeyList, nullable=False, default=list)
    author_keys: Mapped[list[str]] = mapped_column(KeyList, nullable=False, default=list)
    content_hash: Mapped[str] = mapped_column(String(64), nullable=False)
    text_hash: Mapped[str] = mapped_column(String(64), nullable=False)
    created_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    updated_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    withdrawn_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    first_build: Mapped[int | None] = mapped_column(Integer)
    content_build: Mapped[int] = mapped_column(Integer, nullable=False)


class Embedding(Base):
    """Where vectors were kept before migration 0006: rows here are moved to vector files
    (``search.store.vectors``) by ``papersearch db upgrade`` (or the next index run),
    and readers refuse a store that still has some."""

    __tablename__ = "embeddings"

    paper_id: Mapped[int] = mapped_column(
        ForeignKey("papers.id", ondelete="CASCADE"), primary_key=True
    )
    model_key: Mapped[str] = mapped_column(String(64), primary_key=True)
    text_hash: Mapped[str] = mapped_column(String(64), nullable=False)
    dim: Mapped[int] = mapped_column(Integer, nullable=False)
    vector: Mapped[bytes] = mapped_column(LargeBinary, nullable=False)


class VectorShard(Base):
    """One file of paper vectors: the manifest of ``search.store.vectors``.

    A shard is recorded only once its files are complete and fsynced; files
    that no shard names are left over from a crash and are deleted.
    """

    __tablename__ = "vector_shards"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    model_key: Mapped[str] = mapped_column(String(64), nullable=False, index=True)
    name: Mapped[str] = mapped_column(String(64), nullable=False)  # file stem in the model's dir
    rows: Mapped[int] = mapped_column(Integer, nullable=False)
    dim: Mapped[int] = mapped_column(Integer, nullable=False)
    dtype: Mapped[str] = mapped_column(String(16), nullable=False)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class IndexBuild(Base):
    """One index build (a FAISS index file and a keyword index) and everything needed to
    know what it holds."""

    __tablename__ = "index_builds"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    status: Mapped[str] = mapped_column(String(16), nullable=False, index=True)
    model_key: Mapped[str] = mapped_column(String(64), nullable=False)
    base_model: Mapped[str] = mapped_column(Text, nullable=False)
    base_revision: Mapped[str | None] = mapped_column(String(64))
    paper_adapter: Mapped[str | None] = mapped_column(Text)
    paper_adapter_revision: Mapped[str | None] = mapped_column(String(64))
    query_adapter: Mapped[str | None] = mapped_column(Text)
    query_adapter_revision: Mapped[str | None] = mapped_column(String(64))
    pooling: Mapped[str] = mapped_column(String(16), nullable=False)
    dim: Mapped[int] = mapped_column(Integer, nullable=False)
    index_type: Mapped[str] = mapped_column(String(64), nullable=False)
    metric: Mapped[str] = mapped_column(String(16), nullable=False, default="L2")
    nlist: Mapped[int | None] = mapped_column(Integer)
    nprobe: Mapped[int | None] = mapped_column(Integer)
    vector_count: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    device: Mapped[str] = mapped_column(String(16), nullable=False, default="cpu")
    path: Mapped[str] = mapped_column(Text, nullable=False)
    seconds: Mapped[float | None] = mapped_column(Float)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    finished_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    # The current build is the complete one published last (rollback re-publishes).
    published_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), index=True)
    # IVF centroid lineage: how many vectors the centroids were trained on, which
    # build trained them (None: this one), and how many vectors came since.
    trained_vectors: Mapped[int | None] = mapped_column(Integer)
    centroids_from: Mapped[int | None] = mapped_column(Integer)
    added_since_training: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    # recall@10 against exact search at ``nprobe``, as measured by tuning (None: not tuned)
    tuned_recall: Mapped[float | None] = mapped_column(Float)
    # The nprobe measured to reach recall@100 (hybrid's candidates, deep pages), and the
    # recall@100 it reached (migration 0013; None: not tuned, the first page's is used)
    deep_nprobe: Mapped[int | None] = mapped_column(Integer)
    tuned_recall_100: Mapped[float | None] = mapped_column(Float)
    # SHA-256 of the file as written; a file that no longer matches is never loaded
    checksum: Mapped[str | None] = mapped_column(String(64))
    # FAISS's on-disk inverted lists (``.ivfdata``), for a build too large to make in
    # memory (``indexer.ivf``); None: the lists are inside the index file. The checksum
    # covers both files.
    lists_path: Mapped[str | None] = mapped_column(Text)
    # SHA-256 of what the build holds: its papers, the texts their vectors were made from,
    # the model and the settings that shape the index (``LiveVectors.fingerprint``). A
    # re-index whose fingerprint equals the current build's has nothing to publish.
    contents: Mapped[str | None] = mapped_column(String(64))
    # The build's keyword index (``search.keyword_index``), a directory beside its index
    # file, covered by the checksum (migration 0014; None: a build from before them).
    keywords_path: Mapped[str | None] = mapped_column(Text)
    # The build's citation graph (``search.graph``), a directory beside its index file,
    # covered by the checksum (migration 0020; None: a build from before it).
    graph_path: Mapped[str | None] = mapped_column(Text)
    # Shards the build is split into (migration 0023): 1 is one FAISS file and one keyword
    # index; more name their files by shard (``search.store.build_files``).
    shards: Mapped[int] = mapped_column(Integer, default=1, server_default="1")
    # In shards: {"shared": the checksum of the files every server reads (the centroids and
    # the graph), "shards": each shard's}, so that a host holding one shard verifies it.
    part_checksums: Mapped[dict | None] = mapped_column(JSON)


class PrecisionCheck(Base):
    """What the fast precision (bf16 or fp16) did to one model's paper vectors, measured
    against fp32 on a sample of the corpus the first time ``auto`` embedded with it
    (``indexer.fidelity``); a failed check keeps that model on fp32."""

    __tablename__ = "precision_checks"

    model_key: Mapped[str] = mapped_column(String(64), primary_key=True)
    precision: Mapped[str] = mapped_column(String(8), primary_key=True)
    device: Mapped[str] = mapped_column(String(16), primary_key=True)
    papers: Mapped[int] = mapped_column(Integer, nullable=False)
    overlap: Mapped[float] = mapped_column(Float, nullable=False)  # mean top-10 overlap
    min_cosine: Mapped[float] = mapped_column(Float, nullable=False)
    passed: Mapped[bool] = mapped_column(Boolean, nullable=False)
    checked_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class Library(Base):
    """A BibTeX library uploaded for recommendations (``search.engine.bibtex_library``),
    kept for its feed. Its id is a hash of its entries: the same library has the same feed URL."""

    __tablename__ = "libraries"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    entries: Mapped[list[dict]] = mapped_column(JSON, nullable=False)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    # What the entries take (their JSON, UTF-8) and when the library was last read (at a
    # day's resolution): libraries not read for a while expire (migration 0018).
    bytes: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    read_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), index=True)


class AlertSubscription(Base):
    """An address following a saved search, a library or an author (``search.alerts``):
    pending until its confirmation link is followed; ``since_build`` is the build its
    last digest covered (papers entering later are new for it)."""

    __tablename__ = "alert_subscriptions"
    __table_args__ = {"sqlite_autoincrement": True}

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    address: Mapped[str] = mapped_column(String(254), nullable=False)
    address_key: Mapped[str] = mapped_column(String(64), nullable=False)
    kind: Mapped[str] = mapped_column(String(10), nullable=False)
    target: Mapped[dict] = mapped_column(JSON, nullable=False)
    target_key: Mapped[str] = mapped_column(String(64), nullable=False)
    status: Mapped[str] = mapped_column(String(12), nullable=False)
    nonce: Mapped[str] = mapped_column(String(32), nullable=False)
    since_build: Mapped[int | None] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    confirmed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class AlertMailed(Base):
    """A paper a subscription has been mailed: never again."""

    __tablename__ = "alert_mailed"

    subscription_id: Mapped[int] = mapped_column(Integer, primary_key=True)
    paper_id: Mapped[int] = mapped_column(Integer, primary_key=True)


class AlertOutbox(Base):
    """A mail to send: queued, sent, or failed after its last attempt (kept, counted)."""

    __tablename__ = "alert_outbox"
    __table_args__ = {"sqlite_autoincrement": True}

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    subscription_id: Mapped[int | None] = mapped_column(Integer)
    kind: Mapped[str] = mapped_column(String(12), nullable=False)
    recipient: Mapped[str] = mapped_column(String(254), nullable=False)
    message: Mapped[bytes] = mapped_column(LargeBinary, nullable=False)
    status: Mapped[str] = mapped_column(String(8), nullable=False, default="queued")
    attempts: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    sent_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class ServerKey(Base):
    """A key every server of the store shares (the alert links' signing key)."""

    __tablename__ = "server_keys"

    name: Mapped[str] = mapped_column(String(32), primary_key=True)
    value: Mapped[str] = mapped_column(String(128), nullable=False)
