"""The real loopback test services of tests/services.py: MariaDB and the S3 gateway, started and used."""

from __future__ import annotations

import hashlib
import os
import socket
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pymysql
import pytest
from botocore.exceptions import ClientError

from tests import services
from tests.services import (
    MariaDbServer,
    S3Server,
    ServiceError,
    TestDatabase,
    wait_for_port,
)

if TYPE_CHECKING:
    from mypy_boto3_s3.type_defs import CompletedPartTypeDef

pytestmark = pytest.mark.integration

MIB = 1024 * 1024
ER_DBACCESS_DENIED = 1044
ER_ACCESS_DENIED = 1045


# ----------------------------------------------------------------- fixtures --


@pytest.fixture(scope="module")
def db_server() -> Iterator[MariaDbServer]:
    """A MariaDB server shared by this module."""
    with MariaDbServer.start_or_reuse() as server:
        yield server


@pytest.fixture(scope="module")
def s3_server() -> Iterator[S3Server]:
    """An S3 endpoint shared by this module."""
    with S3Server.start_or_reuse() as server:
        yield server


@pytest.fixture()
def database(db_server: MariaDbServer) -> Iterator[TestDatabase]:
    """A fresh database with its limited user, dropped afterwards."""
    db = db_server.create_database("svc_test")
    yield db
    db_server.drop_database(db)


@pytest.fixture()
def bucket(s3_server: S3Server) -> Iterator[str]:
    """A fresh bucket, deleted (with its content) afterwards."""
    name = s3_server.create_bucket("svc-test")
    yield name
    s3_server.delete_bucket(name)


def _mysql_error_code(error: pymysql.MySQLError) -> int:
    """Return the numeric MySQL error code of a pymysql error."""
    return int(error.args[0])


# ------------------------------------------------------------------ helpers --


def test_wait_for_port_returns_when_listening() -> None:
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        port = listener.getsockname()[1]
        assert wait_for_port("127.0.0.1", port, timeout_s=2.0) < 2.0


# ------------------------------------------------------------------ MariaDB --


def test_mariadb_server_settings(db_server: MariaDbServer) -> None:
    with db_server.connect() as connection, connection.cursor() as cursor:
        cursor.execute("SELECT @@character_set_server, @@collation_server, @@sql_mode")
        charset, collation, sql_mode = cursor.fetchone()
    assert db_server.port > 0
    if not db_server.reused:
        assert db_server.host == "127.0.0.1"
        assert (charset, collation) == ("utf8mb4", "utf8mb4_unicode_ci")
        assert "NO_ZERO_DATE" not in sql_mode
        assert "NO_ZERO_IN_DATE" not in sql_mode
        assert "STRICT_TRANS_TABLES" in sql_mode


def test_database_roundtrip_with_emoji(database: TestDatabase) -> None:
    text = "Zoë 🩺 care+ 😀"
    assert database.jdbc_url == f"jdbc:mysql://{database.host}:{database.port}/{database.database}"
    with database.connect() as connection, connection.cursor() as cursor:
        cursor.execute("CREATE TABLE patient (id INT PRIMARY KEY, name VARCHAR(100), seen DATE)")
        cursor.execute("INSERT INTO patient VALUES (%s, %s, %s)", (1, text, "2024-02-29"))
        cursor.execute("SELECT name, CHAR_LENGTH(name) FROM patient WHERE id = 1")
        assert cursor.fetchone() == (text, len(text))


def test_zero_dates_are_accepted(db_server: MariaDbServer, database: TestDatabase) -> None:
    if db_server.reused:
        pytest.skip("sql_mode of a reused server is not ours")
    with database.connect() as connection, connection.cursor() as cursor:
        cursor.execute("CREATE TABLE legacy (d DATE, ts DATETIME)")
        cursor.execute("INSERT INTO legacy VALUES ('0000-00-00', '0000-00-00 00:00:00')")
        cursor.execute("SELECT CAST(d AS CHAR), CAST(ts AS CHAR) FROM legacy")
        assert cursor.fetchone() == ("0000-00-00", "0000-00-00 00:00:00")


