"""One settings object for every command and the web app.

Values come from ``PAPERSEARCH_*`` environment variables; CLI flags passed as
overrides win. Defaults work on a laptop: everything lives under one data
directory (``./papersearch-data``).

Each setting is declared once, below, with its type, default and help: the
command-line flags (``search.cli.options``) and the table in
docs/configuration.md (``python -m search.base.settings``) are generated from them.
"""

from __future__ import annotations

import dataclasses
import os
import re
import sys
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from search.base.errors import SettingsError
from search.base.setting_fields import declarations, parse_value, setting, settings_table
from search.base.units import format_size, parse_networks, parse_size, variable

DEFAULT_BASE_MODEL = "allenai/specter2_base"
DEFAULT_PAPER_ADAPTER = "allenai/specter2"
DEFAULT_QUERY_ADAPTER = "allenai/specter2_adhoc_query"

POOLINGS = ("cls", "mean")
DEVICES = ("auto", "cpu", "cuda")
PRECISIONS = ("auto", "fp32", "bf16", "fp16")
QUERY_BACKENDS = ("auto", "torch", "onnx")
EXECUTORS = ("local", "ray")
SHARD_SERVICES = ("local", "ray")
LOG_FORMATS = ("text", "json")
SMTP_SECURITY = ("starttls", "tls", "none")
MAX_SHARDS = 1024  # shards a build may be split into

__all__ = ["Settings", "SettingsError", "format_size", "parse_size", "variable"]
# The settings that choose the model; an index build records each of them.
MODEL_SETTINGS = ("base_model", "paper_adapter", "query_adapter", "pooling")


