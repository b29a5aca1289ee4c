"""No secret in any output of a run (issue 14, finding 2): a whole ``careplus run`` against the real
MariaDB and S3 servers, secrets given through the environment only, then every output searched for
every secret value: stdout, stderr (``--debug``: Python at DEBUG, Spark at INFO), every file the run
wrote (its home folder, its working folder, the Spark event log, the metastore), every object under the
lakehouse (``_delta_log`` commits and checkpoints included) and every row of every Delta table.
A second run with a wrong database password fails, and its output holds no secret either.
"""

from __future__ import annotations

import os
import secrets as random
import shutil
import subprocess
import sys
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml

from careplus_spark.platform import session
from careplus_spark.platform.config import load_config

pytestmark = [pytest.mark.integration, pytest.mark.slow]

REPO = Path(__file__).resolve().parents[3]
RUN_TIMEOUT_S = 1800


@dataclass
class Run:
    """One ``careplus`` process: its arguments and what it printed."""

    args: list[str]
    returncode: int
    stdout: str
    stderr: str


@dataclass
class GrepSetup:
    """The runs of this module, the secrets they were given and where they wrote."""

    secrets: dict[str, str]
    folder: Path
    bucket: str
    roots: list[str]
    runs: dict[str, Run]


def careplus(folder: Path, env: dict[str, str], *args: str) -> Run:
    command = [sys.executable, "-m", "careplus_spark", *args, "--env", "grep", "--conf-dir", str(folder / "conf")]
    done = subprocess.run(command, cwd=folder / "work", env=env, capture_output=True, text=True,
                          timeout=RUN_TIMEOUT_S)
    console = folder.parent / f"{folder.name}-console"  # kept for a failure's diagnosis, outside the searched folder
    console.mkdir(exist_ok=True)
    name = "-".join(a.strip("-") for a in args if not a.startswith("lakehouse.root="))
    (console / f"{name}.stdout").write_text(done.stdout, encoding="utf-8")
    (console / f"{name}.stderr").write_text(done.stderr, encoding="utf-8")
    return Run(list(args), done.returncode, done.stdout, done.stderr)


def write_conf(folder: Path, s3: Any, bucket: str, root: str, mysql_db: Any, table: str) -> None:
    """conf/grep.yaml: every secret as a ${VAR} reference, the event log on, the lakehouse on S3."""
    conf = folder / "conf"
    conf.mkdir()
    shutil.copy(REPO / "conf" / "base.yaml", conf / "base.yaml")
    grep = {
        "spark": {"platform": "local", "master": "local[2]", "shuffle_partitions": 2, "log_level": "ERROR", "conf": {
            "spark.eventLog.enabled": "true",
            "spark.eventLog.dir": (folder / "events").as_uri(),
            "spark.eventLog.compress": "false",
            "spark.careplus.grep.token": "${CAREPLUS_GREP_TOKEN}",  # a secret-looking spark.conf setting
        }},
        "s3": {"endpoint": s3.endpoint, "region": s3.region, "path_style_access": True, "ssl_enabled": False,
               "access_key": "${CAREPLUS_GREP_S3_ACCESS_KEY}", "secret_key": "${CAREPLUS_GREP_S3_SECRET_KEY}"},
        "lakehouse": {"root": root, "catalog": {"kind": "hive", "metastore_dir": str(folder / "metastore")}},
        "sources": {
            "tickets": {"url": mysql_db.jdbc_url, "table": table, "user": mysql_db.user,
                        "password": "${CAREPLUS_GREP_DB_PASSWORD}",
                        "options": {"connectionTimeZone": "UTC", "forceConnectionTimeZoneToSession": "true"}},
            "logs": {"path": str(folder / "logs")},
        },
        "generate": {"days": 1, "tickets_per_day": 40, "log_files_per_day": 1},
    }
    (conf / "grep.yaml").write_text(yaml.safe_dump(grep), encoding="utf-8")


@pytest.fixture(scope="module")
def grep_setup(
    tmp_path_factory: pytest.TempPathFactory, mysql_db: Any, s3: Any, s3_bucket: str
) -> Iterator[GrepSetup]:
    folder = tmp_path_factory.mktemp("secret-grep")
    for name in ("work", "home", "events"):
        (folder / name).mkdir()
    roots = [f"s3a://{s3_bucket}/grep-{uuid.uuid4().hex[:8]}", f"s3a://{s3_bucket}/grep-wrong-{uuid.uuid4().hex[:8]}"]
    write_conf(folder, s3, s3_bucket, roots[0], mysql_db, f"tickets_grep_{uuid.uuid4().hex[:8]}")
    values = {
        "database password": mysql_db.password,
        "S3 access key": s3.access_key,
        "S3 secret key": s3.secret_key,
        "spark.conf token": f"tok-{random.token_hex(12)}",
        "wrong database password": f"wrong-{random.token_hex(12)}",
    }
    jars_dir = session.jars_dir(load_config("test", conf_dir=REPO / "conf", environ=os.environ))
    env = {k: v for k, v in os.environ.items() if not k.startswith(("CAREPLUS_", "AWS_", "PYTEST_"))}
    env.update({
        "HOME": str(folder / "home"),  # whatever a run writes to the home folder is searched too
        "CAREPLUS_JARS_DIR": str(jars_dir),
        "CAREPLUS_GREP_DB_PASSWORD": values["database password"],
        "CAREPLUS_GREP_S3_ACCESS_KEY": values["S3 access key"],
        "CAREPLUS_GREP_S3_SECRET_KEY": values["S3 secret key"],
        "CAREPLUS_GREP_TOKEN": values["spark.conf token"],
    })
    runs = {"generate": careplus(folder, env, "generate", "--debug")}
    runs["run"] = careplus(folder, env, "run", "--debug")
    wrong = {**env, "CAREPLUS_GREP_DB_PASSWORD": values["wrong database password"]}
    runs["wrong password"] = careplus(folder, wrong, "run", "ingest_tickets", "--debug",
                                      "--set", f"lakehouse.root={roots[1]}")
    yield GrepSetup(values, folder, s3_bucket, roots, runs)


