"""What the demo says while it embeds: an estimate once the rate is measured, then a line
every tenth of the papers or every 30 seconds, never minutes of silence."""

from __future__ import annotations

from indexer.demo import embedding_estimate


def test_the_demo_keeps_saying_how_far_it_is_while_it_embeds():
    lines: list[str] = []
    report = embedding_estimate(lines.append)
    for done in range(8, 2501, 8):  # 10 papers a second
        report(done, 2500, done / 10)
    assert lines[0].startswith("Embedding 2,500 papers at 10.0 papers/s: about 4 min")
    assert 8 <= len(lines) <= 11 and all(" of 2,500 papers (" in line for line in lines[1:])
    slow: list[str] = []
    report = embedding_estimate(slow.append)
    for done in range(8, 200, 8):  # a loaded machine: a paper every 2 s
        report(done, 2500, done * 2.0)
    assert len(slow) >= 10  # every 30 s at least, though a tenth takes 500 s
