"""Golden files under ``tests/data/ddl``: compare, or rewrite with ``CAREPLUS_UPDATE_GOLDEN=1``."""

from __future__ import annotations

import os
from pathlib import Path

GOLDEN = Path(__file__).resolve().parents[2] / "data" / "ddl"


def check(relative: str, text: str) -> None:
    """Asserts ``text`` equals the golden file ``tests/data/ddl/<relative>``.

    With ``CAREPLUS_UPDATE_GOLDEN=1`` in the environment the file is (re)written first; review
    the diff (``git diff tests/data/ddl``) before committing it.
    """
    path = GOLDEN / relative
    if os.environ.get("CAREPLUS_UPDATE_GOLDEN") == "1":
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    assert path.exists(), f"{path} is missing: run the tests once with CAREPLUS_UPDATE_GOLDEN=1"
    assert text == path.read_text(encoding="utf-8"), f"{relative} differs from the golden file"
