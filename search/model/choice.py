"""Which model a data directory is indexed and searched with, decided once for every
command: its own (the model its index was built with), else the one the settings ask
for, else SPECTER2 when it can be had (the Hugging Face cache or the hub), else the
all-MiniLM-L6-v2 that setup installs, said in one line. A model asked for that cannot
be had is an error, raised before anything is read or stored."""

from __future__ import annotations

import logging
from collections.abc import Callable

from search.base.errors import ModelUnavailable
from search.base.settings import MODEL_SETTINGS, Settings
from search.model.identity import BUNDLED_MODEL_SETTINGS
from search.model.source import resolve

log = logging.getLogger("papersearch")
Echo = Callable[[str], object]

FALLBACK_NOTICE = (
    "SPECTER2 is neither in the Hugging Face cache nor reachable on the hub: using the "
    "all-MiniLM-L6-v2 that papersearch's setup installs (the index records it; set "
    "PAPERSEARCH_BASE_MODEL and the adapters to insist on SPECTER2)."
)


def choose_model(settings: Settings, build, echo: Echo | None = None) -> Settings:
    """``settings`` with the model to use: ``build``'s (the data directory's current
    build, or None), the settings' own, SPECTER2, or the bundled fallback (``echo``
    says so; a log line when there is none)."""
    if build is not None or set(MODEL_SETTINGS) & settings.given:
        return settings.with_model_of(build)
    try:
        for spec in (settings.base_model, settings.paper_adapter, settings.query_adapter):
            if spec:
                resolve(spec, settings.model_revision)
        return settings
    except ModelUnavailable as missing:
        fallback = settings.replace(**BUNDLED_MODEL_SETTINGS)
        try:
            resolve(fallback.base_model)
        except ModelUnavailable as exc:
            raise ModelUnavailable(
                f"{missing} Nor can the all-MiniLM-L6-v2 fallback be loaded: {exc}"
            ) from exc
    (echo or log.warning)(FALLBACK_NOTICE)
    object.__setattr__(fallback, "given", settings.given)  # chosen here, not given
    return fallback
