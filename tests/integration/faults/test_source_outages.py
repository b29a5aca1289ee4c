"""Servers that stop in the middle of a run: MariaDB during a read, the S3 server during a write.

Each test starts a private server of its own (it is stopped on purpose, so the shared session
servers are not used), breaks the run, and checks the answer (exit code 4, one paragraph that
names the server), that nothing was committed, and that after a restart the re-run completes.
A stopped server is restarted on the same port with the same data (``tests.services`` has no
public restart; the private helpers below use its launch functions).
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from careplus_spark.platform.config import AppConfig
from careplus_spark.platform.session import s3a_settings
from careplus_spark.synthetic import generate, sink_for_url
from tests import services
from tests.conftest import s3_config
from tests.integration.faults.conftest import CleanRun
from tests.integration.faults.support import SPEC, CareplusRun, Sources, delta_versions, run_argv, snapshot
from tests.integration.faults.test_kill9 import ALL_TABLES, STEPS

#: The tickets are read through this view: each row waits ``fault_control.delay`` seconds.
SLOW_VIEW = "support_tickets_slow"
_DELAYED_DAY = 1
_POLL_S = 0.2


# --- MariaDB ---------------------------------------------------------------------------------------------------


@pytest.fixture
def private_mariadb(tmp_path_factory: pytest.TempPathFactory) -> Iterator[services.MariaDbServer]:
    server = services.MariaDbServer._start_private(tmp_path_factory.mktemp("fault-mariadb"))  # noqa: SLF001
    try:
        yield server
    finally:
        server.stop()


def restart_mariadb(server: services.MariaDbServer) -> None:
    """Starts the stopped private server again, on its port, with its data."""
    workdir = server._require_workdir()  # noqa: SLF001
    process = services._spawn(server._server_argv(server.port), workdir / "mysqld.out")  # noqa: SLF001
    server._process = process  # noqa: SLF001 - so that stop() ends it
    services.wait_until_ready(lambda: _admin_login_works(server), process, 120.0, what="mariadbd (restarted)")


def _admin_login_works(server: services.MariaDbServer) -> bool:
    try:
        server.connect(connect_timeout=2).close()
    except Exception:  # noqa: BLE001 - not up yet
        return False
    return True


def slow_source(server: services.MariaDbServer, db: services.TestDatabase) -> None:
    """``fault_control(delay)`` and the view :data:`SLOW_VIEW` over ``support_tickets`` that sleeps per row."""
    with server.connect(database=db.database) as conn, conn.cursor() as cursor:
        cursor.execute("CREATE TABLE fault_control (delay DOUBLE NOT NULL)")
        cursor.execute("INSERT INTO fault_control VALUES (0)")
        cursor.execute(
            f"CREATE VIEW {SLOW_VIEW} AS SELECT t.* FROM support_tickets t "
            "WHERE SLEEP((SELECT delay FROM fault_control)) = 0"
        )
        conn.commit()


def set_delay(server: services.MariaDbServer, db: services.TestDatabase, seconds: float) -> None:
    with server.connect(database=db.database) as conn, conn.cursor() as cursor:
        cursor.execute("UPDATE fault_control SET delay = %s", (seconds,))
        conn.commit()


def wait_for_read(server: services.MariaDbServer, db: services.TestDatabase, timeout_s: float = 300.0) -> None:
    """Waits until a query of the careplus user is reading the slow view."""
    deadline = time.monotonic() + timeout_s
    for _ in range(int(timeout_s / _POLL_S) + 1):
        with server.connect() as conn, conn.cursor() as cursor:
            cursor.execute("SELECT COUNT(*) FROM information_schema.PROCESSLIST WHERE USER = %s AND INFO LIKE %s",
                           (db.user, f"%{SLOW_VIEW}%"))
            row = cursor.fetchone()
        if row and row[0]:
            return
        if time.monotonic() > deadline:
            break
        time.sleep(_POLL_S)
    raise TimeoutError(f"no read of {SLOW_VIEW} within {timeout_s:.0f} s")


def bronze_state(spark: Any, root: str) -> tuple[int | None, dict[str, str]]:
    version = delta_versions(spark, root, ["bronze.tickets"])["bronze.tickets"]
    cursors = spark.read.format("delta").load(f"{root}/ops/cursors").select("name", "value").collect()
    return version, dict(cursors)


@pytest.mark.slow
def test_mariadb_stopped_during_a_read_exits_4_commits_nothing_and_the_rerun_completes(
    spark: Any, private_mariadb: services.MariaDbServer, fault_sources: Sources, tmp_path: Path, home: Path
) -> None:
    server = private_mariadb
    db = server.create_database("faults")
    one_day = replace(SPEC, days=1)
    with sink_for_url(db.jdbc_url, db.user, db.password, "support_tickets") as sink:
        generate(one_day, sink, tmp_path / "unused-logs", first_day=0)
    slow_source(server, db)
    root = str(tmp_path / "lakehouse")
    settings = [f"sources.tickets.url={db.jdbc_url}", f"sources.tickets.user={db.user}",
                "sources.tickets.password=${FAULT_MYSQL_PASSWORD}", f"sources.tickets.table={SLOW_VIEW}",
                f"sources.logs.path={fault_sources.logs_path}", "sources.tickets.retries=1"]
    argv = run_argv(root, settings, jobs=["ingest_tickets"])
    env = {"FAULT_MYSQL_PASSWORD": db.password}
    first = CareplusRun(argv, tmp_path / "stderr-1.txt", home, env=env).start()
    assert first.finish() == 0, first.stderr()[-5000:]
    before = bronze_state(spark, root)

    with sink_for_url(db.jdbc_url, db.user, db.password, "support_tickets") as sink:
        generate(one_day, sink, tmp_path / "unused-logs", first_day=_DELAYED_DAY)
    set_delay(server, db, 0.5)
    broken = CareplusRun(argv, tmp_path / "stderr-2.txt", home, env=env).start()
    wait_for_read(server, db)
    services._stop_process(server._process)  # noqa: SLF001 - stopped during the read
    assert broken.finish() == 4, broken.stderr()[-5000:]
    assert broken.paragraph().startswith("careplus: error:"), broken.stderr()[-3000:]
    assert f"{server.host}:{server.port}" in broken.paragraph()
    assert bronze_state(spark, root) == before  # nothing committed, cursor unchanged

    restart_mariadb(server)
    set_delay(server, db, 0)
    healed = CareplusRun(argv, tmp_path / "stderr-3.txt", home, env=env).start()
    assert healed.finish() == 0, healed.stderr()[-5000:]
    with server.connect(database=db.database) as conn, conn.cursor() as cursor:
        cursor.execute("SELECT COUNT(*) FROM support_tickets")
        (source_rows,) = cursor.fetchone()
    live = spark.read.format("delta").load(f"{root}/bronze/tickets").where("_deleted_at IS NULL")
    assert live.count() == source_rows
    version, cursors = bronze_state(spark, root)
    assert before[0] is not None and version is not None and version > before[0]
    assert cursors != before[1]


# --- S3 ----------------------------------------------------------------------------------------------------------


@pytest.fixture
def private_s3(tmp_path_factory: pytest.TempPathFactory) -> Iterator[services.S3Server]:
    server = services.S3Server._start_private(tmp_path_factory.mktemp("fault-s3"))  # noqa: SLF001
    try:
        yield server
    finally:
        server.stop()


def restart_s3(server: services.S3Server) -> None:
    """Starts the stopped private gateway again, on its port, with its data."""
    port = int(server.endpoint.rsplit(":", 1)[1])
    log_path = server._require_workdir() / "versitygw.log"  # noqa: SLF001
    argv = server._gateway_argv(services.find_versitygw(), port)  # noqa: SLF001
    server._process = services._spawn(argv, log_path, env=services._versitygw_env())  # noqa: SLF001
    server._wait_until_ready(port)  # noqa: SLF001


@pytest.mark.slow
def test_s3_stopped_during_a_write_exits_4_naming_the_endpoint_and_the_rerun_gives_the_clean_gold(
    spark: Any, base_cfg: AppConfig, private_s3: services.S3Server, fault_sources: Sources, clean_run: CleanRun,
    tmp_path: Path, home: Path,
) -> None:
    server = private_s3
    bucket = server.create_bucket("faults")
    hadoop = spark.sparkContext._jsc.hadoopConfiguration()
    for key, value in s3a_settings(s3_config(base_cfg, server)).items():
        hadoop.set(key, value)
    root = f"s3a://{bucket}/lakehouse"
    settings = [*fault_sources.settings(), f"s3.endpoint={server.endpoint}", f"s3.region={server.region}",
                "s3.path_style_access=true", "s3.ssl_enabled=false"]
    env = {"AWS_ACCESS_KEY_ID": server.access_key, "AWS_SECRET_ACCESS_KEY": server.secret_key}
    argv = run_argv(root, settings)
    broken = CareplusRun(argv, tmp_path / "stderr-1.txt", home, env=env).start()
    assert broken.wait_for(rf"^\[3/{len(STEPS)}\] silver_tickets \.\.\.$") is not None, broken.stderr()[-3000:]
    services._stop_process(server._process)  # noqa: SLF001 - stopped during the run's writes
    assert broken.finish() == 4, broken.stderr()[-5000:]
    paragraph = broken.paragraph()
    assert paragraph.startswith("careplus: error:") and server.endpoint.removeprefix("http://") in paragraph

    restart_s3(server)
    versions = delta_versions(spark, root, ALL_TABLES)  # every table readable, no half-written commit
    assert versions["bronze.tickets"] is not None and versions["gold.fct_tickets"] is None
    healed = CareplusRun(argv, tmp_path / "stderr-2.txt", home, env=env).start()
    assert healed.finish() == 0, healed.stderr()[-5000:]
    tables = snapshot(spark, root)
    for name, rows in clean_run.tables.items():
        assert tables[name] == rows, f"{name} differs from the clean run's after the S3 outage"

