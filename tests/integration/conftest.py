"""Every test under ``tests/integration/`` carries the ``integration`` marker.

Integration tests write Delta tables, run pipeline steps, talk to a real server (MariaDB,
the S3 gateway) or start processes; ``make test-fast`` (``-m "not integration and not
slow"``) leaves them out. The marker is added here, by path, so that no file can forget it.
"""

from __future__ import annotations

from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent


@pytest.hookimpl(tryfirst=True)  # before the mark plugin deselects by -m
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    for item in items:
        if item.path.resolve().is_relative_to(HERE):
            item.add_marker(pytest.mark.integration)
