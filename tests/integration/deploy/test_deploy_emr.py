"""``careplus deploy emr`` against the AWS API emulator on loopback (moto's server: S3, EMR, EMR Serverless).

Steps and job runs are read back through boto3; whether EMR would run them is the standalone
cluster test's part (the same ``spark-submit`` of the same package, on a real cluster).
"""

from __future__ import annotations

import json
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

ROLE = "arn:aws:iam::123456789012:role/careplus-emr"


@pytest.fixture
def cfg(base_cfg: AppConfig, aws_emulator: Any, monkeypatch: pytest.MonkeyPatch) -> AppConfig:
    deploy, settings = emulator_deploy(base_cfg, aws_emulator, monkeypatch)
    emr = replace(deploy.emr, settings=settings, poll_seconds=0.05)
    return replace(base_cfg, deploy=replace(deploy, emr=emr))


def with_emr(cfg: AppConfig, **changes: Any) -> AppConfig:
    return replace(cfg, deploy=replace(cfg.deploy, emr=replace(cfg.deploy.emr, **changes)))


def cluster(aws: Any, release: str = "emr-7.13.0") -> str:
    """A cluster in the emulator, waiting for steps."""
    found = aws.boto3_client("emr").run_job_flow(
        Name="careplus-test", ReleaseLabel=release, JobFlowRole="EMR_EC2_DefaultRole", ServiceRole="EMR_DefaultRole",
        Instances={"MasterInstanceType": "m5.xlarge", "InstanceCount": 1, "KeepJobFlowAliveWhenNoSteps": True},
    )
    return str(found["JobFlowId"])


def test_steps_run_the_packaged_jobs_with_the_clusters_jars(
    cfg: AppConfig, packaged: tuple[Path, Manifest], aws_emulator: Any  # noqa: F811
) -> None:
    dist, manifest = packaged
    cluster_id = cluster(aws_emulator)

    report = commands.deploy(with_emr(cfg, cluster_id=cluster_id), "emr", out=dist,
                             jobs=["ingest_tickets", "ingest_logs"])

    steps = aws_emulator.boto3_client("emr").list_steps(ClusterId=cluster_id)["Steps"]
    by_name = {s["Name"]: s for s in steps}
    assert [job for job, _ in report.submitted] == ["ingest_tickets", "ingest_logs"]
    uri = f"{cfg.deploy.artifacts_uri}/{manifest.release}"
    args = by_name[f"careplus ingest_logs ({manifest.release})"]["Config"]["Args"]
    assert by_name[f"careplus ingest_logs ({manifest.release})"]["ActionOnFailure"] == "CANCEL_AND_WAIT"
    assert args[:7] == ["spark-submit", "--deploy-mode", "cluster", "--master", "yarn", "--py-files",
                        f"{uri}/careplus_spark-{manifest.version}-py3-none-any.whl"]
    assert args[args.index("--jars") + 1].split(",") == [
        "/usr/share/aws/delta/lib/delta-spark.jar", "/usr/share/aws/delta/lib/delta-storage.jar",
        f"{uri}/jars/careplus-logreader-3.5.jar", f"{uri}/jars/mysql-connector-j-9.5.0.jar",
    ]  # EMR 7 runs Spark 3.5: its reader jar
    assert "spark.sql.extensions=io.delta.sql.DeltaSparkSessionExtension" in args
    script = args.index(f"{uri}/jobs/ingest_logs.py")
    assert args[script + 1:script + 3] == ["--env", "emr"]
    assert f"lakehouse.root={cfg.deploy.emr.settings['lakehouse.root']}" in args[script:]


def test_an_emr_8_cluster_gets_the_spark_4_reader(
    cfg: AppConfig, packaged: tuple[Path, Manifest], aws_emulator: Any  # noqa: F811
) -> None:
    cluster_id = cluster(aws_emulator, "emr-8.0.0")

    report = commands.deploy(with_emr(cfg, cluster_id=cluster_id), "emr", out=packaged[0])

    step = aws_emulator.boto3_client("emr").list_steps(ClusterId=cluster_id)["Steps"][0]
    assert "careplus-logreader-4.1.jar" in " ".join(step["Config"]["Args"])
    assert "emr-8.0.0" in report.target


def test_an_unknown_cluster_is_named_and_nothing_is_uploaded(
    cfg: AppConfig, packaged: tuple[Path, Manifest], aws_emulator: Any  # noqa: F811
) -> None:
    with pytest.raises(DeployError, match=r"EMR cluster j-NOSUCHCLUSTER \(deploy\.emr\.cluster_id\) does not exist"):
        commands.deploy(with_emr(cfg, cluster_id="j-NOSUCHCLUSTER"), "emr", out=packaged[0])

    bucket = cfg.deploy.artifacts_uri.removeprefix("s3://").split("/")[0]
    assert aws_emulator.boto3_client("s3").list_objects_v2(Bucket=bucket).get("KeyCount", 0) == 0