def test_limited_user_cannot_see_other_database(db_server: MariaDbServer, database: TestDatabase) -> None:
    other = db_server.create_database("svc_other")
    try:
        with database.connect() as connection, connection.cursor() as cursor:
            cursor.execute("SHOW DATABASES")
            visible = {row[0] for row in cursor.fetchall()}
            assert database.database in visible
            assert other.database not in visible
            with pytest.raises(pymysql.err.OperationalError) as raised:
                cursor.execute(f"USE `{other.database}`")
            assert _mysql_error_code(raised.value) == ER_DBACCESS_DENIED
    finally:
        db_server.drop_database(other)


def test_wrong_password_is_rejected(database: TestDatabase) -> None:
    with pytest.raises(pymysql.err.OperationalError) as raised:
        database.connect(password="not-the-password")
    assert _mysql_error_code(raised.value) == ER_ACCESS_DENIED


def test_root_cannot_log_in_over_tcp_without_password(db_server: MariaDbServer) -> None:
    if db_server.reused:
        pytest.skip("accounts of a reused server are not ours")
    with pytest.raises(pymysql.err.OperationalError) as raised:
        pymysql.connect(host="127.0.0.1", port=db_server.port, user="root", password="", connect_timeout=5)
    assert _mysql_error_code(raised.value) == ER_ACCESS_DENIED


def test_drop_database_removes_database_and_user(db_server: MariaDbServer) -> None:
    db = db_server.create_database("svc_drop")
    db.connect().close()
    db_server.drop_database(db)
    with db_server.connect() as connection, connection.cursor() as cursor:
        cursor.execute("SHOW DATABASES LIKE %s", (db.database,))
        assert cursor.fetchall() == ()
    with pytest.raises(pymysql.err.OperationalError) as raised:
        db.connect()
    assert _mysql_error_code(raised.value) == ER_ACCESS_DENIED


def test_create_database_sanitizes_prefix(db_server: MariaDbServer) -> None:
    db = db_server.create_database("Test Name[param-1]")
    try:
        assert db.database.startswith("test_name_param_1_")
        assert len(db.user) <= 32
    finally:
        db_server.drop_database(db)


def test_private_mariadb_stop_cleans_up() -> None:
    if os.environ.get("CAREPLUS_TEST_MYSQL_HOST"):
        pytest.skip("a reused MariaDB is configured")
    server = MariaDbServer.start_or_reuse()
    workdir, port = server.workdir, server.port
    assert workdir is not None and workdir.is_dir()
    server.stop()
    server.stop()  # idempotent
    assert not Path(workdir).exists()
    with pytest.raises(TimeoutError):
        wait_for_port("127.0.0.1", port, timeout_s=0.4, interval_s=0.1)


# ----------------------------------------------------------------------- S3 --


def test_s3_endpoint_is_loopback(s3_server: S3Server) -> None:
    if not s3_server.reused:
        assert s3_server.endpoint.startswith("http://127.0.0.1:")
    assert s3_server.region == "us-east-1"


def test_object_put_get_list_delete(s3_server: S3Server, bucket: str) -> None:
    client = s3_server.client()
    client.put_object(Bucket=bucket, Key="raw/2024/a.json", Body=b'{"a": 1}', ContentType="application/json")
    client.put_object(Bucket=bucket, Key="raw/2024/b.json", Body=b'{"b": 2}')
    client.put_object(Bucket=bucket, Key="raw/_delta_log/", Body=b"")  # s3a directory marker

    got = client.get_object(Bucket=bucket, Key="raw/2024/a.json")
    assert got["Body"].read() == b'{"a": 1}'
    assert got["ContentType"] == "application/json"

    listed = client.list_objects_v2(Bucket=bucket, Prefix="raw/2024/")
    assert [item["Key"] for item in listed["Contents"]] == ["raw/2024/a.json", "raw/2024/b.json"]
    top = client.list_objects_v2(Bucket=bucket, Prefix="raw/", Delimiter="/")
    assert {prefix["Prefix"] for prefix in top["CommonPrefixes"]} == {"raw/2024/", "raw/_delta_log/"}

    client.delete_object(Bucket=bucket, Key="raw/2024/a.json")
    with pytest.raises(ClientError) as raised:
        client.head_object(Bucket=bucket, Key="raw/2024/a.json")
    assert raised.value.response["Error"]["Code"] in {"404", "NoSuchKey"}


