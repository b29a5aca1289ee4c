"""``lakehouse.log_store: s3-dynamodb`` on EMR and Glue: the log store's confs at launch, EMR's jar (no AWS call)."""

from __future__ import annotations

from dataclasses import replace

import pytest

from careplus_spark.deploy import emr, glue, launch
from careplus_spark.errors import ConfigError
from careplus_spark.platform.config import AppConfig, load_config
from tests.unit.deploy.test_definitions import CONF, MANIFEST, RELEASE, SETTINGS

STORE = {**SETTINGS, "lakehouse.log_store": "s3-dynamodb", "lakehouse.dynamodb.table": "lake_log"}
IMPL = "io.delta.storage.S3DynamoDBLogStore"


@pytest.fixture(scope="module")
def cfg() -> AppConfig:
    base = load_config("local", conf_dir=CONF, environ={})
    deploy = replace(base.deploy, artifacts_uri="s3://artefacts/careplus",
                     glue=replace(base.deploy.glue, role="arn:aws:iam::1:role/r"),
                     emr=replace(base.deploy.emr, cluster_id="j-1"))
    return replace(base, deploy=deploy)


def emr_args(cfg: AppConfig, settings: dict[str, str]) -> list[str]:
    job_cfg = launch.job_config(cfg, "emr", settings, "deploy.emr", "emr")
    [sub] = emr.submissions(cfg, MANIFEST, RELEASE, "3.5", job_cfg, ["ingest_logs"])
    return list(sub.args)


def test_emr_gets_the_log_store_jar_and_its_confs_at_launch(cfg: AppConfig) -> None:
    args = emr_args(cfg, STORE)
    assert emr.EMR_LOG_STORE_JAR in args[args.index("--jars") + 1].split(",")
    confs = [args[i + 1] for i, a in enumerate(args) if a == "--conf"]
    assert f"spark.delta.logStore.s3.impl={IMPL}" in confs
    assert f"spark.delta.logStore.s3a.impl={IMPL}" in confs
    assert "spark.io.delta.storage.S3DynamoDBLogStore.ddb.tableName=lake_log" in confs


def test_emr_with_the_default_log_store_has_neither(cfg: AppConfig) -> None:
    args = emr_args(cfg, SETTINGS)
    assert emr.EMR_LOG_STORE_JAR not in args[args.index("--jars") + 1]
    assert not [a for a in args if "logStore" in a or "S3DynamoDBLogStore" in a]


def test_glue_gets_the_log_store_confs_at_launch(cfg: AppConfig) -> None:
    job_cfg = launch.job_config(cfg, "glue", STORE, "deploy.glue", "glue")
    [job, *_] = glue.definitions(cfg, MANIFEST, RELEASE, job_cfg)
    conf = job.definition["DefaultArguments"]["--conf"]
    assert f"spark.delta.logStore.s3.impl={IMPL}" in conf and f"spark.delta.logStore.s3a.impl={IMPL}" in conf


def test_a_job_off_s3_with_the_log_store_is_refused(cfg: AppConfig) -> None:
    with pytest.raises(ConfigError, match="not an s3:// or s3a:// URI"):
        emr_args(cfg, {**STORE, "lakehouse.root": "/data/lake"})
