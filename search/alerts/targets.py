"""What an alert follows: a saved search (its query, mode and filters), a library kept
for its feed, or an author; checked when subscribed, and ranked again after each build
as its feed is (the first ``FEED_DEPTH`` papers). The engine is the caller's: this
layer is below it."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass

from search.answers.results import Hit
from search.base.errors import InvalidRequest
from search.query.filters import Filters
from search.query.limits import DEFAULT_MODE, MAX_K, MODES
from search.query.plan import SearchPlan

KINDS = ("search", "library", "author")
FEED_DEPTH = MAX_K  # as a feed: new papers among the first this many (search.engine.new_papers)


@dataclass(frozen=True)
class Target:
    """A kind (``KINDS``), the parameters that define it (as its page's URL has them), and
    what mails call it."""

    kind: str
    params: dict[str, str]
    title: str

    @classmethod
    def checked(cls, kind: str, params: dict, engine) -> Target:
        """The target ``params`` name, checked against the engine serving now: a query
        that can be searched, a library that is kept, an author with papers here."""
        if kind not in KINDS:
            raise InvalidRequest(f"An alert follows one of {', '.join(KINDS)}, not "
                                 f"{str(kind)[:40]!r}.")  # fmt: skip
        if kind == "author":
            profile = engine.authors.profile(str(params.get("author") or ""), 1)
            return cls(kind, {"author": profile.author_id}, f"new papers by {profile.name}")
        filters = Filters.from_params(params)
        if kind == "library":
            library = str(params.get("library") or "")
            engine.recommendations.from_saved_library(library, 1, filters=filters)
            return cls(kind, {"library": library, **filters.to_params()},
                       "new papers for your library")  # fmt: skip
        mode = str(params.get("mode") or DEFAULT_MODE)
        if mode not in MODES:
            raise InvalidRequest(f"mode must be one of {', '.join(MODES)}, not {mode[:40]!r}.")
        plan = SearchPlan.of(str(params.get("q") or ""), 1, 0, mode, filters, "relevance")
        return cls(kind, {"q": plan.query, "mode": mode, **filters.to_params()},
                   f"new papers for “{plan.query}”")  # fmt: skip

    @classmethod
    def stored(cls, kind: str, target: dict) -> Target:
        """The target as a subscription keeps it (``as_stored``)."""
        return cls(kind, dict(target["params"]), str(target["title"]))

    def as_stored(self) -> dict:
        return {"params": self.params, "title": self.title}

    @property
    def key(self) -> str:
        """Its identity: subscriptions to it share one ranking at digest time."""
        canonical = json.dumps([self.kind, sorted(self.params.items())], ensure_ascii=False)
        return hashlib.sha256(canonical.encode()).hexdigest()

    def ranked(self, engine) -> list[Hit]:
        """Its first FEED_DEPTH papers in the build the engine serves."""
        filters = Filters.from_params(self.params)
        if self.kind == "author":
            profile = engine.authors.profile(self.params["author"], FEED_DEPTH)
            return profile.papers.results if profile.papers else []
        if self.kind == "library":
            return engine.recommendations.from_saved_library(
                self.params["library"], FEED_DEPTH, filters=filters).results  # fmt: skip
        return engine.search(self.params["q"], FEED_DEPTH, mode=self.params["mode"],
                             filters=filters).results  # fmt: skip

    def page(self, public_url: str) -> str:
        """Its page on the server, absolute."""
        from urllib.parse import urlencode

        base = public_url.rstrip("/")
        if self.kind == "author":
            return f"{base}/authors/{self.params['author']}"
        if self.kind == "library":
            rest = {k: v for k, v in self.params.items() if k != "library"}
            query = f"?{urlencode(rest)}" if rest else ""
            return f"{base}/library/{self.params['library']}{query}"
        return f"{base}/?{urlencode(self.params)}"