def test_multipart_upload_of_12_mib(s3_server: S3Server, bucket: str) -> None:
    client = s3_server.client()
    data = os.urandom(12 * MIB)
    parts_data = [data[0 : 5 * MIB], data[5 * MIB : 10 * MIB], data[10 * MIB :]]
    upload = client.create_multipart_upload(Bucket=bucket, Key="big/part.bin")
    parts: list[CompletedPartTypeDef] = []
    for number, chunk in enumerate(parts_data, start=1):
        response = client.upload_part(
            Bucket=bucket, Key="big/part.bin", UploadId=upload["UploadId"], PartNumber=number, Body=chunk
        )
        parts.append({"PartNumber": number, "ETag": response["ETag"]})
    client.complete_multipart_upload(
        Bucket=bucket, Key="big/part.bin", UploadId=upload["UploadId"], MultipartUpload={"Parts": parts}
    )

    head = client.head_object(Bucket=bucket, Key="big/part.bin")
    assert head["ContentLength"] == len(data)
    body = client.get_object(Bucket=bucket, Key="big/part.bin")["Body"].read()
    assert hashlib.sha256(body).digest() == hashlib.sha256(data).digest()
    ranged = client.get_object(Bucket=bucket, Key="big/part.bin", Range="bytes=5242870-5242889")
    assert ranged["Body"].read() == data[5242870:5242890]


def test_copy_object_then_delete_source_like_s3a_rename(s3_server: S3Server, bucket: str) -> None:
    client = s3_server.client()
    client.put_object(Bucket=bucket, Key="tmp/_temporary/part-0000.parquet", Body=b"PAR1data")
    client.copy_object(
        Bucket=bucket,
        Key="final/part-0000.parquet",
        CopySource={"Bucket": bucket, "Key": "tmp/_temporary/part-0000.parquet"},
    )
    client.delete_object(Bucket=bucket, Key="tmp/_temporary/part-0000.parquet")
    assert client.get_object(Bucket=bucket, Key="final/part-0000.parquet")["Body"].read() == b"PAR1data"
    remaining = client.list_objects_v2(Bucket=bucket, Prefix="tmp/")
    assert remaining.get("KeyCount", 0) == 0


def test_delete_bucket_removes_content_and_uploads(s3_server: S3Server) -> None:
    client = s3_server.client()
    name = s3_server.create_bucket("Svc Delete_Test")
    assert name.startswith("svc-delete-test-")
    assert name == name.lower() and 3 <= len(name) <= 63
    for index in range(5):
        client.put_object(Bucket=name, Key=f"a/b/{index}.txt", Body=b"x")
    client.create_multipart_upload(Bucket=name, Key="pending.bin")
    s3_server.delete_bucket(name)
    with pytest.raises(ClientError) as raised:
        client.head_bucket(Bucket=name)
    assert raised.value.response["Error"]["Code"] in {"404", "NoSuchBucket"}
    s3_server.delete_bucket(name)  # deleting a missing bucket is a no-op


def test_wrong_secret_is_rejected(s3_server: S3Server) -> None:
    bad = S3Server(s3_server.endpoint, s3_server.access_key, "wrong-secret", s3_server.region)
    with pytest.raises(ClientError) as raised:
        bad.client().list_buckets()
    assert raised.value.response["ResponseMetadata"]["HTTPStatusCode"] == 403


