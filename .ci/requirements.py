"""Print papersearch's requirements for pip, read from pyproject.toml (the one list).

    python .ci/requirements.py --cpu "[onnx,test]"

``--cpu``: the CPU-only route. faiss-cpu replaces faiss-gpu (which pulls about
1.2 GB of CUDA libraries), and torch is left out: .ci/setup installs PyTorch's
CPU wheel first. Used by .ci/setup, which then installs papersearch itself
with --no-deps.
"""

from __future__ import annotations

import argparse
import re
from pathlib import Path

try:
    import tomllib
except ImportError:  # Python 3.10
    from pip._vendor import tomli as tomllib

PYPROJECT = Path(__file__).resolve().parent.parent / "pyproject.toml"


def requirements(extras: list[str], cpu: bool) -> list[str]:
    project = tomllib.loads(PYPROJECT.read_text())["project"]
    wanted = list(project["dependencies"])
    for extra in extras:
        wanted += project["optional-dependencies"][extra]
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
    args = parser.parse_args()
    extras = [e.strip() for e in args.extras.strip("[]").split(",") if e.strip()]
    print("\n".join(requirements(extras, args.cpu)))


if __name__ == "__main__":
    main()
