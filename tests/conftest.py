"""Shared fixtures: one Spark session per test session, real MariaDB and S3 servers.

- ``spark``: session-scoped, ``local[2]``, 2 shuffle partitions, UI off, UTC, Delta,
  a Derby metastore and the lakehouse under one temp folder.
- ``mariadb`` / ``mysql_db``: a real MariaDB server (started, or reused from
  ``CAREPLUS_TEST_MYSQL_*``) and a database + user of this test session only.
- ``s3`` / ``s3_bucket``: a real S3-compatible server over HTTP on loopback (the Versity
  gateway, started or reused from ``CAREPLUS_TEST_S3_*``) and a bucket of this session;
  the running Spark session is pointed at it through the same s3a settings the session
  builder uses.
- ``aws_emulator``: moto's server on loopback (or reused from ``CAREPLUS_TEST_AWS_ENDPOINT``)
  for the AWS control plane (Glue, EMR, STS, DynamoDB, ...); ``aws_emulator.boto3_client("glue")``
  gives a client with dummy credentials and no process-wide ``AWS_*`` variable.
- ``trino``: Trino 476 (Athena engine v3) whose ``hive`` catalog reads Glue entries from
  ``aws_emulator`` and files from ``s3``; ``trino.query(sql)`` returns rows as tuples.
  Installed into ``~/.cache/careplus/trino/`` by ``.ci/install-services.sh`` (downloaded here
  on first use otherwise); reused from ``CAREPLUS_TEST_TRINO_URL`` if set.
Each test gets its own table root through ``lakehouse``.
"""

from __future__ import annotations

import os
import sys
import uuid
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest

from careplus_spark.platform.config import AppConfig, load_config
from careplus_spark.platform.secrets import Secret

REPO = Path(__file__).resolve().parents[1]
CONF_DIR = REPO / "conf"



@pytest.fixture(scope="module", autouse=True)
def _forget_spark_caches() -> Iterator[None]:
    """After each module, the shared session drops the Delta snapshots and cached data it holds.

    Every test writes tables of its own; Delta keeps each table's log and snapshot state (cached
    in the block manager) for an hour, so late in the suite the one 2 GB driver would hold
    hundreds of tables no later test reads. Nothing is started here: without a running context,
    nothing to do.
    """
    yield
    if "pyspark" not in sys.modules:
        return
    from pyspark import SparkContext
    from pyspark.sql import SparkSession

    context = SparkContext._active_spark_context  # noqa: SLF001 - the running context, if any, never a new one
    session = SparkSession.getActiveSession() or SparkSession._instantiatedSession  # noqa: SLF001
    if context is None or session is None or context._jvm is None:  # noqa: SLF001
        return
    context._jvm.org.apache.spark.sql.delta.DeltaLog.clearCache()  # noqa: SLF001
    session.catalog.clearCache()


@pytest.fixture(scope="session")
def session_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("careplus")


@pytest.fixture(scope="session")
def base_cfg(session_root: Path) -> AppConfig:
    """The ``test`` environment with every path inside this session's temp folder."""
    return load_config(
        "test",
        overrides=[
            f"lakehouse.root={session_root / 'lakehouse'}",
            f"sources.tickets.url=jdbc:sqlite:{session_root / 'source' / 'tickets.db'}",
            f"sources.logs.path={session_root / 'logs'}",
        ],
        conf_dir=CONF_DIR,
        environ={},
    )


@pytest.fixture(scope="session")
def spark(base_cfg: AppConfig) -> Iterator[object]:
    from careplus_spark.pipeline.entry import open_lakehouse

    session = open_lakehouse(base_cfg, app_name="careplus-tests")
    yield session
    session.stop()


@pytest.fixture
def lakehouse(base_cfg: AppConfig, session_root: Path) -> AppConfig:
    """The session config with a lakehouse root of this test's own."""
    root = session_root / "tables" / uuid.uuid4().hex[:10]
    return replace(base_cfg, lakehouse=replace(base_cfg.lakehouse, root=str(root)))