def test_a_terminated_cluster_cannot_take_steps(
    cfg: AppConfig, packaged: tuple[Path, Manifest], aws_emulator: Any  # noqa: F811
) -> None:
    cluster_id = cluster(aws_emulator)
    aws_emulator.boto3_client("emr").terminate_job_flows(JobFlowIds=[cluster_id])

    with pytest.raises(DeployError, match="is TERMINAT"):
        commands.deploy(with_emr(cfg, cluster_id=cluster_id), "emr", out=packaged[0])


def test_wait_gives_up_on_a_step_that_does_not_end_in_time(
    cfg: AppConfig, packaged: tuple[Path, Manifest], aws_emulator: Any  # noqa: F811
) -> None:
    cfg = with_emr(cfg, cluster_id=cluster(aws_emulator), wait_timeout_minutes=0.002)

    with pytest.raises(DeployError, match=r"EMR step s-\w+ \(run_pipeline\) is still RUNNING after 0.002 minute"):
        commands.deploy(cfg, "emr", out=packaged[0], wait=True)


def test_serverless_job_runs_are_started_and_followed(
    cfg: AppConfig, packaged: tuple[Path, Manifest], aws_emulator: Any  # noqa: F811
) -> None:
    dist, manifest = packaged
    serverless = aws_emulator.boto3_client("emr-serverless")
    app = serverless.create_application(name="careplus", releaseLabel="emr-7.13.0", type="SPARK")["applicationId"]
    cfg = with_emr(cfg, serverless_application_id=app, serverless_execution_role=ROLE)

    report = commands.deploy(cfg, "emr", out=dist, jobs=["ingest_tickets", "silver_tickets"], wait=True)

    assert [line.rsplit(": ", 1)[1] for line in report.outcomes] == ["SUCCESS", "SUCCESS"]
    run = serverless.get_job_run(applicationId=app, jobRunId=report.submitted[0][1])["jobRun"]
    submit = run["jobDriver"]["sparkSubmit"]
    assert submit["entryPoint"] == f"{cfg.deploy.artifacts_uri}/{manifest.release}/jobs/ingest_tickets.py"
    assert submit["entryPointArguments"][:2] == ["--env", "emr"]
    assert "--py-files s3://" in submit["sparkSubmitParameters"] and run["executionRole"] == ROLE


def test_serverless_needs_wait_to_run_several_jobs_in_order(
    cfg: AppConfig, packaged: tuple[Path, Manifest]  # noqa: F811
) -> None:
    cfg = with_emr(cfg, serverless_application_id="00f0000000000001", serverless_execution_role=ROLE)

    with pytest.raises(ConfigError, match="only with --wait"):
        commands.deploy(cfg, "emr", out=packaged[0], jobs=["ingest_tickets", "silver_tickets"])


def test_no_target_configured_is_a_config_error(cfg: AppConfig, packaged: tuple[Path, Manifest]) -> None:  # noqa: F811
    with pytest.raises(ConfigError, match=r"deploy\.emr\.cluster_id .* or deploy\.emr\.serverless_application_id"):
        commands.deploy(cfg, "emr", out=packaged[0])


def test_schedule_adds_the_same_steps_daily_and_a_second_deploy_changes_nothing(
    cfg: AppConfig, packaged: tuple[Path, Manifest], aws_emulator: Any  # noqa: F811
) -> None:
    dist, manifest = packaged
    cluster_id = cluster(aws_emulator)
    scheduled = with_emr(cfg, cluster_id=cluster_id, schedule="cron(0 2 * * ? *)", schedule_role=ROLE,
                         schedule_name=f"careplus-{cluster_id}")

    report = commands.deploy(scheduled, "emr", out=dist, schedule=True)
    assert report.submitted == (("run_pipeline", f"schedule careplus-{cluster_id} created: cron(0 2 * * ? *)"),)
    assert aws_emulator.boto3_client("emr").list_steps(ClusterId=cluster_id)["Steps"] == []  # nothing added now
    found = aws_emulator.boto3_client("scheduler").get_schedule(Name=f"careplus-{cluster_id}")
    assert (found["ScheduleExpression"], found["Target"]["Arn"], found["Target"]["RoleArn"]) == (
        "cron(0 2 * * ? *)", "arn:aws:scheduler:::aws-sdk:emr:addJobFlowSteps", ROLE)
    request = json.loads(found["Target"]["Input"])
    assert request["JobFlowId"] == cluster_id
    (step,) = request["Steps"]
    assert step["Name"] == f"careplus run_pipeline ({manifest.release})"
    assert f"{cfg.deploy.artifacts_uri}/{manifest.release}/jobs/run_pipeline.py" in step["HadoopJarStep"]["Args"]

    again = commands.deploy(scheduled, "emr", out=dist, schedule=True)
    assert "unchanged" in again.submitted[0][1]
    with pytest.raises(ConfigError, match=r"deploy\.emr\.schedule_role"):
        commands.deploy(with_emr(scheduled, schedule_role=""), "emr", out=dist, schedule=True)
