"""Click options that every part's commands share: the settings flags, filters, ``--json``.

The settings flags are generated from the declarations in ``search.base.settings``,
so a setting, its variable, its flag and its help are written once.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from pathlib import Path

import click

from search.base.settings import Settings, declared, variable
from search.query.filters import FILTER_PARAMETERS, Filters

JSON_OPTION = click.option(
    "--json", "as_json", is_flag=True, help="Print one JSON document instead of text."
)


def _settings_flags() -> list[tuple[str, Callable]]:
    flags = []
    for f, kind in declared():
        if not f.metadata["flag"]:
            continue
        if f.metadata["choices"]:
            click_type = click.Choice(f.metadata["choices"], case_sensitive=False)
        elif kind is Path:
            click_type = click.Path(path_type=Path)
        elif f.metadata["parse"] is not None:
            click_type = str  # parsed by Settings, which names the variable in its errors
        else:
            click_type = kind
        name = "--" + f.name.replace("_", "-")
        help_text = f"{f.metadata['help']} [{variable(f.name)}]"
        flags.append((f.name, click.option(name, f.name, type=click_type, help=help_text)))
    return flags


def settings_options(command: Callable) -> Callable:
    """Add the settings flags to a command; it receives ``settings`` instead of them.

    Each flag overrides the ``PAPERSEARCH_*`` variable of the same name.
    """
    flags = _settings_flags()
    names = [name for name, _ in flags]

    @functools.wraps(command)
    def wrapper(*args, **kwargs):
        overrides = {name: kwargs.pop(name) for name in names}
        if overrides["home"] is None:  # `papersearch --home DIR command` says it once for all
            overrides["home"] = click.get_current_context().find_root().params.get("home")
        kwargs["settings"] = Settings.from_env(**overrides)
        return command(*args, **kwargs)

    for _, option in reversed(flags):
        wrapper = option(wrapper)
    return wrapper


def filter_options(command: Callable) -> Callable:
    """--year, --venue, --category, --author (the API's filters, from their declarations);
    the command receives ``filters``, a :class:`Filters`."""
    options = [click.option(f"--{f.name}", help=f.help) for f in FILTER_PARAMETERS]

    @functools.wraps(command)
    def wrapper(*args, **kwargs):
        kwargs["filters"] = Filters.from_params({f.name: kwargs.pop(f.name)
                                                 for f in FILTER_PARAMETERS})  # fmt: skip
        return command(*args, **kwargs)

    for option in reversed(options):
        wrapper = option(wrapper)
    return wrapper
