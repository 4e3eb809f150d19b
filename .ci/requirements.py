"""Print papersearch's requirements for pip, read from pyproject.toml (the one list).

    python .ci/requirements.py --cpu "[onnx,test]"
    python .ci/requirements.py --cpu --wheel dist/papersearch-0.1.0-py3-none-any.whl

``--cpu``: the CPU-only route. faiss-cpu replaces faiss-gpu (which pulls about
1.2 GB of CUDA libraries), and torch is left out: .ci/setup installs PyTorch's
CPU wheel first. Used by .ci/setup, which then installs papersearch itself
with --no-deps. ``--wheel``: the requirements a built wheel's own metadata declares
(``Requires-Dist``), for .ci/wheel-smoke.
"""

from __future__ import annotations

import argparse
import re
import zipfile
from email.parser import Parser
from pathlib import Path

try:
    import tomllib
except ImportError:  # Python 3.10
    from pip._vendor import tomli as tomllib

PYPROJECT = Path(__file__).resolve().parent.parent / "pyproject.toml"


def declared(extras: list[str]) -> list[str]:
    """The requirements pyproject.toml declares, with those of ``extras``."""
    project = tomllib.loads(PYPROJECT.read_text())["project"]
    wanted = list(project["dependencies"])
    for extra in extras:
        wanted += project["optional-dependencies"][extra]
    return wanted


def in_wheel(wheel: Path, extras: list[str]) -> list[str]:
    """The requirements a wheel's METADATA declares, with those of ``extras`` (the marker
    ``extra == "..."`` dropped, as pip does once the extra is asked for)."""
    with zipfile.ZipFile(wheel) as archive:
        name = next(n for n in archive.namelist() if n.endswith(".dist-info/METADATA"))
        metadata = Parser().parsestr(archive.read(name).decode("utf-8"))
    wanted = []
    for requirement in metadata.get_all("Requires-Dist") or []:
        extra = re.search(r"""extra\s*==\s*["']([^"']+)["']""", requirement)
        if extra is None:
            wanted.append(requirement)
        elif extra.group(1) in extras:
            wanted.append(re.sub(r"\s*;\s*extra\s*==.*$", "", requirement))
    return wanted


def requirements(extras: list[str], cpu: bool, wheel: Path | None = None) -> list[str]:
    wanted = in_wheel(wheel, extras) if wheel else declared(extras)
    out = []
    for requirement in wanted:
        name = re.split(r"[<>=!~;\[ ]", requirement, maxsplit=1)[0].lower()
        if cpu and name == "torch":
            continue
        if cpu and name in ("faiss-gpu", "faiss-cpu"):
            version = re.search(r"(>=|==)[^;]+", requirement)
            requirement = "faiss-cpu" + (version.group(0).strip() if version else "")
        if requirement not in out:
            out.append(requirement)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("extras", nargs="?", default="", help='e.g. "[onnx,test]"')
    parser.add_argument("--cpu", action="store_true", help="faiss-cpu, and no torch")
    parser.add_argument("--wheel", type=Path, help="read a built wheel's metadata instead")
    args = parser.parse_args()
    extras = [e.strip() for e in args.extras.strip("[]").split(",") if e.strip()]
    print("\n".join(requirements(extras, args.cpu, args.wheel)))


if __name__ == "__main__":
    main()
