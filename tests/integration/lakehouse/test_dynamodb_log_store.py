"""Two writers in two JVMs append to one Delta table on S3 at once through Delta's S3DynamoDBLogStore.

The table lives on the real S3 server; the DynamoDB table that makes each commit exclusive is
moto's, on loopback. Delta's log store calls DynamoDB through the AWS SDK for Java v1, which
speaks HTTPS only: moto runs with its self-signed certificate and the writers' JVMs skip the
certificate check (``-Dcom.amazonaws.sdk.disableCertChecking``, test only). Afterwards the
table's versions are contiguous, every row of every round of both writers is there exactly once,
and DynamoDB holds one completed entry per version: the log store in use is the DynamoDB one.
"""

from __future__ import annotations

import io
import json
import os
import re
import ssl
import subprocess
import sys
import urllib.request
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from careplus_spark.platform import jars
from careplus_spark.platform.config import AppConfig
from careplus_spark.platform.session import jars_dir
from tests.services import LOOPBACK, find_free_port, wait_until_ready

pytestmark = pytest.mark.slow

REPO = Path(__file__).resolve().parents[3]
ROUNDS, ROWS = 5, 7
WRITER_TIMEOUT_S = 900
DDB_TABLE = "careplus_delta_log"
_VERSION = re.compile(r"_delta_log/(\d{20})\.json$")


class TlsMoto:
    """moto's server over HTTPS (its self-signed certificate) on a free loopback port."""

    def __init__(self, workdir: Path) -> None:
        port = find_free_port()
        self.endpoint = f"https://{LOOPBACK}:{port}"
        self.log = workdir / "moto-tls.log"
        argv = [sys.executable, str(REPO / "tests" / "moto_ext.py"), "-H", LOOPBACK, "-p", str(port), "--ssl"]
        env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
        with self.log.open("ab") as out:
            self.process = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT,
                                            start_new_session=True, env=env)
        wait_until_ready(self._answers, self.process, 60.0, what="moto (TLS)")

    def _answers(self) -> bool:
        context = ssl.create_default_context()
        context.check_hostname, context.verify_mode = False, ssl.CERT_NONE
        handlers = (urllib.request.ProxyHandler({}), urllib.request.HTTPSHandler(context=context))
        opener = urllib.request.build_opener(*handlers)
        try:
            with opener.open(f"{self.endpoint}/moto-api/data.json", timeout=1.0) as response:
                return int(response.status) == 200
        except (OSError, ValueError):
            return False

    def dynamodb(self) -> Any:
        import boto3
        from botocore.config import Config

        session = boto3.session.Session(aws_access_key_id="test", aws_secret_access_key="test", region_name="us-east-1")
        return session.client("dynamodb", endpoint_url=self.endpoint, verify=False,
                              config=Config(retries={"max_attempts": 3, "mode": "standard"}, read_timeout=30))

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=10)


@pytest.fixture(scope="module")
def dynamodb(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TlsMoto]:
    server = TlsMoto(tmp_path_factory.mktemp("moto-tls"))
    yield server
    server.stop()


@pytest.fixture(scope="module")
def log_store_jars(base_cfg: AppConfig) -> list[Path]:
    """The log store's jars in the cache the session builder reads (built from Delta's sources if not served)."""
    return jars.fetch_jars(jars_dir(base_cfg), log_store=jars.S3_DYNAMODB, progress=print)


