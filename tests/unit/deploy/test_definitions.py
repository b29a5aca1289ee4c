"""Glue job definitions, EMR submissions and the wait loop, built from config and a manifest (no AWS call)."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import pytest

from careplus_spark.deploy import emr, glue, launch
from careplus_spark.deploy.artifacts import Artefact, Manifest, line_of_emr_release
from careplus_spark.deploy.release import Release, S3Location
from careplus_spark.errors import ConfigError, DeployError
from careplus_spark.platform.config import AppConfig, load_config

CONF = Path(__file__).resolve().parents[3] / "conf"
SETTINGS = {"lakehouse.root": "s3://lake/root", "sources.tickets.url": "jdbc:mysql://db:3306/care",
            "sources.tickets.user": "careplus", "sources.logs.path": "s3://lake/logs"}
MANIFEST = Manifest("careplus-spark", "0.1.0", "abc", (
    Artefact("careplus_spark-0.1.0-py3-none-any.whl", "wheel", "1" * 64, 10),
    Artefact("jars/careplus-logreader-3.5.jar", "log-reader", "2" * 64, 10, "3.5"),
    Artefact("jars/careplus-logreader-4.1.jar", "log-reader", "3" * 64, 10, "4.1"),
    Artefact("jars/mysql-connector-j-9.5.0.jar", "jdbc-driver", "4" * 64, 10),
    Artefact("jobs/ingest_logs.py", "job", "5" * 64, 10),
    Artefact("jobs/run_pipeline.py", "job", "6" * 64, 10),
))
RELEASE = Release.of(MANIFEST, "s3://artefacts/careplus")


@pytest.fixture(scope="module")
def cfg() -> AppConfig:
    base = load_config("local", conf_dir=CONF, environ={})
    deploy = replace(base.deploy, artifacts_uri="s3://artefacts/careplus",
                     glue=replace(base.deploy.glue, role="arn:aws:iam::1:role/r", settings=SETTINGS),
                     emr=replace(base.deploy.emr, settings=SETTINGS, cluster_id="j-1"))
    return replace(base, deploy=deploy)


def glue_jobs(cfg: AppConfig, **changes: object) -> list[glue.GlueJob]:
    cfg = replace(cfg, deploy=replace(cfg.deploy, glue=replace(cfg.deploy.glue, **changes)))  # type: ignore[arg-type]
    job_cfg = launch.job_config(cfg, "glue", SETTINGS, "deploy.glue", "glue")
    return glue.definitions(cfg, MANIFEST, RELEASE, job_cfg)


def test_the_spark_35_line_is_glue_51_with_its_reader(cfg: AppConfig) -> None:
    [job] = glue_jobs(cfg, spark_line="3.5")
    assert job.definition["GlueVersion"] == "5.1"
    assert job.definition["DefaultArguments"]["--extra-jars"].split(",")[0].endswith("careplus-logreader-3.5.jar")


def test_one_glue_job_per_configured_entry_point_with_a_schedule(cfg: AppConfig) -> None:
    jobs = glue_jobs(cfg, jobs=("ingest_logs", "run_pipeline"), schedule="cron(0 2 * * ? *)",
                     connections=("mysql-vpc",))
    assert [j.name for j in jobs] == ["careplus-ingest-logs", "careplus-run-pipeline"]
    assert jobs[1].trigger == {"Name": "careplus-run-pipeline-schedule", "Schedule": "cron(0 2 * * ? *)",
                               "Actions": [{"JobName": "careplus-run-pipeline"}],
                               "Description": "runs careplus-run-pipeline on cron(0 2 * * ? *) (careplus deploy glue)"}
    assert jobs[0].definition["Connections"] == {"Connections": ["mysql-vpc"]}
    assert json.loads(jobs[0].definition["DefaultArguments"]["--settings"]) == SETTINGS


@pytest.mark.parametrize(("changes", "message"), [
    ({"schedule": "0 2 * * *"}, r"deploy\.glue\.schedule: expected a Glue cron"),
    ({"jobs": ("no_such_job",)}, r"deploy\.glue\.jobs: \['no_such_job'\] not in the package"),
    ({"job_prefix": "bad prefix "}, r"deploy\.glue\.job_prefix: .* is not a valid job name"),
])
def test_bad_glue_settings_are_refused_naming_the_key(cfg: AppConfig, changes: dict[str, object], message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        glue_jobs(cfg, **changes)


def test_a_job_environment_for_another_platform_is_refused(cfg: AppConfig) -> None:
    with pytest.raises(ConfigError, match=r"deploy\.glue\.env='local' sets spark\.platform='local'"):
        launch.job_config(cfg, "local", {}, "deploy.glue", "glue")


def test_emr_steps_use_the_release_line_and_keep_settings_out_of_urls(cfg: AppConfig) -> None:
    job_cfg = launch.job_config(cfg, "emr", SETTINGS, "deploy.emr", "emr")
    [sub] = emr.submissions(cfg, MANIFEST, RELEASE, "3.5", job_cfg, ["ingest_logs"])
    step = sub.step("CANCEL_AND_WAIT")
    args = step["HadoopJarStep"]["Args"]
    assert step["HadoopJarStep"]["Jar"] == "command-runner.jar" and args[0] == "spark-submit"
    reader = f"s3://artefacts/careplus/{MANIFEST.release}/jars/careplus-logreader-3.5.jar"
    assert reader in args[args.index("--jars") + 1]
    assert args[-10:] == ["--env", "emr", *[x for k, v in sorted(SETTINGS.items()) for x in ("--set", f"{k}={v}")]]
    driver = emr.serverless_parameters(sub)["sparkSubmit"]
    assert driver["entryPoint"].endswith("/jobs/ingest_logs.py")
    assert driver["entryPointArguments"][:2] == ["--env", "emr"]
    parameters = driver["sparkSubmitParameters"]
    assert "--deploy-mode" not in parameters and "--py-files s3://" in parameters


@pytest.mark.parametrize(("label", "line"), [("emr-7.13.0", "3.5"), ("emr-8.0.0", "4.1")])
def test_emr_release_picks_the_spark_line(label: str, line: str) -> None:
    assert line_of_emr_release(label) == line


def test_an_old_emr_release_is_refused() -> None:
    with pytest.raises(DeployError, match=r"emr-6\.15\.0"):
        line_of_emr_release("emr-6.15.0")


@pytest.mark.parametrize("uri", ["s3a://b/p", "https://b/p", "s3://B_ad/p", "s3://"])
def test_artifacts_uri_must_be_an_s3_uri(uri: str) -> None:
    with pytest.raises(ConfigError, match=r"deploy\.artifacts_uri: expected s3://bucket/prefix"):
        S3Location.parse(uri)


def test_every_release_has_its_own_folder() -> None:
    other = replace(MANIFEST, commit="def")
    assert RELEASE.uri(MANIFEST.artefacts[0]) != Release.of(other, "s3://artefacts/careplus").uri(other.artefacts[0])
    assert RELEASE.key("jobs/run_pipeline.py") == f"careplus/{MANIFEST.release}/jobs/run_pipeline.py"


def states(*values: tuple[str, str]):  # type: ignore[no-untyped-def]
    it = iter(values)
    return lambda: next(it)


def test_wait_returns_when_done_and_fails_with_emrs_reason(cfg: AppConfig) -> None:
    config = replace(cfg.deploy.emr, poll_seconds=0.0)
    slept: list[float] = []
    done = emr.follow("step s-1", states(("PENDING", ""), ("RUNNING", ""), ("COMPLETED", "")), emr.STEP_DONE,
                      emr.STEP_FAILED, config, slept.append)
    assert done == "step s-1: COMPLETED" and len(slept) == 2
    with pytest.raises(DeployError, match="step s-2 FAILED: Spark job failed; exit 6; s3://logs/s-2"):
        emr.follow("step s-2", states(("RUNNING", ""), ("FAILED", "Spark job failed; exit 6; s3://logs/s-2")),
                   emr.STEP_DONE, emr.STEP_FAILED, config, slept.append)


def test_wait_is_bounded_in_time(cfg: AppConfig) -> None:
    config = replace(cfg.deploy.emr, poll_seconds=0.0, wait_timeout_minutes=0.0)
    with pytest.raises(DeployError, match=r"run r-1 is still RUNNING after 0\.0 minute\(s\) \(deploy\.emr\."):
        emr.follow("run r-1", lambda: ("RUNNING", ""), emr.RUN_DONE, emr.RUN_FAILED, config, lambda _s: None)
