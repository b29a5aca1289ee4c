"""The session builder's settings per platform (no JVM needed)."""

from __future__ import annotations

import os
import sys
from dataclasses import replace
from pathlib import Path

import pytest

from careplus_spark.errors import JarsError
from careplus_spark.platform.config import AppConfig
from careplus_spark.platform.secrets import Secret
from careplus_spark.platform.session import jar_list, metastore_dir, spark_conf


def with_platform(cfg: AppConfig, platform: str, catalog: str = "hive") -> AppConfig:
    spark = replace(cfg.spark, platform=platform)  # type: ignore[arg-type]
    lakehouse = replace(cfg.lakehouse, catalog=replace(cfg.lakehouse.catalog, kind=catalog))  # type: ignore[arg-type]
    return replace(cfg, spark=spark, lakehouse=lakehouse)


def with_s3(cfg: AppConfig) -> AppConfig:
    s3 = replace(
        cfg.s3,
        endpoint="http://127.0.0.1:9000",
        path_style_access=True,
        ssl_enabled=False,
        access_key=Secret("AKIA-TEST", "env:K"),
        secret_key=Secret("very-secret", "env:S"),
    )
    return replace(cfg, s3=s3)


def test_local_has_delta_utc_jars_and_derby_metastore(base_cfg: AppConfig) -> None:
    conf = spark_conf(base_cfg)
    assert conf["spark.sql.extensions"] == "io.delta.sql.DeltaSparkSessionExtension"
    assert conf["spark.sql.catalog.spark_catalog"] == "org.apache.spark.sql.delta.catalog.DeltaCatalog"
    assert conf["spark.sql.session.timeZone"] == "UTC"
    assert conf["spark.master"] == "local[2]"
    # one JVM: the jars go on its classpath, not to a local executor that would copy each one
    assert "spark.jars" not in conf
    classpath = conf["spark.driver.extraClassPath"]
    assert "delta-spark" in classpath and "mysql-connector-j" in classpath
    assert jar_list(conf) == classpath.split(os.pathsep)
    assert conf["spark.sql.catalogImplementation"] == "hive"
    assert str(metastore_dir(base_cfg)) in conf["spark.hadoop.javax.jdo.option.ConnectionURL"]
    assert metastore_dir(base_cfg).parent == Path(base_cfg.lakehouse.root) / "_catalog"
    assert metastore_dir(base_cfg).name.startswith("spark-")


def test_s3_endpoint_and_credentials_are_set_and_maskable(base_cfg: AppConfig) -> None:
    cfg = with_s3(base_cfg)
    conf = spark_conf(cfg)
    assert conf["spark.hadoop.fs.s3a.endpoint"] == "http://127.0.0.1:9000"
    assert conf["spark.hadoop.fs.s3a.path.style.access"] == "true"
    assert conf["spark.hadoop.fs.s3a.connection.ssl.enabled"] == "false"
    assert conf["spark.hadoop.fs.s3a.secret.key"] == "very-secret"
    masked = spark_conf(cfg, include_secrets=False)
    assert "very-secret" not in str(masked) and "AKIA-TEST" not in str(masked)


@pytest.mark.parametrize("platform", ["emr", "glue"])
def test_managed_platforms_use_their_own_jars_s3_and_glue_catalog(base_cfg: AppConfig, platform: str) -> None:
    conf = spark_conf(with_s3(with_platform(base_cfg, platform, "glue")))
    assert "spark.jars" not in conf and "spark.master" not in conf and "spark.pyspark.python" not in conf
    assert jar_list(conf) == []
    assert not any(key.startswith("spark.hadoop.fs.s3a") for key in conf)
    assert conf["spark.hadoop.hive.metastore.client.factory.class"].endswith("AWSGlueDataCatalogHiveClientFactory")
    assert conf["spark.sql.extensions"] == "io.delta.sql.DeltaSparkSessionExtension"


def test_standalone_keeps_master_and_jars(base_cfg: AppConfig) -> None:
    cfg = replace(with_platform(base_cfg, "standalone"), spark=replace(base_cfg.spark, platform="standalone", master="spark://127.0.0.1:7077"))
    conf = spark_conf(cfg)
    assert conf["spark.master"] == "spark://127.0.0.1:7077"
    assert conf["spark.jars"] and "spark.driver.extraClassPath" not in conf  # the executors' JVMs need them
    assert jar_list(conf) == conf["spark.jars"].split(",")
    assert conf["spark.pyspark.python"] == sys.executable  # workers run the driver's interpreter


def test_remote_root_gets_a_local_metastore_per_root(base_cfg: AppConfig) -> None:
    cfg = replace(base_cfg, lakehouse=replace(base_cfg.lakehouse, root="s3a://bucket/lake"))
    other = replace(base_cfg, lakehouse=replace(base_cfg.lakehouse, root="s3a://bucket/other"))
    assert metastore_dir(cfg) != metastore_dir(other)
    assert ".cache/careplus/catalog" in str(metastore_dir(cfg))


def test_missing_jar_cache_tells_how_to_fix(base_cfg: AppConfig, tmp_path: Path) -> None:
    cfg = replace(base_cfg, spark=replace(base_cfg.spark, jars_dir=str(tmp_path / "empty")))
    with pytest.raises(JarsError, match="run `careplus setup`"):
        spark_conf(cfg)


def test_user_spark_conf_wins(base_cfg: AppConfig) -> None:
    cfg = replace(base_cfg, spark=replace(base_cfg.spark, conf={"spark.sql.shuffle.partitions": "7"}))
    assert spark_conf(cfg)["spark.sql.shuffle.partitions"] == "7"


def _log4j_file(conf: dict[str, str]) -> Path:
    options = conf["spark.driver.extraJavaOptions"].split()
    option = next(o for o in options if o.startswith("-Dlog4j.configurationFile="))
    return Path(option.split("=", 1)[1].removeprefix("file://"))


def test_benign_warnings_are_silenced_and_debug_levels_silence_nothing(base_cfg: AppConfig) -> None:
    quiet = _log4j_file(spark_conf(base_cfg)).read_text(encoding="utf-8")
    for logger in ("MapPartitionsRDD", "SparkStringUtils", "CaseInsensitiveStringMap"):
        assert logger in quiet
    assert "MergeIntoCommand" not in quiet  # a changed MERGE source is a real warning
    for level in ("INFO", "DEBUG"):
        verbose = _log4j_file(spark_conf(replace(base_cfg, spark=replace(base_cfg.spark, log_level=level))))
        text = verbose.read_text(encoding="utf-8")
        assert verbose.name == "log4j2-verbose.properties"
        assert ".level = error" not in text and "rootLogger.level = info" in text