def run_writers(s3: Any, dynamodb: TlsMoto, table: str, sync: Path) -> list[subprocess.CompletedProcess[str]]:
    """Starts both writers together and waits for them (bounded)."""
    overrides = [
        f"lakehouse.root={table.rsplit('/', 1)[0]}", "lakehouse.log_store=s3-dynamodb",
        f"lakehouse.dynamodb.table={DDB_TABLE}", f"lakehouse.dynamodb.endpoint={dynamodb.endpoint}",
        "lakehouse.dynamodb.region=us-east-1", "lakehouse.catalog.kind=in-memory",
        f"s3.endpoint={s3.endpoint}", f"s3.region={s3.region}", "s3.path_style_access=true", "s3.ssl_enabled=false",
        "spark.master=local[1]", "spark.shuffle_partitions=1", "spark.driver_memory=1g",
    ]
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "PYTEST_", "CAREPLUS_TEST_"))}
    env.update({"AWS_ACCESS_KEY_ID": s3.access_key, "AWS_SECRET_ACCESS_KEY": s3.secret_key,
                # the DynamoDB emulator's self-signed certificate, for the AWS SDK v1 of these JVMs only
                "JAVA_TOOL_OPTIONS": "-Dcom.amazonaws.sdk.disableCertChecking=true"})
    processes = []
    for writer in (0, 1):
        command = [sys.executable, "-m", "tests.integration.lakehouse.dynamodb_writer", "--writer", str(writer),
                   "--rounds", str(ROUNDS), "--rows", str(ROWS), "--table", table, "--sync", str(sync),
                   *[x for o in overrides for x in ("--set", o)]]
        processes.append(subprocess.Popen(command, cwd=REPO, env=env, stdout=subprocess.PIPE,
                                          stderr=subprocess.STDOUT, text=True))
    done = []
    try:
        for process in processes:
            out, _ = process.communicate(timeout=WRITER_TIMEOUT_S)
            done.append(subprocess.CompletedProcess(process.args, process.returncode, out, ""))
    finally:
        for process in processes:
            if process.poll() is None:
                process.kill()
                process.wait(timeout=30)
    return done


def retried(client: Any, bucket: str, versions: list[str]) -> int:
    """How many commits were made at a later version than the one read first (a lost race, retried)."""
    count = 0
    for number, key in enumerate(versions):
        for line in client.get_object(Bucket=bucket, Key=key)["Body"].read().decode().splitlines():
            info = json.loads(line).get("commitInfo", {})
            count += int("readVersion" in info and info["readVersion"] != number - 1)
    return count


def committed_rows(client: Any, bucket: str, prefix: str, versions: list[str]) -> list[tuple[int, int, int]]:
    """Every row of every file the Delta log adds (the writers only append: nothing is removed)."""
    import pyarrow.parquet as pq

    rows = []
    for key in versions:
        for line in client.get_object(Bucket=bucket, Key=key)["Body"].read().decode().splitlines():
            action = json.loads(line)
            assert "remove" not in action, action
            if "add" in action:
                body = client.get_object(Bucket=bucket, Key=f"{prefix}/{action['add']['path']}")["Body"].read()
                data = pq.read_table(io.BytesIO(body)).to_pydict()
                rows += list(zip(data["writer"], data["round"], data["seq"], strict=True))
    return rows


def test_two_jvms_appending_at_once_lose_no_commit(
    s3: Any, dynamodb: TlsMoto, log_store_jars: list[Path], tmp_path: Path
) -> None:
    assert log_store_jars[-1].name == jars.log_store_artifacts(jars.spark_line())[-1].file_name
    bucket = s3.create_bucket("ddb-log-store")
    prefix = "lake/events"
    table = f"s3a://{bucket}/{prefix}"
    try:
        sync = tmp_path / "sync"
        sync.mkdir()
        results = run_writers(s3, dynamodb, table, sync)
        for result in results:
            print(result.stdout[-3000:])  # shown with -s or on failure: each writer's progress
            assert result.returncode == 0, result.stdout[-4000:]

        client = s3.client()
        keys = [o["Key"] for o in client.list_objects_v2(Bucket=bucket, Prefix=f"{prefix}/_delta_log/",
                                                         MaxKeys=1000).get("Contents", [])]
        versions = sorted(k for k in keys if _VERSION.search(k))
        numbers = [int(_VERSION.search(k).group(1)) for k in versions]  # type: ignore[union-attr]
        assert numbers == list(range(1 + 2 * ROUNDS))  # the creation, then every append: contiguous

        print(f"commits retried after losing a race for their version: {retried(client, bucket, versions)}")
        rows = committed_rows(client, bucket, prefix, versions)
        expected = [(w, r, s) for w in (0, 1) for r in range(ROUNDS) for s in range(ROWS)]
        assert sorted(rows) == expected  # each row once: no commit lost, none applied twice

        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # urllib3: the emulator's self-signed certificate
            items = dynamodb.dynamodb().scan(TableName=DDB_TABLE)["Items"]
        mine = [i for i in items if i["tablePath"]["S"].rstrip("/").endswith(f"{bucket}/{prefix}")]
        assert sorted(i["fileName"]["S"] for i in mine) == [f"{n:020d}.json" for n in numbers]
        assert {i["complete"]["S"] for i in mine} == {"true"}
    finally:
        s3.delete_bucket(bucket)
