"""``lakehouse.log_store: s3-dynamodb``: Delta's S3DynamoDBLogStore settings, checks and jars (no JVM)."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

from careplus_spark.errors import ConfigError, JarsError
from careplus_spark.platform import jars
from careplus_spark.platform.config import AppConfig
from careplus_spark.platform.session import SDK_V1_REGIONS_FILE, jar_list, log_store_conf, spark_conf

STORE = "io.delta.storage.S3DynamoDBLogStore"
DDB = "spark.io.delta.storage.S3DynamoDBLogStore"


def with_store(cfg: AppConfig, root: str = "s3a://lake/root", platform: str = "local", **ddb: str) -> AppConfig:
    dynamodb = replace(cfg.lakehouse.dynamodb, **ddb)  # type: ignore[arg-type]
    lakehouse = replace(cfg.lakehouse, root=root, log_store="s3-dynamodb", dynamodb=dynamodb)
    return replace(cfg, lakehouse=lakehouse, spark=replace(cfg.spark, platform=platform))  # type: ignore[arg-type]


def cached(cfg: AppConfig, folder: Path, log_store: str = "s3-dynamodb") -> AppConfig:
    """``cfg`` with a jar cache holding (empty stand-ins of) every jar of the line and log store."""
    folder.mkdir(parents=True, exist_ok=True)
    for artifact in jars.artifacts(jars.spark_line(), log_store):
        (folder / artifact.file_name).write_bytes(b"")
    return replace(cfg, spark=replace(cfg.spark, jars_dir=str(folder)))


def test_s3_dynamodb_sets_the_log_store_for_both_s3_schemes_and_its_table(base_cfg: AppConfig, tmp_path: Path) -> None:
    cfg = cached(with_store(base_cfg, table="careplus_delta_log"), tmp_path / "jars")
    conf = spark_conf(cfg)
    assert conf["spark.delta.logStore.s3a.impl"] == STORE
    assert conf["spark.delta.logStore.s3.impl"] == STORE
    assert conf[f"{DDB}.ddb.tableName"] == "careplus_delta_log"
    assert conf[f"{DDB}.ddb.region"] == cfg.s3.region  # empty region: the S3 region
    jar_names = [Path(p).name for p in jar_list(conf)]
    for artifact in jars.log_store_artifacts(jars.spark_line()):
        assert artifact.file_name in jar_names
    assert SDK_V1_REGIONS_FILE not in conf.get("spark.driver.extraJavaOptions", "")


def test_the_default_log_store_sets_nothing_and_needs_no_extra_jar(base_cfg: AppConfig, tmp_path: Path) -> None:
    cfg = cached(replace(base_cfg, lakehouse=replace(base_cfg.lakehouse, root="s3a://lake/root")),
                 tmp_path / "jars", log_store="default")
    conf = spark_conf(cfg)
    assert not [key for key in conf if "logStore" in key or "S3DynamoDBLogStore" in key]
    assert not [name for name in jar_list(conf) if "delta-storage-s3-dynamodb" in name]


def test_a_configured_region_wins_over_the_s3_region(base_cfg: AppConfig) -> None:
    conf = log_store_conf(with_store(base_cfg, region="eu-west-1"))
    assert conf[f"{DDB}.ddb.region"] == "eu-west-1"


@pytest.mark.parametrize("root", ["/data/lakehouse", "file:/data/lakehouse", "hdfs://nn/lake", "gs://b/lake"])
def test_s3_dynamodb_on_a_root_off_s3_is_a_config_error(base_cfg: AppConfig, root: str) -> None:
    with pytest.raises(ConfigError, match=r"not an s3:// or s3a:// URI; use lakehouse.log_store: default") as err:
        spark_conf(with_store(base_cfg, root=root))
    assert err.value.exit_code == 2


@pytest.mark.parametrize("endpoint", ["http://127.0.0.1:4566", "127.0.0.1:4566", "https://h/path", "https://"])
def test_an_endpoint_that_the_sdk_v1_cannot_use_is_refused(base_cfg: AppConfig, endpoint: str) -> None:
    with pytest.raises(ConfigError, match=r"expected https://host\[:port\]"):
        log_store_conf(with_store(base_cfg, endpoint=endpoint))


def test_an_endpoint_on_emr_is_refused(base_cfg: AppConfig) -> None:
    with pytest.raises(ConfigError, match="for local and standalone runs"):
        log_store_conf(with_store(base_cfg, platform="emr", endpoint="https://127.0.0.1:4566"))


def test_an_endpoint_becomes_a_regions_file_of_the_drivers_sdk(base_cfg: AppConfig, tmp_path: Path) -> None:
    cfg = cached(with_store(base_cfg, endpoint="https://127.0.0.1:4566", region="eu-west-1"), tmp_path / "jars")
    options = spark_conf(cfg)["spark.driver.extraJavaOptions"].split()
    [option] = [o for o in options if o.startswith(f"-D{SDK_V1_REGIONS_FILE}=")]
    assert any(o.startswith("-Dlog4j.configurationFile=") for o in options)  # the other options stay
    text = Path(option.split("=", 1)[1]).read_text(encoding="utf-8")
    assert "<Name>eu-west-1</Name>" in text and "<ServiceName>dynamodb</ServiceName>" in text
    assert "<Hostname>127.0.0.1:4566</Hostname>" in text and "<Https>true</Https>" in text


def test_the_log_store_jars_follow_the_delta_version_of_each_line() -> None:
    assert jars.log_store_artifacts("4.1")[-1].file_name == "delta-storage-s3-dynamodb-4.2.0.jar"
    assert jars.log_store_artifacts("3.5")[-1].file_name == "delta-storage-s3-dynamodb-3.3.2.jar"
    for line in ("4.1", "3.5"):
        names = [a.file_name for a in jars.artifacts(line, "s3-dynamodb")]
        assert len(names) == len(set(names)) and "aws-java-sdk-bundle-1.12.262.jar" in names
        assert jars.artifacts(line) == jars.JARS[line]


def test_a_missing_log_store_jar_names_the_setting_to_set_up_with(tmp_path: Path) -> None:
    for artifact in jars.JARS["4.1"]:
        (tmp_path / artifact.file_name).write_bytes(b"")
    assert jars.cached_jars(tmp_path, "4.1")  # the default needs nothing more
    with pytest.raises(JarsError, match=r"lacks .*delta-storage-s3-dynamodb-4\.2\.0\.jar.*log_store: s3-dynamodb"):
        jars.cached_jars(tmp_path, "4.1", "s3-dynamodb")


def test_a_repository_without_the_log_store_jar_falls_back_to_building_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def download(url: str, target: Path) -> None:
        if "delta-storage-s3-dynamodb" in url:
            raise JarsError(f"cannot download {url}: HTTP Error 404: Not Found")
        target.write_bytes(b"jar")

    built: list[tuple[Path, str]] = []

    def build(jars_dir: Path, line: str) -> Path:
        built.append((jars_dir, line))
        return jars_dir / "built.jar"

    monkeypatch.setattr(jars, "_download_verified", download)
    monkeypatch.setattr(jars, "build_log_store_jar", build)
    messages: list[str] = []
    cache = tmp_path / "cache"
    paths = jars.fetch_jars(cache, "4.1", progress=messages.append, log_store="s3-dynamodb")
    assert built == [(cache, "4.1")] and paths[-1] == cache / "built.jar"
    assert "HTTP Error 404" in messages[-1] and "building it from Delta's sources" in messages[-1]
    assert [p.name for p in paths[:-1]] == [a.file_name for a in jars.artifacts("4.1", "s3-dynamodb")[:-1]]

    monkeypatch.setattr(jars, "LOG_STORE_SOURCES", tmp_path / "no-checkout")  # an installed wheel: nothing to build
    built.clear()
    with pytest.raises(JarsError, match="HTTP Error 404"):
        jars.fetch_jars(tmp_path / "cache2", "4.1", log_store="s3-dynamodb")
    assert built == []