@pytest.fixture(scope="session")
def mariadb(tmp_path_factory: pytest.TempPathFactory) -> Iterator[object]:
    from tests.services import MariaDbServer

    server = MariaDbServer.start_or_reuse(base_dir=tmp_path_factory.mktemp("mariadb"))
    yield server
    server.stop()


@pytest.fixture(scope="session")
def mysql_db(mariadb: object) -> Iterator[object]:
    database = mariadb.create_database("careplus_test")  # type: ignore[attr-defined]
    yield database
    mariadb.drop_database(database)  # type: ignore[attr-defined]


@pytest.fixture
def mysql_cfg(lakehouse: AppConfig, mysql_db: object, monkeypatch: pytest.MonkeyPatch) -> AppConfig:
    """The test config with the tickets source in this session's MariaDB database."""
    tickets = replace(
        lakehouse.sources.tickets,
        url=mysql_db.jdbc_url,  # type: ignore[attr-defined]
        user=mysql_db.user,  # type: ignore[attr-defined]
        password=Secret(mysql_db.password, "env:CAREPLUS_TEST_MYSQL_PASSWORD"),  # type: ignore[attr-defined]
        options={"connectionTimeZone": "UTC", "forceConnectionTimeZoneToSession": "true"},
    )
    return replace(lakehouse, sources=replace(lakehouse.sources, tickets=tickets))


@pytest.fixture(scope="session")
def s3(tmp_path_factory: pytest.TempPathFactory) -> Iterator[object]:
    from tests.services import S3Server

    server = S3Server.start_or_reuse(base_dir=tmp_path_factory.mktemp("s3"))
    yield server
    server.stop()


@pytest.fixture(scope="session")
def s3_bucket(s3: object, spark: object, base_cfg: AppConfig) -> Iterator[str]:
    """A bucket of this session; the running Spark session can reach it through s3a."""
    from careplus_spark.platform.session import s3a_settings

    bucket = s3.create_bucket("careplus-test")  # type: ignore[attr-defined]
    cfg = s3_config(base_cfg, s3)
    hadoop = spark.sparkContext._jsc.hadoopConfiguration()  # type: ignore[attr-defined]
    for key, value in s3a_settings(cfg).items():
        hadoop.set(key, value)
    yield bucket
    s3.delete_bucket(bucket)  # type: ignore[attr-defined]


@pytest.fixture(scope="session")
def aws_emulator(tmp_path_factory: pytest.TempPathFactory) -> Iterator[object]:
    """The AWS API emulator (``tests.services.MotoServer``) of this test session."""
    from tests.services import MotoServer

    server = MotoServer.start_or_reuse(base_dir=tmp_path_factory.mktemp("aws"))
    yield server
    server.stop()


@pytest.fixture(scope="session")
def trino(aws_emulator: object, s3: object, tmp_path_factory: pytest.TempPathFactory) -> Iterator[object]:
    """Trino (``tests.services.TrinoServer``): catalog ``hive`` = Glue on ``aws_emulator`` + data on ``s3``."""
    from tests.services import TrinoServer

    server = TrinoServer.start_or_reuse(
        aws=aws_emulator,  # type: ignore[arg-type]
        s3=s3,  # type: ignore[arg-type]
        base_dir=tmp_path_factory.mktemp("trino"),
    )
    yield server
    server.stop()


def s3_config(cfg: AppConfig, s3: object) -> AppConfig:
    """``cfg`` with the s3 section pointing at the test server."""
    settings = replace(
        cfg.s3,
        endpoint=s3.endpoint,  # type: ignore[attr-defined]
        region=s3.region,  # type: ignore[attr-defined]
        path_style_access=True,
        ssl_enabled=False,
        access_key=Secret(s3.access_key, "env:CAREPLUS_TEST_S3_ACCESS_KEY"),  # type: ignore[attr-defined]
        secret_key=Secret(s3.secret_key, "env:CAREPLUS_TEST_S3_SECRET_KEY"),  # type: ignore[attr-defined]
    )
    return replace(cfg, s3=settings)


@pytest.fixture
def environ_without_secrets(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in list(os.environ):
        if name.startswith(("CAREPLUS_MYSQL", "AWS_")):
            monkeypatch.delenv(name)