@dataclass(frozen=True)
class Settings:
    home: Path = setting(
        Path("papersearch-data"),
        "Data directory: `papersearch.sqlite3`, `builds/`, `vectors/`, `rejects/`, `models/` "
        "(the ONNX query encoder).",
        shown_default="`./papersearch-data`",
    )
    database_url: str = setting(
        "",
        "The store: SQLite (`sqlite:///PATH`) or PostgreSQL "
        "(`postgresql+psycopg://USER:PASSWORD@HOST/DB`, the `postgres` extra), with the same "
        "features and the same rankings (text is ranked by each build's keyword index).",
        shown_default="SQLite file in the data directory",
    )
    base_model: str = setting(
        DEFAULT_BASE_MODEL, "Base model: hub id (`org/name[@revision]`), directory or `pkg:`."
    )
    paper_adapter: str | None = setting(
        DEFAULT_PAPER_ADAPTER, "Proximity adapter for papers: hub id, directory, or `none`."
    )
    query_adapter: str | None = setting(
        DEFAULT_QUERY_ADAPTER, "Ad-hoc query adapter for queries: hub id, directory, or `none`."
    )
    model_revision: str = setting(
        "main",
        "Hub revision for model ids without `@revision` (pin a commit hash for reproducible "
        "indexes).",
    )
    pooling: str = setting(
        "cls", "`cls` (SPECTER2) or `mean` (sentence-transformers models).", choices=POOLINGS
    )
    device: str = setting(
        "auto", "`auto` (the GPU when there is one), `cpu` or `cuda`.", choices=DEVICES
    )
    precision: str = setting(
        "auto",
        "`fp32` (exact), `bf16` (faster only on CPUs with avx512_bf16 or AMX: elsewhere "
        "PyTorch emulates it, slower than fp32, and a warning says so), `fp16` (CUDA); "
        "`auto` takes fp16 on CUDA, bf16 on CPUs with native bf16, fp32 elsewhere.",
        choices=PRECISIONS,
    )
    query_backend: str = setting(
        "auto",
        "Encode queries with `torch`, or `onnx` (ONNX Runtime, fp32, CPU; the `onnx` extra); "
        "`auto` takes `onnx` on a CPU when it is installed and its export matches PyTorch.",
        choices=QUERY_BACKENDS,
    )
    max_length: int = setting(
        512, "Tokens the encoder reads per text (SPECTER2 was trained on 512)."
    )
    batch_size: int = setting(
        8, "Papers per encoder batch (on a GPU, up to 4× this for short papers)."
    )
    nlist: int | None = setting(None, "IVF lists.", shown_default="from corpus size")
    nprobe: int | None = setting(
        None, "IVF lists probed per query.", shown_default="measured (see Tuning)"
    )
    index_memory: int | None = setting(
        None,
        "Memory the index's vectors may take (`800MB`, `2GB`, `1.5GiB`): picks how they are "
        "stored (see Index memory).",
        shown_default="no limit",
        parse=parse_size,
    )
    build_memory: int = setting(
        2 << 30,
        "Working memory an index build may use (`800MB`, `8GB`): bounds its training sample "
        "and the vectors it reads at a time; inverted lists larger than half of it are built "
        "on disk (see Large corpora).",
        shown_default="2GiB",
        parse=parse_size,
    )
    refine: int | None = setting(
        None,
        "Semantic searches on SQ/PQ codes take this many times k candidates and re-rank "
        "them by exact distance from the vector files (see Large corpora).",
        shown_default="off",
    )
    keep_builds: int = setting(3, "Index builds kept on disk (older ones are pruned).")
    shards: int = setting(
        1,
        "Shards a build is split into by a hash of the paper id, each with its own FAISS "
        "lists and keyword index, searched in parallel (see Shards).",
    )
    executor: str = setting(
        "local",
        "Where `index` and `reindex` embed papers: `local` (this process) or `ray` (a pool "
        "of encoder actors on a Ray cluster, the `scale` extra; see Large corpora).",
        choices=EXECUTORS,
    )
    ray_address: str = setting(
        "",
        "The Ray cluster to join (`HOST:6379`, as `ray start --head` prints); empty: "
        "`RAY_ADDRESS`, else a Ray started on this machine.",
        shown_default="a local Ray",
    )
    shard_service: str = setting(
        "local",
        "Where a server searches the shards of a build: `local` (its own threads, on the "
        "build's files) or `ray` (Ray Serve deployments on the hosts that hold them; see "
        "docs/hosts.md).",
        choices=SHARD_SERVICES,
    )
    shard_timeout: float = setting(
        5.0,
        "Seconds a server waits for a shard served on Ray before the search fails with 503 "
        "`shard_unavailable`.",
    )
    ray_actors: int | None = setting(
        None,
        "Encoder actors on Ray: one per GPU on a cluster with GPUs, else one per CPU, unless set.",
        shown_default="one per GPU, else per CPU",
    )
    pdf_max_size: int = setting(
        50 * 10**6,
        "Largest PDF read, in a folder indexed as a corpus or uploaded to search by example "
        "(`50MB`); a larger one is a reject, or a 413.",
        shown_default="50MB",
        parse=parse_size,
    )
    pdf_max_pages: int = setting(
        2000, "Most pages a PDF may declare; one with more is a reject, or a 422."
    )
    pdf_timeout: float = setting(
        20.0,
        "Seconds reading one PDF may take (in a child process that is stopped past it); "
        "a slower one is a reject, or a 422.",
    )
    reload_seconds: float = setting(
        2.0, "How often servers look for a new current build (seconds).", flag=False
    )
    query_timeout: float = setting(
        10.0,
        "Seconds a request may wait to have its query encoded before a 503 (busy).",
        flag=False,
    )
    statement_timeout: float = setting(
        10.0,
        "Seconds a search's database query may run on PostgreSQL before it is cancelled "
        "(a 503); the indexer's are not limited.",
        flag=False,
    )
    request_seconds: float = setting(
        60.0,
        "Seconds a client has to send a whole request, body included, to gunicorn "
        "(`web.buffered_worker` reads it before a thread takes it); past them, 408.",
        flag=False,
    )
    request_memory: int = setting(
        256 * 2**20,
        "Bytes of requests a gunicorn worker may hold while it reads them whole (`256MiB`); "
        "past them, 503 with `Retry-After`.",
        flag=False,
        shown_default="256MiB",
        parse=parse_size,
    )
    pdf_readers: int = setting(
        2,
        "PDF uploads read at once by a server process; past them, 503 with `Retry-After`, "
        "so that searches keep their threads.",
        flag=False,
    )
    rate_limit: int | None = setting(
        None,
        "Requests a minute per client address; over it, 429 with `Retry-After`. Counted in "
        "`PAPERSEARCH_RATE_LIMIT_STORAGE`.",
        flag=False,
        shown_default="off",
    )
    rate_limit_storage: str = setting(
        "memory://",
        "Where rate limits are counted (Flask-Limiter's storage URI): `memory://` counts in "
        "each worker process; `redis://HOST:6379` shares one count among every worker and "
        "host (the `redis` extra).",
        flag=False,
    )
    library_rate_limit: int = setting(
        20,
        "BibTeX libraries a client address may have kept an hour (uploading one kept "
        "already is free); over it, 429 with `Retry-After`. Counted where rate limits are.",
        flag=False,
    )
    library_storage: int = setting(
        500 * 10**6,
        "What all kept libraries may take (`500MB`); past it a new library is answered but "
        "not kept (no page or feed), and those kept stay.",
        flag=False,
        shown_default="500MB",
        parse=parse_size,
    )
    library_days: int = setting(
        180,
        "Days a kept library lasts without being read (its page, downloads or feed).",
        flag=False,
    )
    library_seconds: float = setting(
        20.0,
        "Seconds reading an uploaded library may take (parsing, matching, embedding the "
        "entries the corpus lacks); past them, 413. Keep it under the proxy's timeout.",
        flag=False,
    )
    trusted_proxies: tuple[str, ...] = setting(
        (),
        "Addresses or networks of the proxies in front of the servers (`10.0.0.5`, "
        "`10.0.0.0/24`, comma-separated): from them alone `X-Forwarded-For` and "
        "`X-Forwarded-Proto` give the client's address and scheme; they are ignored from "
        "anyone else.",
        flag=False,
        shown_default="none",
        parse=parse_networks,
    )
    public_url: str = setting(
        "",
        "The scheme and host clients reach the servers at (`https://papers.example.org`): "
        "absolute links in feeds and answers are built from it, never from a request's "
        "Host header.",
        flag=False,
        shown_default="none",
    )
    trusted_hosts: tuple[str, ...] = setting(
        ("localhost", "127.0.0.1", "::1"),
        "Without a public URL, the Host headers absolute links may be built from "
        "(comma-separated; `.example.org` takes its subdomains); from any other, links are "
        "relative.",
        flag=False,
        shown_default="`localhost, 127.0.0.1, ::1`",
        parse=lambda raw, name: tuple(h.strip() for h in raw.split(",") if h.strip()),
    )
    metrics_path: str = setting(
        "/metrics",
        "Where servers answer Prometheus's scrapes (empty: no metrics endpoint).",
        flag=False,
    )
    metrics_allow: tuple[str, ...] = setting(
        ("127.0.0.1/32", "::1/128"),
        "Addresses or networks that may read the metrics (Prometheus's), comma-separated; "
        "anyone else, and any request forwarded by a proxy, gets 403.",
        flag=False,
        shown_default="`127.0.0.1, ::1`",
        parse=parse_networks,
    )
    reindex_metrics: Path | None = setting(
        None,
        "The Prometheus text file `reindex` writes its outcome to, for a node exporter's "
        "textfile collector; servers add it to their metrics.",
        flag=False,
        shown_default="`reindex.prom` in the data directory",
    )
    log_format: str = setting(
        "text",
        "Logs as plain `text` lines, or as `json`: one object a line (a request's id, "
        "route, status, latency, mode and build; the indexer's progress).",
        choices=LOG_FORMATS,
    )
    secret_key: str = setting(
        "",
        "The key alert links are signed with (confirming, unsubscribing), the same on every "
        "server: without it, a key kept in the store is used.",
        flag=False,
        shown_default="one kept in the store",
        secret=True,
    )
    # Email alerts (search.alerts): off without a relay and a public URL for their links.
    smtp_host: str = setting("", "The SMTP relay alert mails go through (empty: email alerts "
                             "are off, and the pages say so; they need "
                             "`PAPERSEARCH_PUBLIC_URL` too).", flag=False,
                             shown_default="none (alerts off)")  # fmt: skip
    smtp_port: int = setting(587, "The relay's port.", flag=False)
    smtp_security: str = setting("starttls", "`starttls` (a relay that cannot is refused), "
                                 "`tls` (implicit TLS, usually port 465) or `none` (a relay "
                                 "on this host or network).", flag=False,
                                 choices=SMTP_SECURITY)  # fmt: skip
    smtp_user: str = setting("", "The relay's user name (empty: no login).", flag=False,
                             shown_default="none")  # fmt: skip
    smtp_password: str = setting("", "The relay's password.", flag=False, shown_default="none",
                                 secret=True)  # fmt: skip
    mail_from: str = setting("", "The From address of alert mails.", flag=False,
                             shown_default="`papersearch@` the public URL's host")  # fmt: skip
    alert_client_limit: int = setting(10, "Alert subscriptions a client address may ask for "
                                      "an hour; over it, 429.", flag=False)  # fmt: skip
    alert_address_limit: int = setting(3, "Confirmation mails one email address may be sent "
                                       "a day; over it, 429.", flag=False)  # fmt: skip
    # Not a setting: the settings given by a variable, a flag or a constructor argument
    # rather than left at their defaults (a data directory's own model fills in the rest).
    given: frozenset[str] = field(default=frozenset(), repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "home", Path(self.home).expanduser())
        changed = {f.name for f, _ in declared() if getattr(self, f.name) != f.default}
        object.__setattr__(self, "given", frozenset(self.given | changed))
        for name in ("paper_adapter", "query_adapter"):  # "none" means no adapter
            value = getattr(self, name)
            if value is not None and value.strip().lower() in ("", "none"):
                object.__setattr__(self, name, None)
        for f in dataclasses.fields(self):
            choices = f.metadata.get("choices")
            value = getattr(self, f.name)
            if choices and value not in choices:
                raise SettingsError(f"{variable(f.name)} must be one of {choices}, not {value!r}")
        for name in ("reload_seconds", "query_timeout", "statement_timeout", "library_seconds",
                     "request_seconds", "shard_timeout"):  # fmt: skip
            if getattr(self, name) <= 0:
                raise SettingsError(f"{variable(name)} must be a positive number")
        for name in ("max_length", "batch_size", "keep_builds", "library_storage",
                     "library_days", "request_memory", "pdf_readers", "smtp_port",
                     "alert_client_limit", "alert_address_limit", "shards"):  # fmt: skip
            if getattr(self, name) < 1:
                raise SettingsError(f"{variable(name)} must be a positive integer")
        if self.shards > MAX_SHARDS:
            raise SettingsError(f"{variable('shards')} must be at most {MAX_SHARDS}")
        for name in ("nlist", "nprobe", "index_memory", "build_memory", "rate_limit",
                     "ray_actors", "refine"):  # fmt: skip
            value = getattr(self, name)
            if value is not None and value < 1:
                raise SettingsError(f"{variable(name)} must be a positive integer")
        if not self.base_model:
            raise SettingsError(f"{variable('base_model')} must not be empty")
        for name in ("trusted_proxies", "metrics_allow"):
            networks = getattr(self, name)
            networks = networks if isinstance(networks, str) else ",".join(networks)
            object.__setattr__(self, name, parse_networks(networks, name))
        if self.public_url and not re.fullmatch(r"https?://[^/\s?#]+/?", self.public_url):
            raise SettingsError(f"{variable('public_url')} must be a scheme and host, such as "
                                f"https://papers.example.org, not {self.public_url!r}")  # fmt: skip
        if self.metrics_path and not self.metrics_path.startswith("/"):
            raise SettingsError(f"{variable('metrics_path')} must start with /, or be empty")
        if self.reindex_metrics is not None:
            object.__setattr__(self, "reindex_metrics", Path(self.reindex_metrics))

    @property
    def sqlite_path(self) -> Path:
        return self.home / "papersearch.sqlite3"

    @property
    def builds_dir(self) -> Path:
        """Each index build is one file in here."""
        return self.home / "builds"

    @property
    def vectors_dir(self) -> Path:
        """The papers' vectors: one directory of shards per model (search.store.vectors)."""
        return self.home / "vectors"

    @property
    def models_dir(self) -> Path:
        """Files derived from the models (the ONNX query encoder), rebuilt when missing."""
        return self.home / "models"

    @property
    def reindex_metrics_file(self) -> Path:
        """Where ``reindex`` writes its metrics (``reindex_metrics``, else in the home)."""
        return self.reindex_metrics or self.home / "reindex.prom"

    @property
    def db_url(self) -> str:
        return self.database_url or f"sqlite:///{self.sqlite_path.resolve()}"

    def replace(self, **changes: Any) -> Settings:
        return dataclasses.replace(self, **changes)

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None, **overrides: Any) -> Settings:
        """Read ``PAPERSEARCH_*`` variables; overrides that are not None win."""
        env = os.environ if environ is None else environ
        values: dict[str, Any] = {}
        for f, _ in declared():
            raw = env.get(variable(f.name))
            if raw is not None and raw.strip() != "":
                values[f.name] = _parse(f.name, raw.strip())
        for name, value in overrides.items():
            if value is not None:
                values[name] = _parse(name, value) if isinstance(value, str) else value
        return cls(**values, given=frozenset(values))

    def with_model_of(self, build) -> Settings:
        """These settings with the model that ``build`` was made with, for each model
        setting not given: a data directory is searched and re-indexed with its own model
        unless another is asked for (then the build refuses it, naming its model)."""
        if build is None:
            return self
        adopted = {name: getattr(build, name) for name in MODEL_SETTINGS if name not in self.given}
        settings = dataclasses.replace(self, **adopted)
        object.__setattr__(settings, "given", self.given)  # taken from the build, not given
        return settings


def declared() -> list[tuple[dataclasses.Field, type]]:
    """Each setting's declaration and its value type (``int`` for ``int | None``)."""
    return declarations(Settings)


def _parse(name: str, raw: str) -> Any:
    return parse_value(Settings, name, raw)


def markdown_table() -> str:
    """docs/configuration.md's table, generated from the declarations above."""
    return settings_table(Settings)


if __name__ == "__main__":
    sys.stdout.write(markdown_table())
