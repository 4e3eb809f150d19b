"""A newcomer's first hour, as the README tells it: `papersearch demo` on a machine where the
Hugging Face hub cannot be reached and nothing is set, then the command the demo prints,
then every command-line example in the README and docs/, as written, on the demo's data
directory.

Slow: the demo embeds the bundled 3,000 papers with all-MiniLM-L6-v2's real weights.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from tests.helpers import REPO, free_port

pytestmark = pytest.mark.slow

DOCS = [REPO / "README.md", *sorted((REPO / "docs").glob("*.md"))]
# Examples not run here: servers (the demo itself is run by the fixture), and what needs
# the internet, a GPU, a Ray cluster or files this repository does not have.
NOT_RUN = ("papersearch demo", "papersearch serve", "model download", "../shared/data",
           "--executor ray")  # fmt: skip


def clean_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PAPERSEARCH_", "HF_"))}
    return {**env, **extra}


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    """`papersearch demo` in an empty directory: no PAPERSEARCH_* variables, an empty
    Hugging Face cache and a hub that refuses connections. Yields once it answers a search
    over HTTP: (its directory, what it printed, its URL, the first page it served)."""
    root = tmp_path_factory.mktemp("newcomer")
    for part in ("indexer", "tests"):  # the README's paths (the sample, tests/data) are the clone's
        (root / part).symlink_to(REPO / part)
    env = clean_env(HF_HOME=str(root / "hf-cache"), HF_ENDPOINT="http://127.0.0.1:9")
    port = free_port()
    log = (root / "demo.log").open("w")
    proc = subprocess.Popen(
        [sys.executable, "-m", "papersearch", "demo", "--port", str(port)],
        cwd=root, env=env, stdout=log, stderr=subprocess.STDOUT, text=True,
    )  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 900
        while True:
            assert proc.poll() is None, (root / "demo.log").read_text()
            try:  # the first page a browser would load, before anything else is asked
                with urllib.request.urlopen(f"{url}/", timeout=10) as r:
                    first_page = r.read().decode()
                    break
            except OSError:
                assert time.monotonic() < deadline, (root / "demo.log").read_text()
                time.sleep(2)
        with urllib.request.urlopen(f"{url}/api/v1/search?q=graph&k=3", timeout=10) as r:
            assert len(json.load(r)["results"]) == 3
        yield root, (root / "demo.log").read_text(), url, first_page
    finally:
        proc.terminate()
        proc.wait(timeout=30)
        log.close()


def run_cli(args: list[str], cwd: Path, env: dict[str, str]) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "papersearch", *args], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=900)  # fmt: skip


def test_the_demo_runs_offline_with_nothing_set_and_says_what_it_does(demo):
    root, printed, url, first_page = demo
    assert printed.count("using the all-MiniLM-L6-v2") == 1  # SPECTER2 cannot be had: said
    # The precision check (where the CPU has bf16) embeds its sample once: the rest follow.
    checked = re.search(
        r"Checking that \w+ keeps this model's rankings: (\d+) of the 3,000", printed
    )
    rest = 3000 - int(checked.group(1)) if checked else 3000
    assert re.search(rf"Embedding {rest:,} papers at [0-9.]+ papers/s: about .+ to go", printed)
    # The arXiv sample has no venues: the first page offers no venue filter.
    assert 'name="venue"' not in first_page and 'name="category"' in first_page
    assert "Indexed 3,000 papers" in printed and "Query it from another terminal:" in printed
    with urllib.request.urlopen(f"{url}/api/v1/health", timeout=10) as response:
        health = json.load(response)
    assert health["models"]["name"] == "all-MiniLM-L6-v2" and health["papers"] == 3000
    for path in ("/", "/api", "/api/v1/openapi.json"):
        with urllib.request.urlopen(url + path, timeout=10) as response:
            text = response.read().decode()
        assert "all-MiniLM-L6-v2" in text and "SPECTER2" not in text, path
    with urllib.request.urlopen(f"{url}/papers/2212.09525", timeout=10) as response:
        assert "2212.09525" in response.read().decode()


def test_the_command_the_demo_prints_answers_with_nothing_set(demo):
    root, printed, _, _ = demo
    commands = [line.strip() for line in printed.splitlines() if " search " in line]
    assert commands and commands[0].startswith("papersearch --home papersearch-demo search")
    for command in commands:
        args = shlex.split(command)[1:]
        done = run_cli(args, root, clean_env(HF_HUB_OFFLINE="1"))
        assert done.returncode == 0, done.stdout + done.stderr
        assert re.match(r"([1-9][0-9]*) of ", done.stdout), done.stdout


def examples() -> list[tuple[str, dict[str, str], str]]:
    """(document, the variables exported before it in its block, command) for every
    papersearch command in a ```bash block of the README and docs/."""
    found = []
    for doc in DOCS:
        for block in re.findall(r"```bash\n(.*?)```", doc.read_text(), flags=re.S):
            exported: dict[str, str] = {}
            for line in block.replace("\\\n", " ").splitlines():
                command = line.split(" #")[0].strip()
                if command.startswith("export "):
                    for assignment in shlex.split(command)[1:]:
                        name, _, value = assignment.partition("=")
                        exported[name] = value
                elif re.match(r"(\.venv/bin/)?papersearch\b", command):
                    found.append((doc.name, dict(exported), command))
    return found


def test_the_readmes_corpus_commands_run_as_written_offline_with_nothing_set(tmp_path):
    """A newcomer's machine: no SPECTER2 anywhere, the hub unreachable, nothing set. The
    README's "Your corpus" commands index with the bundled all-MiniLM-L6-v2, saying so,
    and each answers."""
    readme = (REPO / "README.md").read_text()
    section = readme[readme.index("## Your corpus") :]
    block = re.search(r"```bash\n(.*?)```", section, flags=re.S).group(1)
    commands = [line.split(" #")[0].strip() for line in block.splitlines() if line.strip()]
    assert commands and all(c.startswith("papersearch ") for c in commands)
    for part in ("indexer", "tests"):
        (tmp_path / part).symlink_to(REPO / part)
    env = clean_env(HF_HOME=str(tmp_path / "empty-hf-cache"), HF_ENDPOINT="http://127.0.0.1:9")
    for command in commands:
        started = time.monotonic()
        done = run_cli(shlex.split(command)[1:], tmp_path, env)
        assert done.returncode == 0, f"{command}\n{done.stdout}{done.stderr}"
        if " index " in command:
            assert "using the all-MiniLM-L6-v2" in done.stdout + done.stderr, command
        assert time.monotonic() - started < 120, command


def test_every_example_in_the_readme_and_docs_works_on_the_bundled_sample(demo, tiny_model_dirs):
    """Each example runs as written, from the clone's root, against the demo's directory
    (the tiny SPECTER2-shaped model stands in for SPECTER2 where an example needs it);
    searches must find papers."""
    root, _, _, _ = demo
    env = clean_env(HF_HOME=os.environ["HF_HOME"], HF_HUB_CACHE=os.environ["HF_HUB_CACHE"],
                    HF_HUB_OFFLINE="1", PAPERSEARCH_PRECISION="fp32")  # fmt: skip
    ran = []
    for doc, exported, command in examples():
        if any(marker in command for marker in NOT_RUN):
            continue
        args = shlex.split(command)[1:]
        done = run_cli(args, root, {**env, **exported})
        assert done.returncode == 0, f"{doc}: {command}\n{done.stdout}{done.stderr}"
        if "search" in args:
            if "--json" in args:
                assert json.loads(done.stdout)["results"], f"{doc}: {command} found nothing"
            else:
                assert re.match(r"[1-9][0-9]* of ", done.stdout), f"{doc}: {command}"
        ran.append(command)
    assert len(ran) >= 12, ran
