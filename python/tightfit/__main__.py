"""``python3 -m tightfit ...`` runs the ``tightfit`` command line program with the same
arguments (``python3 -m tightfit generate --model ... --prompt ...``), as ``python -m mlx_vlm``
does for mlx-vlm."""

from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path
from typing import Optional


def find_binary() -> Optional[str]:
    """The ``tightfit`` program: $TIGHTFIT_BINARY, else the one built or installed with this
    package (build/tightfit beside build/python/tightfit/, or PREFIX/bin/tightfit beside
    PREFIX/lib/python3.X/*-packages/tightfit/), else the first on PATH."""
    explicit = os.environ.get("TIGHTFIT_BINARY")
    if explicit:
        return explicit
    package = Path(__file__).resolve().parent
    parents = package.parents
    candidates = [parents[i] / rel for i, rel in ((1, "tightfit"), (3, "bin/tightfit")) if i < len(parents)]
    for candidate in candidates:
        if candidate.is_file() and os.access(candidate, os.X_OK):
            return str(candidate)
    return shutil.which("tightfit")


def main() -> None:
    binary = find_binary()
    if binary is None:
        sys.exit("tightfit: error: the tightfit program was not found (set TIGHTFIT_BINARY or "
                 "put it on PATH)")
    os.execv(binary, ["tightfit", *sys.argv[1:]])


if __name__ == "__main__":
    main()
