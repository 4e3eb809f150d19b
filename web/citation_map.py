"""A paper's citation map as an SVG the page holds inline: papers placed by year (left to
right), sized by citations, links drawn from citing to cited, each paper a link to its
page with its title as a tooltip. No script draws or lays it out, so it reads without
JavaScript. Drawn with drawsvg (docs/design.md says why); the layout is the years':
within a year, papers are spread evenly, the paper itself in the middle.
"""

from __future__ import annotations

import math

import drawsvg
from flask import url_for
from markupsafe import Markup

from search.engine.citation_map import CitationMap, MapNode

WIDTH, HEIGHT = 900, 440
LABEL_CHARS = 70  # of the paper's title, written above it
MARGIN_X, TOP, BOTTOM = 60, 30, 50
COLOURS = {"paper": "#c0392b", "reference": "#2471a3", "citer": "#1e8449",
           "connected": "#7d6608"}  # fmt: skip
ROLE_NAMES = {"paper": "this paper", "reference": "a reference", "citer": "cites it",
              "connected": "connected"}  # fmt: skip


class _Link(drawsvg.DrawingParentElement):
    """``<a href>`` around a node (drawsvg 2 has no element for it)."""

    TAG_NAME = "a"

    def __init__(self, href: str, **kwargs) -> None:
        super().__init__(href=href, **kwargs)


def map_svg(found: CitationMap) -> Markup:
    """The map as inline SVG markup (text escaped by drawsvg; hrefs are ours)."""
    places = _layout(found.nodes)
    drawing = drawsvg.Drawing(WIDTH, HEIGHT, role="img", aria_label="Citation map",
                              class_="citation-map")  # fmt: skip
    for citing, cited in found.links:
        (x1, y1), (x2, y2) = places[citing], places[cited]
        drawing.append(drawsvg.Line(x1, y1, x2, y2, stroke="#999", stroke_width=0.8,
                                    stroke_opacity=0.7))  # fmt: skip
    for node in sorted(found.nodes, key=lambda n: n.role == "paper"):  # the paper on top
        x, y = places[node.id]
        circle = drawsvg.Circle(x, y, _radius(node), fill=COLOURS[node.role],
                                fill_opacity=0.85, stroke="#fff")  # fmt: skip
        year = f" ({node.year})" if node.year else ""
        circle.append_title(f"{node.title}{year}: {ROLE_NAMES[node.role]}, cited by "
                            f"{node.citations:,}")  # fmt: skip
        link = _Link(url_for("pages.paper_page", ref=int(node.id)))
        link.append(circle)
        drawing.append(link)
    paper = found.nodes[0]
    x, y = places[paper.id]
    label = paper.title if len(paper.title) <= LABEL_CHARS else paper.title[: LABEL_CHARS - 1] + "…"
    anchor = "start" if x < WIDTH / 2 else "end"
    drawing.append(drawsvg.Text(label, 12, x, y - _radius(paper) - 6, text_anchor=anchor,
                                fill="currentColor", font_weight="bold"))  # fmt: skip
    _axis(drawing, [n.year for n in found.nodes if n.year])
    return Markup(drawing.as_svg(header=""))


def _layout(nodes: list[MapNode]) -> dict[int, tuple[float, float]]:
    """(x, y) of each node: x by year (papers without one at the left edge), y spread
    evenly within the year, the paper itself in the middle of its own."""
    years = [n.year for n in nodes if n.year]
    first, last = (min(years), max(years)) if years else (0, 0)
    span = max(last - first, 1)

    def x_of(year: int | None) -> float:
        if year is None:
            return MARGIN_X / 2
        return MARGIN_X + (year - first) / span * (WIDTH - 2 * MARGIN_X)

    columns: dict[int | None, list[MapNode]] = {}
    for node in nodes:
        columns.setdefault(node.year, []).append(node)
    places = {}
    for year, column in columns.items():
        column.sort(key=lambda n: (n.role != "paper", -n.citations, n.id))
        middle_out = sorted(range(len(column)), key=lambda i: (abs(i - (len(column) - 1) / 2), i))
        usable = HEIGHT - TOP - BOTTOM
        for slot, node in zip(middle_out, column, strict=True):
            y = TOP + usable * (slot + 0.5) / len(column)
            places[node.id] = (x_of(year), y)
    return places


def _radius(node: MapNode) -> float:
    return 4 + 2.5 * math.log1p(max(node.citations, 0))


def _axis(drawing, years: list[int]) -> None:
    """The years along the bottom: the first, the last and a few between."""
    if not years:
        return
    first, last = min(years), max(years)
    span = max(last - first, 1)
    step = max(1, math.ceil(span / 8))
    y = HEIGHT - BOTTOM / 2
    for year in range(first, last + 1, step):
        x = MARGIN_X + (year - first) / span * (WIDTH - 2 * MARGIN_X)
        drawing.append(drawsvg.Text(str(year), 12, x, y, text_anchor="middle", fill="currentColor"))
