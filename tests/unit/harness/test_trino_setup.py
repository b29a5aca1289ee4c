"""The Trino and AWS-emulator parts of tests/services.py that need no server or network.

Downloads go through ``file://`` URLs of a fake Maven repository made here.
"""

from __future__ import annotations

import hashlib
import io
import json
import tarfile
import zipfile
from pathlib import Path

import pytest

from tests import services
from tests.services import (
    MavenArtifact,
    MotoServer,
    S3Server,
    ServiceError,
    ServiceNotInstalledError,
    TrinoServer,
    download_verified,
    fetch_maven_artifact,
    file_sha1,
    find_trino_java,
    hive_glue_catalog_properties,
    install_trino,
    parse_java_release,
    parse_sha1_file,
    render_properties,
    trino_aot_cache_path,
    trino_config_properties,
    trino_is_installed,
    trino_jvm_options,
    trino_node_properties,
    trino_server_dir,
)

SHA1_OF_EMPTY = "da39a3ee5e6b4b0d3255bfef95601890afd80709"


def _sha1(data: bytes) -> str:
    return hashlib.sha1(data).hexdigest()  # noqa: S324 - what Maven publishes


# ------------------------------------------------------------ checksums --


def test_parse_sha1_file_accepts_bare_digest_and_digest_with_file_name() -> None:
    assert parse_sha1_file(f"{SHA1_OF_EMPTY}\n") == SHA1_OF_EMPTY
    assert parse_sha1_file(f"{SHA1_OF_EMPTY.upper()}  trino-hive-476.zip\n") == SHA1_OF_EMPTY


@pytest.mark.parametrize("text", ["", "<html>not found</html>", "abc123"])
def test_parse_sha1_file_rejects_other_text(text: str) -> None:
    with pytest.raises(ServiceError, match="SHA-1"):
        parse_sha1_file(text)


def test_file_sha1(tmp_path: Path) -> None:
    path = tmp_path / "f"
    path.write_bytes(b"careplus" * 1000)
    assert file_sha1(path) == _sha1(b"careplus" * 1000)


def test_download_verified_renames_only_a_verified_file(tmp_path: Path) -> None:
    source = tmp_path / "src.bin"
    source.write_bytes(b"payload")
    dest = tmp_path / "out" / "dest.bin"

    download_verified(source.as_uri(), dest, _sha1(b"payload"))

    assert dest.read_bytes() == b"payload"
    assert [p.name for p in dest.parent.iterdir()] == ["dest.bin"]


def test_download_verified_leaves_nothing_on_checksum_mismatch(tmp_path: Path) -> None:
    source = tmp_path / "src.bin"
    source.write_bytes(b"tampered")
    dest = tmp_path / "out" / "dest.bin"

    with pytest.raises(ServiceError, match="SHA-1 mismatch"):
        download_verified(source.as_uri(), dest, _sha1(b"payload"))

    assert list(dest.parent.iterdir()) == []


def test_maven_artifact_url() -> None:
    artifact = MavenArtifact("io.trino", "trino-server-core", "476", "tar.gz")
    assert artifact.url() == (
        "https://repo1.maven.org/maven2/io/trino/trino-server-core/476/trino-server-core-476.tar.gz"
    )
    cli = MavenArtifact("io.trino", "trino-cli", "476", "jar", "executable")
    assert cli.file_name == "trino-cli-476-executable.jar"


# ------------------------------------------------- fake Maven repository --


def _publish(repo: Path, artifact: MavenArtifact, data: bytes, sha1: str | None = None) -> None:
    path = repo / artifact.url("").lstrip("/")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    Path(f"{path}.sha1").write_text(sha1 or _sha1(data), encoding="ascii")