def test_private_s3_stop_cleans_up() -> None:
    if os.environ.get("CAREPLUS_TEST_S3_ENDPOINT"):
        pytest.skip("a reused S3 endpoint is configured")
    server = S3Server.start_or_reuse()
    workdir = server.workdir
    assert workdir is not None and workdir.is_dir()
    port = int(server.endpoint.rsplit(":", 1)[1])
    server.stop()
    server.stop()  # idempotent
    assert not Path(workdir).exists()
    with pytest.raises(TimeoutError):
        wait_for_port("127.0.0.1", port, timeout_s=0.4, interval_s=0.1)


# -------------------------------------------------------- reuse and failures --


def test_mariadb_reuse_from_environment(db_server: MariaDbServer, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(services.ENV_MYSQL_HOST, db_server.host)
    monkeypatch.setenv(services.ENV_MYSQL_PORT, str(db_server.port))
    monkeypatch.setenv(services.ENV_MYSQL_ADMIN_USER, db_server.admin_user)
    monkeypatch.setenv(services.ENV_MYSQL_ADMIN_PASSWORD, db_server.admin_password)
    with MariaDbServer.start_or_reuse() as reused:
        assert reused.reused and reused.workdir is None
        db = reused.create_database("svc_reuse")
        reused.drop_database(db)
    with db_server.connect() as connection:  # the reused server is still running
        connection.ping()


def test_mariadb_reuse_with_bad_password_fails_clearly(
    db_server: MariaDbServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(services.ENV_MYSQL_HOST, db_server.host)
    monkeypatch.setenv(services.ENV_MYSQL_PORT, str(db_server.port))
    monkeypatch.setenv(services.ENV_MYSQL_ADMIN_USER, db_server.admin_user)
    monkeypatch.setenv(services.ENV_MYSQL_ADMIN_PASSWORD, "wrong")
    with pytest.raises(ServiceError, match="cannot log in"):
        MariaDbServer.start_or_reuse()


def test_s3_reuse_from_environment(s3_server: S3Server, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(services.ENV_S3_ENDPOINT, s3_server.endpoint)
    monkeypatch.setenv(services.ENV_S3_ACCESS_KEY, s3_server.access_key)
    monkeypatch.setenv(services.ENV_S3_SECRET_KEY, s3_server.secret_key)
    with S3Server.start_or_reuse() as reused:
        assert reused.reused and reused.workdir is None
        reused.delete_bucket(reused.create_bucket("svc-reuse"))
    s3_server.client().list_buckets()  # the reused endpoint is still running


def _first_port_taken(monkeypatch: pytest.MonkeyPatch, listener: socket.socket) -> None:
    """Make the launchers' first free-port pick collide with ``listener``."""
    taken = [listener.getsockname()[1]]
    real = services.find_free_port
    monkeypatch.setattr(services, "find_free_port", lambda: taken.pop() if taken else real())


@pytest.mark.parametrize("launcher", ["mariadb", "s3"])
def test_start_retries_when_port_was_taken(launcher: str, monkeypatch: pytest.MonkeyPatch) -> None:
    for name in (services.ENV_MYSQL_HOST, services.ENV_S3_ENDPOINT):
        monkeypatch.delenv(name, raising=False)
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        _first_port_taken(monkeypatch, listener)
        server_class = MariaDbServer if launcher == "mariadb" else S3Server
        with server_class.start_or_reuse() as server:
            assert server.workdir is not None
            assert any(path.name[-2:] == ".1" for path in server.workdir.iterdir())


def test_s3_start_failure_reports_log(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    fake = tmp_path / "versitygw"
    fake.write_text("#!/bin/sh\necho 'boom: cannot serve' >&2\nexit 3\n")
    fake.chmod(0o755)
    monkeypatch.delenv(services.ENV_S3_ENDPOINT, raising=False)
    monkeypatch.setenv(services.ENV_VERSITYGW, str(fake))
    with pytest.raises(ServiceError, match="boom: cannot serve"):
        S3Server.start_or_reuse(base_dir=tmp_path)
    assert [path.name for path in tmp_path.iterdir()] == ["versitygw"]  # temp dir removed
