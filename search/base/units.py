"""Settings as people write them: their variables (``PAPERSEARCH_BUILD_MEMORY``), sizes
(``800MB``, ``2GiB``) and networks (``10.0.0.0/24``)."""

from __future__ import annotations

import re

from search.base.errors import SettingsError


def variable(name: str) -> str:
    """The environment variable of a setting: ``batch_size`` → ``PAPERSEARCH_BATCH_SIZE``."""
    return f"PAPERSEARCH_{name.upper()}"


_SIZE_UNITS = {
    "b": 1,
    "kb": 10**3,
    "mb": 10**6,
    "gb": 10**9,
    "tb": 10**12,
    "kib": 2**10,
    "mib": 2**20,
    "gib": 2**30,
    "tib": 2**40,
}


def parse_networks(raw: str, name: str = "trusted_proxies") -> tuple[str, ...]:
    """``10.0.0.5, 10.1.0.0/16`` → the networks, each checked (a bare address is a /32)."""
    import ipaddress

    networks = []
    for part in (p.strip() for p in raw.split(",")):
        if not part:
            continue
        try:
            networks.append(str(ipaddress.ip_network(part, strict=False)))
        except ValueError:
            raise SettingsError(
                f"{variable(name)} must list addresses or networks (10.0.0.5, 10.0.0.0/24), "
                f"not {part!r}"
            ) from None
    return tuple(networks)


def parse_size(raw: str, name: str = "index_memory") -> int:
    """``800MB``, ``2GB``, ``1.5GiB`` → bytes (a bare number must be followed by a unit)."""
    match = re.fullmatch(r"\s*([0-9]+(?:\.[0-9]+)?)\s*([a-zA-Z]*)\s*", raw)
    unit = match.group(2).lower() if match else None
    if match is None or unit not in _SIZE_UNITS:
        raise SettingsError(
            f"{variable(name)} must be a size with a unit, such as 800MB or 2GB, not {raw!r}"
        )
    return int(float(match.group(1)) * _SIZE_UNITS[unit])


def format_size(size: float) -> str:
    """Bytes in the largest decimal unit that keeps a number ≥ 1 (``1.5GB``), as
    :func:`parse_size` reads it back."""
    for unit in ("TB", "GB", "MB", "kB"):
        scale = _SIZE_UNITS[unit.lower()]
        if size >= scale:
            return f"{size / scale:.3g}{unit}"
    return f"{int(size)}B"