def _tar_gz(files: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as tar:
        for name, data in files.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return buffer.getvalue()


def _zip(files: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as bundle:
        for name, data in files.items():
            bundle.writestr(name, data)
    return buffer.getvalue()


@pytest.fixture
def fake_repo(tmp_path: Path) -> Path:
    """A file:// Maven repository holding tiny stand-ins for the two Trino artifacts."""
    repo = tmp_path / "repo"
    server = _tar_gz(
        {
            "trino-server-core-476/lib/io.trino_trino-main-476.jar": b"main",
            "trino-server-core-476/bin/launcher.properties": b"main-class=io.trino.server.TrinoServer\n",
            "trino-server-core-476/plugin/geospatial/geo.jar": b"geo",
        }
    )
    hive = _zip({"trino-hive-476/io.trino_trino-hive-476.jar": b"hive"})
    _publish(repo, services.TRINO_SERVER_ARTIFACT, server)
    _publish(repo, services.TRINO_HIVE_ARTIFACT, hive)
    return repo


def test_fetch_maven_artifact_verifies_and_reuses(fake_repo: Path, tmp_path: Path) -> None:
    target = tmp_path / "downloads"
    first = fetch_maven_artifact(services.TRINO_HIVE_ARTIFACT, target, repository=fake_repo.as_uri())
    mtime = first.stat().st_mtime_ns

    second = fetch_maven_artifact(services.TRINO_HIVE_ARTIFACT, target, repository=fake_repo.as_uri())

    assert second == first
    assert second.stat().st_mtime_ns == mtime


def test_fetch_maven_artifact_gives_up_after_bounded_attempts(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    repo = tmp_path / "repo"
    _publish(repo, services.TRINO_HIVE_ARTIFACT, b"zip", sha1=SHA1_OF_EMPTY)
    sleeps: list[float] = []
    monkeypatch.setattr(services.time, "sleep", sleeps.append)

    with pytest.raises(ServiceError, match="after 2 attempts"):
        fetch_maven_artifact(services.TRINO_HIVE_ARTIFACT, tmp_path / "dl", repository=repo.as_uri(), attempts=2)

    assert len(sleeps) == 1
    assert not (tmp_path / "dl" / services.TRINO_HIVE_ARTIFACT.file_name).exists()


def test_install_trino_unpacks_server_and_hive_plugin_once(fake_repo: Path, tmp_path: Path) -> None:
    home = tmp_path / "trino-home"

    server = install_trino(home, repository=fake_repo.as_uri())

    assert server == trino_server_dir(home)
    assert trino_is_installed(home)
    assert (server / "lib" / "io.trino_trino-main-476.jar").read_bytes() == b"main"
    assert (server / "plugin" / "hive" / "io.trino_trino-hive-476.jar").read_bytes() == b"hive"
    marker = json.loads((server / services.TRINO_INSTALLED_MARKER).read_text(encoding="utf-8"))
    assert set(marker) >= {"trino-server-core-476.tar.gz", "trino-hive-476.zip"}
    assert not (home / "downloads").exists()
    assert not list(home.glob(".staging-*"))
    # A second call finds the marker and downloads nothing (the repository is gone).
    (fake_repo / "io").rename(tmp_path / "moved")
    assert install_trino(home, repository=fake_repo.as_uri()) == server


def test_install_trino_leaves_no_server_when_a_checksum_is_wrong(
    fake_repo: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(services.time, "sleep", lambda _s: None)
    sha1_file = fake_repo / (services.TRINO_HIVE_ARTIFACT.url("").lstrip("/") + ".sha1")
    sha1_file.write_text(SHA1_OF_EMPTY, encoding="ascii")
    home = tmp_path / "trino-home"

    with pytest.raises(ServiceError, match="SHA-1 mismatch"):
        install_trino(home, repository=fake_repo.as_uri())

    assert not trino_is_installed(home)
    assert not trino_server_dir(home).exists()


def test_trino_home_is_overridable(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv(services.ENV_TRINO_HOME, str(tmp_path))
    assert services.trino_home() == tmp_path
    monkeypatch.delenv(services.ENV_TRINO_HOME)
    assert services.trino_home().parts[-4:] == (".cache", "careplus", "trino", "476")


# ----------------------------------------------------------------- Java --


def _fake_jdk(root: Path, name: str, version: str) -> Path:
    home = root / name
    (home / "bin").mkdir(parents=True)
    java = home / "bin" / "java"
    java.write_text("#!/bin/sh\nexit 0\n", encoding="ascii")
    java.chmod(0o755)
    (home / "release").write_text(f'IMPLEMENTOR="test"\nJAVA_VERSION="{version}"\n', encoding="ascii")
    return home


def test_parse_java_release() -> None:
    assert parse_java_release('JAVA_VERSION="25.0.3"\nOS_NAME="Linux"') == (25, 0, 3)
    assert parse_java_release('JAVA_VERSION="25"') == (25,)
    assert parse_java_release("nothing") is None


def test_find_trino_java_prefers_java_25(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    for name, version in [("jdk-17", "17.0.15"), ("jdk-24", "24.0.2"), ("jdk-25", "25.0.3"), ("jdk-26", "26")]:
        _fake_jdk(tmp_path, name, version)
    monkeypatch.setattr(services, "JAVA_SEARCH_GLOBS", ((str(tmp_path), "*"),))
    monkeypatch.delenv("JAVA_HOME", raising=False)
    monkeypatch.delenv(services.ENV_TRINO_JAVA_HOME, raising=False)

    runtime = find_trino_java()

    assert runtime.home == (tmp_path / "jdk-25").resolve()
    assert runtime.version == (25, 0, 3)
    assert runtime.java == runtime.home / "bin" / "java"


def test_find_trino_java_rejects_too_old(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _fake_jdk(tmp_path, "jdk-17", "17.0.15")
    _fake_jdk(tmp_path, "jdk-24", "24.0.0")  # Trino 476 needs 24.0.1
    monkeypatch.setattr(services, "JAVA_SEARCH_GLOBS", ((str(tmp_path), "*"),))
    monkeypatch.delenv("JAVA_HOME", raising=False)
    monkeypatch.delenv(services.ENV_TRINO_JAVA_HOME, raising=False)

    with pytest.raises(ServiceNotInstalledError, match="CAREPLUS_TRINO_JAVA_HOME"):
        find_trino_java()


def test_find_trino_java_honours_override(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(services.ENV_TRINO_JAVA_HOME, str(_fake_jdk(tmp_path, "any", "24.0.1")))
    assert find_trino_java().version == (24, 0, 1)
    monkeypatch.setenv(services.ENV_TRINO_JAVA_HOME, str(_fake_jdk(tmp_path, "old", "21.0.8")))
    with pytest.raises(ServiceNotInstalledError, match=r"24\.0\.1"):
        find_trino_java()


# ------------------------------------------------------- configuration --


def test_render_properties_keeps_order_and_escapes_backslashes() -> None:
    text = render_properties({"b.key": "1", "a.key": r"C:\x"})
    assert text == "b.key=1\na.key=C:\\\\x\n"


@pytest.mark.parametrize(("key", "value"), [("k", "a\nb"), ("k\r", "v"), ("bad key", "v")])
def test_render_properties_rejects_breaking_entries(key: str, value: str) -> None:
    with pytest.raises(ValueError):
        render_properties({key: value})


def test_hive_catalog_points_glue_at_emulator_and_files_at_s3() -> None:
    aws = MotoServer("http://127.0.0.1:5000/")
    s3 = S3Server("http://127.0.0.1:7070", "AKEXAMPLE", "SECRET", region="us-east-1")

    properties = hive_glue_catalog_properties(aws, s3)

    assert properties["connector.name"] == "hive"
    assert properties["hive.metastore"] == "glue"
    assert properties["hive.metastore.glue.endpoint-url"] == "http://127.0.0.1:5000"
    assert properties["hive.metastore.glue.region"] == "us-east-1"
    assert properties["hive.metastore.glue.aws-access-key"] == aws.access_key
    assert properties["hive.metastore.glue.aws-secret-key"] == aws.secret_key
    assert properties["fs.native-s3.enabled"] == "true"
    assert properties["s3.endpoint"] == "http://127.0.0.1:7070"
    assert properties["s3.path-style-access"] == "true"
    assert (properties["s3.aws-access-key"], properties["s3.aws-secret-key"]) == ("AKEXAMPLE", "SECRET")
    assert properties["s3.region"] == "us-east-1"


def test_server_config_is_single_node_on_loopback(tmp_path: Path) -> None:
    config = trino_config_properties(8123, tmp_path)
    node = trino_node_properties(tmp_path)

    assert config["coordinator"] == "true"
    assert config["node-scheduler.include-coordinator"] == "true"
    assert config["http-server.http.port"] == "8123"
    assert config["discovery.uri"] == "http://127.0.0.1:8123"
    assert config["plugin.dir"] == str(tmp_path / "plugin")
    assert node["node.bind-ip"] == "127.0.0.1"
    assert node["node.data-dir"] == str(tmp_path / "data")
    assert "-Xmx1G" in trino_jvm_options()


def _private_server(tmp_path: Path, java_home: Path) -> TrinoServer:
    server = TrinoServer("http://127.0.0.1:1")
    server.reused = False
    server.java = services.java_runtime_at(java_home)
    server.server_dir = tmp_path / "trino-server-476"
    server.workdir = tmp_path / "work"
    server.workdir.mkdir()
    return server


def test_server_command_line_is_what_the_launcher_would_run(tmp_path: Path) -> None:
    server = _private_server(tmp_path, _fake_jdk(tmp_path, "jdk", "25.0.3"))
    aws = MotoServer("http://127.0.0.1:5000")
    s3 = S3Server("http://127.0.0.1:7070", "AK", "SK")

    etc = server._write_etc(8123, hive_glue_catalog_properties(aws, s3))
    argv = server._server_argv(etc)

    assert argv[0] == str(tmp_path / "jdk" / "bin" / "java")
    assert argv[1:3] == ["-cp", str(tmp_path / "trino-server-476" / "lib" / "*")]
    assert "-Xmx1G" in argv
    assert "-Dnode.bind-ip=127.0.0.1" in argv
    assert f"-Dconfig={etc / 'config.properties'}" in argv
    assert argv[-1] == "io.trino.server.TrinoServer"
    assert "hive.metastore=glue" in (etc / "catalog" / "hive.properties").read_text(encoding="utf-8")
    assert (etc / "catalog" / "hive.properties").stat().st_mode & 0o077 == 0
    assert not any(arg.startswith("-XX:AOTCache") for arg in argv)

    server.aot_cache = tmp_path / "trino.aot"
    assert f"-XX:AOTCache={tmp_path / 'trino.aot'}" in server._server_argv(etc)


def test_aot_cache_name_follows_java_and_options(tmp_path: Path) -> None:
    java25 = services.java_runtime_at(_fake_jdk(tmp_path, "jdk25", "25.0.3"))
    java26 = services.java_runtime_at(_fake_jdk(tmp_path, "jdk26", "26.0.1"))
    assert java25 is not None and java26 is not None

    path = trino_aot_cache_path(java25, tmp_path / "server", home=tmp_path)

    assert path.parent == tmp_path / "aot"
    assert path.name.startswith("trino-476-java25.0.3-")
    assert path != trino_aot_cache_path(java26, tmp_path / "server", home=tmp_path)
    assert path == trino_aot_cache_path(java25, tmp_path / "server", home=tmp_path)


def test_trino_url_must_be_http_host_port() -> None:
    assert TrinoServer("http://127.0.0.1:8080").url == "http://127.0.0.1:8080"
    with pytest.raises(ServiceError):
        TrinoServer("127.0.0.1:8080")


# ----------------------------------------------------------- AWS client --


def test_boto3_client_uses_emulator_and_dummy_credentials(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "from-the-environment")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "eu-west-3")
    aws = MotoServer("http://127.0.0.1:5000")

    glue = aws.boto3_client("glue")

    assert glue.meta.endpoint_url == "http://127.0.0.1:5000"
    assert glue.meta.region_name == "us-east-1"
    assert glue._request_signer._credentials.access_key == aws.access_key  # noqa: SLF001


def test_environment_routes_sdks_to_the_emulator() -> None:
    env = MotoServer("http://127.0.0.1:5000").environment()
    assert env["AWS_ENDPOINT_URL"] == "http://127.0.0.1:5000"
    assert env["AWS_DEFAULT_REGION"] == "us-east-1"
    assert {"AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"} <= set(env)


def test_reset_refuses_a_reused_endpoint() -> None:
    with pytest.raises(ServiceError, match="reused"):
        MotoServer("http://127.0.0.1:5000").reset()


# --------------------------------------------------------------- queries --


class _NoNodes(Exception):
    error_name = "NO_NODES_AVAILABLE"


class _FakeConnection:
    def __init__(self, outcomes: list[object]) -> None:
        self.outcomes = outcomes
        self.closed = 0

    def cursor(self) -> _FakeConnection:
        return self

    def execute(self, sql: str) -> None:
        outcome = self.outcomes.pop(0)
        if isinstance(outcome, Exception):
            raise outcome

    def fetchall(self) -> list[list[int]]:
        return [[1, 2]]

    def close(self) -> None:
        self.closed += 1


def test_query_rides_out_no_nodes_available_after_start(monkeypatch: pytest.MonkeyPatch) -> None:
    server = TrinoServer("http://127.0.0.1:8080")
    fake = _FakeConnection([_NoNodes(), _NoNodes(), None])
    monkeypatch.setattr(server, "connect", lambda schema=None: fake)
    monkeypatch.setattr(services.time, "sleep", lambda _s: None)

    assert server.query("SELECT 1, 2") == [(1, 2)]
    assert fake.closed == 3


def test_query_raises_other_errors_at_once(monkeypatch: pytest.MonkeyPatch) -> None:
    server = TrinoServer("http://127.0.0.1:8080")
    fake = _FakeConnection([ValueError("syntax"), None])
    monkeypatch.setattr(server, "connect", lambda schema=None: fake)

    with pytest.raises(ValueError, match="syntax"):
        server.query("SELEC 1")
    assert fake.closed == 1
