"""How a setting is declared (``setting``: its default, help, flag, choices and parser),
and what is generated from the declarations of a settings class: the list of them, a
value parsed from its variable's text, and the documentation's table."""

from __future__ import annotations

import dataclasses
import typing
from collections.abc import Callable
from dataclasses import field
from pathlib import Path
from typing import Any

from search.base.errors import SettingsError
from search.base.units import variable


def setting(
    default: Any,
    help: str,
    *,
    flag: bool = True,
    choices: tuple[str, ...] | None = None,
    shown_default: str | None = None,
    parse: Callable[[str, str], Any] | None = None,
    secret: bool = False,
) -> Any:
    """Declare a setting: ``flag`` gives it a command-line flag as well as its variable;
    ``shown_default`` is how the docs show a default that is computed or absent."""
    metadata = {"help": help, "flag": flag, "choices": choices, "shown_default": shown_default,
                "parse": parse}  # fmt: skip
    return field(default=default, metadata=metadata, repr=not secret)


def declarations(cls: type) -> list[tuple[dataclasses.Field, type]]:
    """Each setting of ``cls`` and its value type (``int`` for ``int | None``)."""
    hints = typing.get_type_hints(cls)
    out = []
    for f in dataclasses.fields(cls):
        if "help" not in f.metadata:
            continue  # not a setting
        kind = hints[f.name]
        args = [a for a in typing.get_args(kind) if a is not type(None)]
        out.append((f, args[0] if args else kind))
    return out


def parse_value(cls: type, name: str, raw: str) -> Any:
    """The value of setting ``name`` of ``cls`` from its variable's text."""
    f, kind = next((f, kind) for f, kind in declarations(cls) if f.name == name)
    if f.metadata["parse"] is not None:
        return f.metadata["parse"](raw, name)
    if kind in (int, float):
        try:
            return kind(raw)
        except ValueError:
            what = "an integer" if kind is int else "a number"
            raise SettingsError(f"{variable(name)} must be {what}, not {raw!r}") from None
    if kind is Path:
        return Path(raw)
    if f.metadata["choices"]:
        return raw.lower()
    return raw


def settings_table(cls: type) -> str:
    """The documentation's table of the settings of ``cls``."""
    rows = ["| variable | flag | default | meaning |", "|---|---|---|---|"]
    for f, _ in declarations(cls):
        shown = f.metadata["shown_default"] or f"`{f.default}`"
        flag = "`--" + f.name.replace("_", "-") + "`" if f.metadata["flag"] else "–"
        rows.append(f"| `{variable(f.name)}` | {flag} | {shown} | {f.metadata['help']} |")
    return "\n".join(rows) + "\n"
