"""The package of this checkout, built once per test session (``careplus package`` into a temp folder).

Import the fixture into a test module: ``from tests.integration.deploy.packaged import packaged  # noqa: F401``.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from careplus_spark.deploy import package
from careplus_spark.deploy.artifacts import Manifest
from careplus_spark.platform import jars


@pytest.fixture(scope="session")
def packaged(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Manifest]:
    """(dist folder, manifest) of this checkout: the wheel, the jobs, both reader jars, Connector/J."""
    dist = tmp_path_factory.mktemp("dist")
    manifest = package.build(dist, source=package.source_root(), jars_dir=jars.default_jars_dir())
    return dist, manifest
