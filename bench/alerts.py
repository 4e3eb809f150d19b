"""Benchmark: a digest run for many alert subscriptions against a local SMTP sink.

    python bench/alerts.py [--subscriptions 100000] [--targets 1000]

Indexes the bundled arXiv sample (all but its last 100 papers) with all-MiniLM-L6-v2,
subscribes N addresses (confirmed, as if each followed its link) to T targets: searches
by the words of the sample's titles in each mode, and authors. A re-index then publishes
the last 100 papers, and mails each subscription its digest through an SMTP sink in a
process of its own (``aiosmtpd -c aiosmtpd.handlers.Sink``). Prints the digest run's
time and rate, against a baseline in the same run: the same number of ready messages
sent through the same sink on one connection (what any digest run must at least pay).
"""

from __future__ import annotations

import argparse
import json
import random
import shutil
import smtplib
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from workload import SAMPLE, minilm_settings

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))


def sink(port: int) -> subprocess.Popen:
    process = subprocess.Popen([sys.executable, "-m", "aiosmtpd", "-n", "-l",
                                f"127.0.0.1:{port}", "-c", "aiosmtpd.handlers.Sink"])  # fmt: skip
    for _ in range(100):
        try:
            smtplib.SMTP("127.0.0.1", port, timeout=1).quit()
            return process
        except OSError:
            time.sleep(0.1)
    process.kill()
    raise SystemExit("the SMTP sink did not start")


def targets(papers: list[dict], count: int) -> list[tuple[str, dict]]:
    rng = random.Random(5)
    words = [w for p in papers for w in p["title"].lower().split() if len(w) > 6 and w.isalpha()]
    authors = [p["authors"][0] for p in papers if p.get("authors")]
    chosen = []
    for i in range(count):
        if i % 4 == 3:
            chosen.append(("author", {"author": rng.choice(authors)}))
        else:
            mode = ("keyword", "hybrid", "semantic")[i % 4 % 3]
            query = " ".join(rng.sample(words, 2))
            chosen.append(("search", {"q": query, "mode": mode}))
    return chosen


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--subscriptions", type=int, default=100_000)
    parser.add_argument("--targets", type=int, default=1_000)
    args = parser.parse_args()
    from sqlalchemy import insert

    from indexer.pipeline import index_corpus, run
    from search.alerts import Alerts
    from search.alerts.addresses import address_key
    from search.alerts.targets import Target
    from search.engine.engine import SearchEngine
    from search.store import Store
    from search.store.schema import AlertSubscription
    from tests.helpers import free_port

    home = Path(tempfile.mkdtemp(prefix="alerts-bench-"))
    port = free_port()
    process = sink(port)
    try:
        settings = minilm_settings(home=home, smtp_host="127.0.0.1", smtp_port=port,
                                   smtp_security="none",
                                   public_url="https://papers.example.org")  # fmt: skip
        papers = [json.loads(line) for line in SAMPLE.read_text().splitlines()]
        first, last = home / "first.jsonl", home / "last.jsonl"
        first.write_text("".join(json.dumps(p) + "\n" for p in papers[:-100]))
        last.write_text("".join(json.dumps(p) + "\n" for p in papers[-100:]))
        index_corpus(settings, [first])
        engine = SearchEngine.open(settings)
        alerts = Alerts(settings, Store.open(settings))
        checked = [Target.checked(kind, params, engine) for kind, params in
                   targets(papers[:-100], args.targets)]  # fmt: skip
        started = time.perf_counter()
        rows = [{"address": f"reader{n}@example.org",
                 "address_key": address_key(f"reader{n}@example.org"),
                 "kind": checked[n % len(checked)].kind,
                 "target": checked[n % len(checked)].as_stored(),
                 "target_key": checked[n % len(checked)].key, "status": "confirmed",
                 "nonce": "bench", "since_build": engine.build.id}
                for n in range(args.subscriptions)]  # fmt: skip
        with alerts.rows.sessions() as session:
            session.execute(insert(AlertSubscription), rows)
            session.commit()
        print(f"{args.subscriptions:,} confirmed subscriptions to {len(checked):,} targets "
              f"stored in {time.perf_counter() - started:.1f} s")  # fmt: skip
        summary = run(settings, [last])
        outcome = summary.alerts
        digests = outcome["seconds"]
        print(f"re-index publishing 100 new papers: {summary.seconds:.1f} s, of which the "
              f"digest run {digests:.1f} s: {outcome['digests']:,} digests queued, "
              f"{outcome['mails_sent']:,} sent "
              f"({outcome['mails_sent'] / digests:,.0f} a second), "
              f"{outcome['mails_retried']:,} retried, "
              f"{outcome['mails_failed']:,} failed")  # fmt: skip
        message = (b"From: papersearch@papers.example.org\r\nTo: reader@example.org\r\n"
                   b"Subject: baseline\r\n\r\n" + (b"x" * 70 + b"\r\n") * 40)  # fmt: skip
        started = time.perf_counter()
        connection = smtplib.SMTP("127.0.0.1", port)
        for n in range(outcome["mails_sent"]):
            connection.sendmail("papersearch@papers.example.org", [f"reader{n}@example.org"],
                                message)  # fmt: skip
        connection.quit()
        baseline = time.perf_counter() - started
        print(f"baseline: {outcome['mails_sent']:,} ready messages through the sink: "
              f"{baseline:.1f} s")  # fmt: skip
        print(f"digest run / baseline: {digests / baseline:.2f}")
    finally:
        process.terminate()
        process.wait(timeout=10)
        shutil.rmtree(home, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