def lakehouse_keys(setup: GrepSetup, s3: Any) -> list[str]:
    """Every object key under the lakehouse roots of the runs."""
    keys: list[str] = []
    for root in setup.roots:
        prefix = root.split(f"{setup.bucket}/", 1)[1] + "/"
        pages = s3.client().get_paginator("list_objects_v2").paginate(
            Bucket=setup.bucket, Prefix=prefix, PaginationConfig={"MaxItems": 20000}
        )
        keys += [o["Key"] for page in pages for o in page.get("Contents", [])]
    return keys


def found_in(text: str | bytes, values: dict[str, str]) -> list[str]:
    data = text.encode() if isinstance(text, str) else text
    return [name for name, value in values.items() if value.encode() in data]


def test_the_secrets_are_real_and_the_runs_did_their_work(grep_setup: GrepSetup) -> None:
    assert all(len(v) >= 12 for v in grep_setup.secrets.values())
    for name in ("generate", "run"):
        run = grep_setup.runs[name]
        assert run.returncode == 0, f"{name}:\n{(run.stdout + run.stderr)[-5000:]}"
    assert "ingest_tickets: read 40, written 40" in grep_setup.runs["run"].stdout
    wrong = grep_setup.runs["wrong password"]
    assert wrong.returncode != 0 and "rejected the credentials" in wrong.stdout + wrong.stderr


@pytest.mark.parametrize("name", ["generate", "run", "wrong password"])
def test_no_secret_on_the_console(grep_setup: GrepSetup, name: str) -> None:
    run = grep_setup.runs[name]
    if name != "generate":  # generate logs nothing at DEBUG
        assert " DEBUG " in run.stderr, "--debug logs were not captured"
    assert found_in(run.stdout, grep_setup.secrets) == []
    assert found_in(run.stderr, grep_setup.secrets) == []


def test_no_secret_in_any_file_the_runs_wrote(grep_setup: GrepSetup) -> None:
    files = [p for p in grep_setup.folder.rglob("*") if p.is_file() and p.parent.name != "conf"]
    applications = list((grep_setup.folder / "events").iterdir())
    assert len(applications) == 2, applications  # the run and the wrong-password run (generate starts no Spark)
    events = [p for p in files if p.is_relative_to(grep_setup.folder / "events")]
    text = b"".join(p.read_bytes() for p in events)
    assert b"SparkListenerEnvironmentUpdate" in text and b"SparkListenerSQLExecutionStart" in text
    assert b"JDBCRelation" in text or b"jdbc" in text.lower()  # the reads of the database are in there
    assert any(p.is_relative_to(grep_setup.folder / "metastore") for p in files)
    leaks = {str(p): found for p in files if (found := found_in(p.read_bytes(), grep_setup.secrets))}
    assert leaks == {}


def test_no_secret_in_any_object_of_the_lakehouses(grep_setup: GrepSetup, s3: Any) -> None:
    client = s3.client()
    keys = lakehouse_keys(grep_setup, s3)
    assert any("/_delta_log/" in k and k.endswith(".json") for k in keys)
    assert any("/ops/runs/_delta_log/" in k for k in keys if grep_setup.roots[1].rsplit("/", 1)[1] in k)
    leaks = {}
    for key in keys:
        body = client.get_object(Bucket=grep_setup.bucket, Key=key)["Body"].read()
        if found := found_in(body, grep_setup.secrets):
            leaks[key] = found
    assert leaks == {}


def test_no_secret_in_any_row_of_any_table(grep_setup: GrepSetup, s3: Any, spark: Any) -> None:
    from pyspark.sql import functions as F  # lazy: Spark only for the tests that read tables

    tables = {key.split("/_delta_log/")[0] for key in lakehouse_keys(grep_setup, s3) if "/_delta_log/" in key}
    assert {t.split("/", 1)[1] for t in tables} >= {"bronze/tickets", "bronze/logs", "silver/tickets", "ops/runs"}
    leaks: dict[str, list[str]] = {}
    for table in sorted(tables):
        df = spark.read.format("delta").load(f"s3a://{grep_setup.bucket}/{table}")
        rows = df.select(F.to_json(F.struct(*[df[c] for c in df.columns])).alias("row"))
        hits = rows.select(*[F.max(F.col("row").contains(v).cast("int")).alias(n)
                             for n, v in grep_setup.secrets.items()]).first()
        if found := [name for name in grep_setup.secrets if hits and hits[name]]:
            leaks[table] = found
    assert leaks == {}
    bronze = spark.read.format("delta").load(f"{grep_setup.roots[0]}/bronze/tickets")
    sources = {r["_source"] for r in bronze.select("_source").distinct().collect()}
    assert bronze.count() > 0 and all(s.startswith("jdbc:mysql://") for s in sources), sources
