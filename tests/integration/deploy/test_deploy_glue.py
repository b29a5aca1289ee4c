"""``careplus deploy glue`` against the AWS API emulator on loopback (moto's server: S3 and Glue).

The package is this checkout's (``careplus package``); the tests read back what Glue and S3 hold
through boto3, as an operator would with the AWS CLI.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from careplus_spark.deploy import commands
from careplus_spark.deploy.artifacts import Manifest
from careplus_spark.errors import ConfigError, DeployError
from careplus_spark.platform.config import AppConfig
from tests.integration.deploy.packaged import emulator_deploy, packaged  # noqa: F401 - the session's package

pytestmark = pytest.mark.slow

ROLE = "arn:aws:iam::123456789012:role/careplus-glue"


@pytest.fixture
def cfg(base_cfg: AppConfig, aws_emulator: Any, monkeypatch: pytest.MonkeyPatch) -> AppConfig:
    """Deploy settings pointing at the emulator, a bucket of this test, a job prefix of this test."""
    deploy, settings = emulator_deploy(base_cfg, aws_emulator, monkeypatch)
    glue = replace(deploy.glue, role=ROLE, job_prefix=f"t{uuid.uuid4().hex[:6]}-", settings=settings)
    return replace(base_cfg, deploy=replace(deploy, glue=glue))


def get_job(aws: Any, name: str) -> dict[str, Any]:
    return dict(aws.boto3_client("glue").get_job(JobName=name)["Job"])


def test_deploy_uploads_the_package_and_defines_the_whole_job(
    cfg: AppConfig, packaged: tuple[Path, Manifest], aws_emulator: Any  # noqa: F811
) -> None:
    dist, manifest = packaged
    report = commands.deploy(cfg, "glue", out=dist)

    name = f"{cfg.deploy.glue.job_prefix}run-pipeline"
    assert [(c.name, c.job, c.trigger) for c in report.jobs] == [(name, "created", "none")]
    bucket, base = cfg.deploy.artifacts_uri.removeprefix("s3://").split("/", 1)
    folder = f"{base}/{manifest.release}"
    s3 = aws_emulator.boto3_client("s3")
    for artefact in manifest.artefacts:
        obj = s3.get_object(Bucket=bucket, Key=f"{folder}/{artefact.path}")
        assert hashlib.sha256(obj["Body"].read()).hexdigest() == artefact.sha256 == obj["Metadata"]["sha256"]
    job = get_job(aws_emulator, name)
    args = job["DefaultArguments"]
    uri = f"s3://{bucket}/{folder}"
    assert job["GlueVersion"] == "6.0" and job["Role"] == ROLE
    assert job["Command"] == {"Name": "glueetl", "ScriptLocation": f"{uri}/jobs/run_pipeline.py", "PythonVersion": "3"}
    assert (job["WorkerType"], job["NumberOfWorkers"], job["Timeout"], job["MaxRetries"]) == ("G.1X", 2, 120, 0)
    assert job["ExecutionProperty"] == {"MaxConcurrentRuns": 1}
    assert args["--env"] == "glue" and args["--datalake-formats"] == "delta"
    assert args["--extra-py-files"] == f"{uri}/careplus_spark-{manifest.version}-py3-none-any.whl"
    assert args["--extra-jars"] == f"{uri}/jars/careplus-logreader-4.1.jar,{uri}/jars/mysql-connector-j-9.5.0.jar"
    assert "spark.sql.extensions=io.delta.sql.DeltaSparkSessionExtension --conf spark.sql.catalog.spark_catalog=" \
           "org.apache.spark.sql.delta.catalog.DeltaCatalog" in args["--conf"]
    assert json.loads(args["--settings"]) == dict(cfg.deploy.glue.settings)
    assert args["--job-bookmark-option"] == "job-bookmark-disable"


def test_a_second_deploy_of_the_same_package_changes_nothing(
    cfg: AppConfig, packaged: tuple[Path, Manifest], aws_emulator: Any  # noqa: F811
) -> None:
    dist, _ = packaged
    commands.deploy(cfg, "glue", out=dist)
    before = get_job(aws_emulator, f"{cfg.deploy.glue.job_prefix}run-pipeline")

    again = commands.deploy(cfg, "glue", out=dist)

    assert again.calls == ()
    assert [c.job for c in again.jobs] == ["unchanged"]
    assert len(again.upload.unchanged) == len(packaged[1].artefacts) + 1 and again.upload.uploaded == ()
    assert get_job(aws_emulator, f"{cfg.deploy.glue.job_prefix}run-pipeline") == before


def test_a_changed_setting_updates_the_whole_definition_and_the_schedule(
    cfg: AppConfig, packaged: tuple[Path, Manifest], aws_emulator: Any  # noqa: F811
) -> None:
    dist, _ = packaged
    commands.deploy(cfg, "glue", out=dist)
    name = f"{cfg.deploy.glue.job_prefix}run-pipeline"
    changed = replace(cfg.deploy.glue, number_of_workers=5, schedule="cron(0 2 * * ? *)",
                      arguments={"--enable-auto-scaling": "true"})

    report = commands.deploy(replace(cfg, deploy=replace(cfg.deploy, glue=changed)), "glue", out=dist)

    assert [(c.job, c.trigger) for c in report.jobs] == [("updated", "created")]
    assert [c.operation for c in report.calls] == ["update_job", "create_trigger"]
    job = get_job(aws_emulator, name)
    assert job["NumberOfWorkers"] == 5 and job["DefaultArguments"]["--enable-auto-scaling"] == "true"
    assert job["DefaultArguments"]["--env"] == "glue"  # the whole definition was sent, not only the change
    trigger = aws_emulator.boto3_client("glue").get_trigger(Name=f"{name}-schedule")["Trigger"]
    assert trigger["Schedule"] == "cron(0 2 * * ? *)" and trigger["Actions"][0]["JobName"] == name

    unscheduled = commands.deploy(replace(cfg, deploy=replace(cfg.deploy, glue=replace(changed, schedule=""))),
                                  "glue", out=dist)
    assert [(c.job, c.trigger) for c in unscheduled.jobs] == [("unchanged", "deleted")]


def test_a_missing_bucket_fails_before_anything_is_defined(
    cfg: AppConfig, packaged: tuple[Path, Manifest], aws_emulator: Any  # noqa: F811
) -> None:
    dist, _ = packaged
    cfg = replace(cfg, deploy=replace(cfg.deploy, artifacts_uri=f"s3://no-such-{uuid.uuid4().hex[:8]}/artifacts"))

    with pytest.raises(DeployError, match=r"deploy\.artifacts_uri: bucket 'no-such-.*' does not exist"):
        commands.deploy(cfg, "glue", out=dist)

    names = aws_emulator.boto3_client("glue").list_jobs()["JobNames"]
    assert not [n for n in names if n.startswith(cfg.deploy.glue.job_prefix)]


def test_a_job_of_that_name_not_made_by_careplus_is_left_alone(
    cfg: AppConfig, packaged: tuple[Path, Manifest], aws_emulator: Any  # noqa: F811
) -> None:
    name = f"{cfg.deploy.glue.job_prefix}run-pipeline"
    glue = aws_emulator.boto3_client("glue")
    glue.create_job(Name=name, Role=ROLE, Command={"Name": "glueetl", "ScriptLocation": "s3://other/job.py"})

    with pytest.raises(DeployError, match="was not created by careplus deploy"):
        commands.deploy(cfg, "glue", out=packaged[0])

    assert glue.get_job(JobName=name)["Job"]["Command"]["ScriptLocation"] == "s3://other/job.py"


def test_a_job_that_could_not_start_is_refused_naming_the_settings(
    cfg: AppConfig, packaged: tuple[Path, Manifest]  # noqa: F811
) -> None:
    settings = {k: v for k, v in cfg.deploy.glue.settings.items() if k != "lakehouse.root"}
    cfg = replace(cfg, deploy=replace(cfg.deploy, glue=replace(cfg.deploy.glue, settings=settings)))

    with pytest.raises(ConfigError, match=r"deploy\.glue\.settings.*CAREPLUS_LAKEHOUSE_ROOT"):
        commands.deploy(cfg, "glue", out=packaged[0])


def test_an_unreachable_aws_endpoint_is_one_clear_error(
    cfg: AppConfig, packaged: tuple[Path, Manifest]  # noqa: F811
) -> None:
    cfg = replace(cfg, deploy=replace(cfg.deploy, endpoint="http://127.0.0.1:9"))

    with pytest.raises(DeployError, match=r"s3 head_bucket for artefacts-\w+ failed: EndpointConnectionError"):
        commands.deploy(cfg, "glue", out=packaged[0])
