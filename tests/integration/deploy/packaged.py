"""The package of this checkout, built once per test session (``careplus package`` into a temp folder).

Import the fixture into a test module: ``from tests.integration.deploy.packaged import packaged  # noqa: F401``.
"""

from __future__ import annotations

import uuid
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from careplus_spark.deploy import package
from careplus_spark.deploy.artifacts import Manifest
from careplus_spark.platform import jars
from careplus_spark.platform.config import AppConfig
from careplus_spark.platform.config_deploy import DeployConfig


@pytest.fixture(scope="session")
def packaged(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Manifest]:
    """(dist folder, manifest) of this checkout: the wheel, the jobs, both reader jars, Connector/J."""
    dist = tmp_path_factory.mktemp("dist")
    manifest = package.build(dist, source=package.source_root(), jars_dir=jars.default_jars_dir())
    return dist, manifest


def emulator_deploy(
    base_cfg: AppConfig, aws: Any, monkeypatch: pytest.MonkeyPatch
) -> tuple[DeployConfig, dict[str, str]]:
    """``deploy.*`` pointing at the emulator with a fresh artefact bucket, and job settings on that bucket."""
    for name, value in aws.environment().items():
        monkeypatch.setenv(name, value)
    bucket = f"artefacts-{uuid.uuid4().hex[:8]}"
    aws.boto3_client("s3").create_bucket(Bucket=bucket)
    settings = {
        "lakehouse.root": f"s3://{bucket}/lakehouse",
        "sources.tickets.url": "jdbc:mysql://db.example:3306/careplus",
        "sources.tickets.user": "careplus",
        "sources.logs.path": f"s3://{bucket}/logs",
    }
    deploy = replace(base_cfg.deploy, artifacts_uri=f"s3://{bucket}/artifacts", endpoint=aws.endpoint_url,
                     region=aws.region)
    return deploy, settings
