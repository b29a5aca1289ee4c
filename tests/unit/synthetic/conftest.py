"""The dirty generated sources shared by the synthetic tests (generated once per session)."""

from __future__ import annotations

from pathlib import Path

import pytest

from careplus_spark.synthetic import GenerateStats
from tests.synthetic_support import DIRTY, run


@pytest.fixture(scope="session")
def dirty(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, GenerateStats]:
    """A folder generated from :data:`DIRTY` (``tickets.db`` and ``logs/``) and its stats."""
    root = tmp_path_factory.mktemp("dirty")
    return root, run(DIRTY, root)
