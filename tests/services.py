"""Real loopback servers for the CarePlus integration tests (no mocks).

Four launchers live here:

* :class:`MariaDbServer` -- a private ``mariadbd`` (MySQL-compatible) started
  in a temporary directory, or an existing server reused through environment
  variables.
* :class:`S3Server` -- a private Versity S3 gateway (``versitygw``, posix
  backend) started in a temporary directory, or an existing S3 endpoint reused
  through environment variables.
* :class:`MotoServer` -- moto's AWS API emulator (``python -m moto.server``) for
  the control plane (Glue, EMR, STS, DynamoDB, ...), or a reused endpoint.
* :class:`TrinoServer` -- a single-node Trino 476 (the engine of Athena v3) run
  with Java 24.0.1+ (25 preferred) from a cache filled from Maven Central, with a
  ``hive`` catalog whose metastore is the Glue API of a :class:`MotoServer` and
  whose files are on an :class:`S3Server`; or a reused server.

All are context managers; ``start_or_reuse()`` returns a ready instance and
``stop()`` (idempotent) shuts down whatever was started and deletes its
temporary directory. Reused servers are never stopped.

Environment variables (reuse mode: setting ``CAREPLUS_TEST_MYSQL_HOST`` or
``CAREPLUS_TEST_S3_ENDPOINT`` switches reuse on for that server)::

    CAREPLUS_TEST_MYSQL_HOST            host of a running MySQL/MariaDB server
    CAREPLUS_TEST_MYSQL_PORT            its port (default 3306)
    CAREPLUS_TEST_MYSQL_ADMIN_USER      account allowed to CREATE DATABASE/USER
                                        and GRANT (needs WITH GRANT OPTION)
    CAREPLUS_TEST_MYSQL_ADMIN_PASSWORD  its password (default empty)

    CAREPLUS_TEST_S3_ENDPOINT           e.g. http://127.0.0.1:9000
    CAREPLUS_TEST_S3_ACCESS_KEY         access key allowed to create buckets
    CAREPLUS_TEST_S3_SECRET_KEY         its secret key
    CAREPLUS_TEST_S3_REGION             optional, default us-east-1

    CAREPLUS_TEST_AWS_ENDPOINT          e.g. http://127.0.0.1:5000 (moto, LocalStack)
    CAREPLUS_TEST_AWS_REGION            optional, default us-east-1

    CAREPLUS_TEST_TRINO_URL             e.g. http://127.0.0.1:8080; its ``hive`` catalog
                                        must use the same Glue endpoint and S3 server

Other variables::

    CAREPLUS_VERSITYGW                  path of the versitygw binary to run
    CAREPLUS_TEST_KEEP_SERVICE_DIRS=1   keep the temporary directories (data,
                                        logs) after stop() for debugging
    CAREPLUS_TRINO_HOME                 Trino cache (default ~/.cache/careplus/trino/476)
    CAREPLUS_TRINO_JAVA_HOME            Java for Trino (default: found, 25 preferred)
    CAREPLUS_TRINO_AOT=0                start Trino without the JVM AOT cache

Binaries are installed by ``.ci/install-services.sh``; Trino and its AOT cache by
``python -m tests.services prepare-trino``, which that script runs.
"""

from __future__ import annotations

import atexit
import contextlib
import dataclasses
import fcntl
import hashlib
import json
import logging
import os
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tarfile
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request
import zipfile
from collections.abc import Callable, Iterator
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any, Final

try:
    import pymysql
except ModuleNotFoundError:  # `python3 -m tests.services prepare-trino` runs before the venv exists
    pymysql = None  # type: ignore[assignment]

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client  # pragma: no cover
else:  # boto3 stubs are optional; keep annotations readable.
    S3Client = Any

__all__ = [
    "ENV_MYSQL_ADMIN_PASSWORD",
    "ENV_MYSQL_ADMIN_USER",
    "ENV_MYSQL_HOST",
    "ENV_MYSQL_PORT",
    "ENV_S3_ACCESS_KEY",
    "ENV_S3_ENDPOINT",
    "ENV_S3_REGION",
    "ENV_S3_SECRET_KEY",
    "ENV_VERSITYGW",
    "MariaDbServer",
    "S3Server",
    "ServiceError",
    "ServiceNotInstalledError",
    "TestDatabase",
    "find_free_port",
    "find_versitygw",
    "wait_for_port",
    "wait_until_ready",
]

LOGGER = logging.getLogger(__name__)

ENV_MYSQL_HOST: Final = "CAREPLUS_TEST_MYSQL_HOST"
ENV_MYSQL_PORT: Final = "CAREPLUS_TEST_MYSQL_PORT"
ENV_MYSQL_ADMIN_USER: Final = "CAREPLUS_TEST_MYSQL_ADMIN_USER"
ENV_MYSQL_ADMIN_PASSWORD: Final = "CAREPLUS_TEST_MYSQL_ADMIN_PASSWORD"
ENV_S3_ENDPOINT: Final = "CAREPLUS_TEST_S3_ENDPOINT"
ENV_S3_ACCESS_KEY: Final = "CAREPLUS_TEST_S3_ACCESS_KEY"
ENV_S3_SECRET_KEY: Final = "CAREPLUS_TEST_S3_SECRET_KEY"
ENV_S3_REGION: Final = "CAREPLUS_TEST_S3_REGION"
ENV_VERSITYGW: Final = "CAREPLUS_VERSITYGW"
ENV_KEEP_DIRS: Final = "CAREPLUS_TEST_KEEP_SERVICE_DIRS"
ENV_AWS_ENDPOINT: Final = "CAREPLUS_TEST_AWS_ENDPOINT"
ENV_AWS_REGION: Final = "CAREPLUS_TEST_AWS_REGION"
ENV_TRINO_HOME: Final = "CAREPLUS_TRINO_HOME"
ENV_TRINO_JAVA_HOME: Final = "CAREPLUS_TRINO_JAVA_HOME"
ENV_TRINO_URL: Final = "CAREPLUS_TEST_TRINO_URL"
ENV_TRINO_AOT: Final = "CAREPLUS_TRINO_AOT"

LOOPBACK: Final = "127.0.0.1"
INSTALL_HINT: Final = "run `bash .ci/install-services.sh` (as root) to install it"

POLL_INTERVAL_S: Final = 0.2
MYSQL_START_TIMEOUT_S: Final = 60.0
MYSQL_INSTALL_TIMEOUT_S: Final = 120.0
S3_START_TIMEOUT_S: Final = 30.0
STOP_TIMEOUT_S: Final = 30.0
KILL_TIMEOUT_S: Final = 10.0
START_ATTEMPTS: Final = 3  # retries only when the chosen port was taken meanwhile
LOG_TAIL_LINES: Final = 40
MAX_SOCKET_PATH: Final = 100  # sun_path is 108 bytes on Linux

MYSQL_ADMIN_USER: Final = "careplus_admin"
MYSQL_SQL_MODE: Final = "STRICT_TRANS_TABLES,ERROR_FOR_DIVISION_BY_ZERO,NO_ENGINE_SUBSTITUTION"
MYSQL_MAX_NAME: Final = 64

S3_DEFAULT_REGION: Final = "us-east-1"
S3_DELETE_BATCH: Final = 1000
S3_MAX_LIST_PAGES: Final = 1000  # up to one million objects per bucket

MAVEN_CENTRAL: Final = "https://repo1.maven.org/maven2"
TRINO_VERSION: Final = "476"
TRINO_INSTALLED_MARKER: Final = ".careplus-installed"
DOWNLOAD_TIMEOUT_S: Final = 1800.0  # one artifact, whole transfer
DOWNLOAD_SOCKET_TIMEOUT_S: Final = 60.0  # one connect or read
DOWNLOAD_CHUNK_BYTES: Final = 1024 * 1024
DOWNLOAD_ATTEMPTS: Final = 3
INSTALL_LOCK_TIMEOUT_S: Final = 3 * DOWNLOAD_TIMEOUT_S
LOCK_POLL_S: Final = 1.0

AWS_DEFAULT_REGION: Final = "us-east-1"
AWS_DUMMY_ACCESS_KEY: Final = "testing"  # moto accepts any credentials
AWS_DUMMY_SECRET_KEY: Final = "testing"  # noqa: S105 - a dummy for the emulator
MOTO_START_TIMEOUT_S: Final = 60.0

TRINO_MIN_JAVA: Final = (24, 0, 1)  # io.trino.server.TrinoSystemRequirements of 476
TRINO_PREFERRED_JAVA: Final = 25
TRINO_MAIN_CLASS: Final = "io.trino.server.TrinoServer"  # bin/launcher.properties
TRINO_CATALOG: Final = "hive"
TRINO_USER: Final = "careplus"
TRINO_HEAP: Final = "1G"
TRINO_START_TIMEOUT_S: Final = 180.0
TRINO_STOP_TIMEOUT_S: Final = 20.0
TRINO_QUERY_TIMEOUT_S: Final = 120.0
TRINO_LOG_TAIL_LINES: Final = 80
TRINO_NO_NODES_GRACE_S: Final = 20.0
TRINO_NO_NODES_PAUSE_S: Final = 0.5
TRINO_READY_QUERY: Final = "SELECT count(*) FROM system.runtime.nodes WHERE state = 'active' AND coordinator"
TRINO_AOT_DUMP_TIMEOUT_S: Final = 300.0  # the JVM writes the AOT cache at exit (~15 s on 2 cores)
TRINO_AOT_TRAINING_QUERIES: Final = (
    "SELECT 1",
    "SHOW SCHEMAS FROM system",
    "SELECT count(*) FROM system.runtime.nodes",
)
JAVA_SEARCH_GLOBS: Final = (
    ("/usr/lib/jvm", "*"),
    ("/opt", "*"),
    ("/opt/java", "*"),
    ("/usr/local", "*jdk*"),
)


class ServiceError(RuntimeError):
    """A test service could not be started, reached or used."""


class ServiceNotInstalledError(ServiceError):
    """A binary needed to start a test service is missing."""


# --------------------------------------------------------------------------
# Generic helpers
# --------------------------------------------------------------------------


def find_free_port() -> int:
    """Return a TCP port that was free on 127.0.0.1 a moment ago.

    Returns:
        The port number the kernel picked for a socket bound to port 0.
    """
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((LOOPBACK, 0))
        return int(sock.getsockname()[1])


def _port_is_open(host: str, port: int, timeout_s: float) -> bool:
    """Tell whether a TCP connection to ``host:port`` succeeds."""
    try:
        with socket.create_connection((host, port), timeout=max(timeout_s, 0.05)):
            return True
    except OSError:
        return False


def wait_for_port(
    host: str,
    port: int,
    timeout_s: float,
    *,
    process: subprocess.Popen[bytes] | None = None,
    interval_s: float = POLL_INTERVAL_S,
) -> float:
    """Wait until a TCP port accepts connections.

    Polls every ``interval_s`` seconds; both the number of polls and the
    elapsed time are bounded by ``timeout_s``.

    Args:
        host: Host to connect to.
        port: TCP port to connect to.
        timeout_s: Maximum number of seconds to wait.
        process: Optional server process; waiting stops early when it exits.
        interval_s: Delay between two polls.

    Returns:
        Seconds spent waiting.

    Raises:
        ServiceError: If ``process`` exited before the port opened.
        TimeoutError: If the port did not open within ``timeout_s``.
    """
    started = time.monotonic()
    deadline = started + timeout_s
    max_polls = int(timeout_s / interval_s) + 2
    for _ in range(max_polls):
        if process is not None and process.poll() is not None:
            raise ServiceError(
                f"process {process.pid} exited with code {process.returncode} before {host}:{port} accepted connections"
            )
        remaining = deadline - time.monotonic()
        if _port_is_open(host, port, min(1.0, remaining)):
            return time.monotonic() - started
        if time.monotonic() + interval_s > deadline:
            break
        time.sleep(interval_s)
    raise TimeoutError(f"{host}:{port} did not accept connections within {timeout_s:.0f} s")


def wait_until_ready(
    probe: Callable[[], bool],
    process: subprocess.Popen[bytes],
    timeout_s: float,
    *,
    what: str,
    interval_s: float = POLL_INTERVAL_S,
) -> None:
    """Poll ``probe`` until it succeeds while ``process`` keeps running.

    An open TCP port alone does not prove that *our* server owns it (another
    program may have grabbed the port between :func:`find_free_port` and the
    server's bind), so launchers confirm readiness with a server-specific
    probe and check that the process is still alive afterwards.

    Args:
        probe: Returns True once the server answers; must be quick.
        process: The server process.
        timeout_s: Maximum number of seconds to wait.
        what: Server name for error messages.
        interval_s: Delay between two polls.

    Raises:
        ServiceError: If the process exits first.
        TimeoutError: If ``probe`` did not succeed within ``timeout_s``.
    """
    deadline = time.monotonic() + timeout_s
    for _ in range(int(timeout_s / interval_s) + 2):
        if process.poll() is not None:
            raise ServiceError(f"{what} (pid {process.pid}) exited with code {process.returncode} during startup")
        if probe() and process.poll() is None:
            return
        if time.monotonic() + interval_s > deadline:
            break
        time.sleep(interval_s)
    raise TimeoutError(f"{what} was not ready within {timeout_s:.0f} s")


def _tail(path: Path, lines: int = LOG_TAIL_LINES) -> str:
    """Return the last ``lines`` lines of a text file (empty if unreadable)."""
    try:
        content = path.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return ""
    return "\n".join(content.splitlines()[-lines:])


def _random_secret(nbytes: int = 16) -> str:
    """Return a random hex string safe to embed in URLs, SQL and JDBC."""
    return secrets.token_hex(nbytes)


def _make_temp_dir(prefix: str, base_dir: str | os.PathLike[str] | None) -> Path:
    """Create a private temporary directory (mode 0700)."""
    return Path(tempfile.mkdtemp(prefix=prefix, dir=base_dir))


def _remove_dir(path: Path | None) -> None:
    """Delete a launcher's temporary directory unless asked to keep it."""
    if path is None or not path.exists():
        return
    if os.environ.get(ENV_KEEP_DIRS) == "1":
        LOGGER.info("keeping %s (%s=1)", path, ENV_KEEP_DIRS)
        return
    shutil.rmtree(path, ignore_errors=True)


def _spawn(
    argv: list[str],
    log_path: Path,
    env: dict[str, str] | None = None,
    cwd: Path | None = None,
) -> subprocess.Popen[bytes]:
    """Start a server process in its own session, output going to ``log_path``.

    Args:
        argv: Command line.
        log_path: File receiving both stdout and stderr.
        env: Environment for the child (default: inherited).
        cwd: Working directory of the child (default: inherited).

    Returns:
        The started process.
    """
    with log_path.open("ab") as log_file:
        return subprocess.Popen(
            argv,
            stdin=subprocess.DEVNULL,
            stdout=log_file,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            close_fds=True,
            env=env,
            cwd=cwd,
        )


def _stop_process(process: subprocess.Popen[bytes] | None, timeout_s: float = STOP_TIMEOUT_S) -> None:
    """Terminate one process (SIGTERM, bounded wait, then SIGKILL)."""
    if process is None or process.poll() is not None:
        return
    try:
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=timeout_s)
        return
    except subprocess.TimeoutExpired:
        LOGGER.warning("pid %s ignored SIGTERM for %.0f s; killing it", process.pid, timeout_s)
    except ProcessLookupError:
        return
    process.kill()
    try:
        process.wait(timeout=KILL_TIMEOUT_S)
    except subprocess.TimeoutExpired:
        LOGGER.error("pid %s survived SIGKILL for %.0f s", process.pid, KILL_TIMEOUT_S)


def _stop_process_group(process: subprocess.Popen[bytes] | None, timeout_s: float = STOP_TIMEOUT_S) -> None:
    """Terminate a process started by :func:`_spawn` and every process of its group.

    SIGTERM to the group, a bounded wait, then SIGKILL to the group. The
    process is a session leader (``start_new_session``), so its pid is the
    group id; only that group is signalled.
    """
    if process is None:
        return
    for sig, wait_s in ((signal.SIGTERM, timeout_s), (signal.SIGKILL, KILL_TIMEOUT_S)):
        if process.poll() is not None:
            break
        try:
            os.killpg(process.pid, sig)
        except ProcessLookupError:
            break
        try:
            process.wait(timeout=wait_s)
            break
        except subprocess.TimeoutExpired:
            LOGGER.warning("process group %s outlived signal %s for %.0f s", process.pid, sig.name, wait_s)
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(process.pid, signal.SIGKILL)  # stragglers of a leader that already exited


def _rotate_log(path: Path, attempt: int) -> None:
    """Keep the log of a failed start attempt as ``<name>.<attempt - 1>``."""
    if attempt > 1 and path.exists():
        path.rename(path.with_name(f"{path.name}.{attempt - 1}"))


def _is_port_clash(log_text: str) -> bool:
    """Tell whether a server log says its port was already taken."""
    return "already in use" in log_text.lower()


def _which(name: str, *extra_dirs: str) -> str | None:
    """Find an executable on PATH, then in ``extra_dirs``."""
    found = shutil.which(name)
    if found:
        return found
    for directory in extra_dirs:
        candidate = Path(directory) / name
        if candidate.is_file() and os.access(candidate, os.X_OK):
            return str(candidate)
    return None


# --------------------------------------------------------------------------
# MariaDB
# --------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class TestDatabase:
    """A database plus a user limited to it (created by ``create_database``).

    Attributes:
        host: Server host.
        port: Server port.
        database: Database (schema) name.
        user: Account with ALL privileges on ``database`` only.
        password: Password of ``user``.
        jdbc_url: ``jdbc:mysql://host:port/database``.
    """

    __test__ = False  # not a pytest test class

    host: str
    port: int
    database: str
    user: str
    password: str = dataclasses.field(repr=False)
    jdbc_url: str

    def connect(self, **kwargs: Any) -> pymysql.connections.Connection[Any]:
        """Open a pymysql connection as the limited user.

        Args:
            **kwargs: Extra ``pymysql.connect`` arguments (override defaults).

        Returns:
            An autocommit, utf8mb4 connection to ``database``.
        """
        options: dict[str, Any] = {
            "host": self.host,
            "port": self.port,
            "user": self.user,
            "password": self.password,
            "database": self.database,
            "charset": "utf8mb4",
            "autocommit": True,
            "connect_timeout": 10,
        }
        options.update(kwargs)
        return pymysql.connect(**options)


def _sanitize_identifier(prefix: str) -> str:
    """Turn a free-form prefix into a safe lowercase SQL identifier part."""
    cleaned = re.sub(r"[^a-z0-9_]+", "_", prefix.lower()).strip("_")
    return (cleaned or "db")[:40]


def _mariadb_binaries() -> tuple[str, str]:
    """Locate ``mariadbd`` and ``mariadb-install-db``.

    Returns:
        Paths of the server and of the data directory initializer.

    Raises:
        ServiceNotInstalledError: If either is missing.
    """
    server = _which("mariadbd", "/usr/sbin", "/usr/libexec", "/usr/local/sbin")
    installer = _which("mariadb-install-db", "/usr/bin", "/usr/local/bin")
    if server is None or installer is None:
        raise ServiceNotInstalledError(f"MariaDB server binaries not found; {INSTALL_HINT}")
    return server, installer


def _os_user_args() -> list[str]:
    """Return ``--user=root`` when running as root (mariadbd requires it)."""
    return ["--user=root"] if os.geteuid() == 0 else []


class MariaDbServer:
    """A MariaDB server for tests: private (started here) or reused.

    Use :meth:`start_or_reuse`, ideally as a context manager::

        with MariaDbServer.start_or_reuse() as server:
            db = server.create_database("orders")
            ...
            server.drop_database(db)

    The private server listens on 127.0.0.1 only, with ``utf8mb4`` /
    ``utf8mb4_unicode_ci``, time zone ``+00:00`` and a ``sql_mode`` that allows
    zero dates (no ``NO_ZERO_DATE``/``NO_ZERO_IN_DATE``), like legacy MySQL.

    Attributes:
        host: Host clients connect to.
        port: TCP port.
        admin_user: Account with all privileges and GRANT OPTION.
        admin_password: Its password.
        reused: True when an external server is used (never stopped here).
        startup_seconds: Time ``start_or_reuse`` took.
        workdir: Temporary directory of a private server (None when reused).
    """

    def __init__(self, host: str, port: int, admin_user: str, admin_password: str) -> None:
        """Describe a server; prefer :meth:`start_or_reuse` to build one.

        Args:
            host: Server host.
            port: Server TCP port.
            admin_user: Account able to create databases, users and grants.
            admin_password: Its password.
        """
        self.host = host
        self.port = port
        self.admin_user = admin_user
        self.admin_password = admin_password
        self.reused = True
        self.startup_seconds = 0.0
        self.workdir: Path | None = None
        self._process: subprocess.Popen[bytes] | None = None
        self._socket_path: Path | None = None
        self._socket_dir: Path | None = None

    # ---------------------------------------------------------- lifecycle --

    @classmethod
    def start_or_reuse(cls, base_dir: str | os.PathLike[str] | None = None) -> MariaDbServer:
        """Reuse the server named by ``CAREPLUS_TEST_MYSQL_*`` or start one.

        Args:
            base_dir: Parent of the private server's temporary directory
                (default: the system temporary directory).

        Returns:
            A server accepting connections from the admin account.

        Raises:
            ServiceError: If the server cannot be reached or started.
            ServiceNotInstalledError: If MariaDB is not installed.
        """
        if pymysql is None:
            raise ServiceNotInstalledError("PyMySQL is not installed; pip install -e '.[test]'")
        started = time.monotonic()
        server = cls._from_environment()
        if server is None:
            server = cls._start_private(base_dir)
        else:
            server._check_reachable()
        server.startup_seconds = time.monotonic() - started
        LOGGER.info("MariaDB ready on %s:%s in %.2f s", server.host, server.port, server.startup_seconds)
        return server

    @classmethod
    def _from_environment(cls) -> MariaDbServer | None:
        """Build a reused server from the environment, if configured."""
        host = os.environ.get(ENV_MYSQL_HOST)
        if not host:
            return None
        user = os.environ.get(ENV_MYSQL_ADMIN_USER)
        if not user:
            raise ServiceError(f"{ENV_MYSQL_HOST} is set but {ENV_MYSQL_ADMIN_USER} is not")
        port_text = os.environ.get(ENV_MYSQL_PORT) or "3306"
        if not port_text.isdigit():
            raise ServiceError(f"{ENV_MYSQL_PORT} must be a port number, got {port_text!r}")
        password = os.environ.get(ENV_MYSQL_ADMIN_PASSWORD, "")
        return cls(host, int(port_text), user, password)

    @classmethod
    def _start_private(cls, base_dir: str | os.PathLike[str] | None) -> MariaDbServer:
        """Initialize a data directory and start a private mariadbd."""
        server = cls(LOOPBACK, 0, MYSQL_ADMIN_USER, _random_secret())
        server.reused = False
        server.workdir = _make_temp_dir("careplus-mariadb-", base_dir)
        atexit.register(server.stop)
        try:
            server._install_data_dir()
            server._launch_with_retries()
            server._bootstrap_accounts()
        except BaseException:
            server.stop()
            raise
        return server

    def stop(self) -> None:
        """Shut a private server down and delete its directory (idempotent)."""
        atexit.unregister(self.stop)
        if self.reused:
            return
        _stop_process(self._process)
        self._process = None
        _remove_dir(self.workdir)
        _remove_dir(self._socket_dir)
        self.workdir = None
        self._socket_dir = None

    def __enter__(self) -> MariaDbServer:
        """Return the server itself."""
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        """Stop the server (when it was started here)."""
        self.stop()

    # ---------------------------------------------------- private server --

    def _require_workdir(self) -> Path:
        """Return the temporary directory of a private server."""
        if self.workdir is None:
            raise ServiceError("this MariaDB server has no working directory")
        return self.workdir

    def _install_data_dir(self) -> None:
        """Run mariadb-install-db into ``<workdir>/data``."""
        workdir = self._require_workdir()
        _, installer = _mariadb_binaries()
        log_path = workdir / "install.log"
        tmp_dir = workdir / "tmp"
        tmp_dir.mkdir(exist_ok=True)
        argv = [
            installer,
            "--no-defaults",
            f"--datadir={workdir / 'data'}",
            f"--tmpdir={tmp_dir}",  # passed to the bootstrap mariadbd
            "--auth-root-authentication-method=normal",
            "--skip-test-db",
            "--skip-name-resolve",
            *_os_user_args(),
        ]
        with log_path.open("wb") as log_file:
            try:
                result = subprocess.run(
                    argv,
                    stdin=subprocess.DEVNULL,
                    stdout=log_file,
                    stderr=subprocess.STDOUT,
                    timeout=MYSQL_INSTALL_TIMEOUT_S,
                    check=False,
                    start_new_session=True,
                )
            except subprocess.TimeoutExpired as error:
                raise ServiceError(f"mariadb-install-db timed out:\n{_tail(log_path)}") from error
        if result.returncode != 0:
            raise ServiceError(f"mariadb-install-db failed ({result.returncode}):\n{_tail(log_path)}")

    def _socket_location(self) -> Path:
        """Choose a unix socket path short enough for ``sun_path``."""
        path = self._require_workdir() / "mysqld.sock"
        if len(str(path)) <= MAX_SOCKET_PATH:
            return path
        self._socket_dir = Path(tempfile.mkdtemp(prefix="cpdb-", dir="/tmp"))
        return self._socket_dir / "mysqld.sock"

    def _server_argv(self, port: int) -> list[str]:
        """Build the mariadbd command line for ``port``."""
        workdir = self._require_workdir()
        server, _ = _mariadb_binaries()
        if self._socket_path is None:
            self._socket_path = self._socket_location()
        tmp_dir = workdir / "tmp"
        tmp_dir.mkdir(exist_ok=True)
        return [
            server,
            "--no-defaults",
            f"--datadir={workdir / 'data'}",
            f"--socket={self._socket_path}",
            f"--port={port}",
            f"--bind-address={LOOPBACK}",
            *_os_user_args(),
            "--skip-name-resolve",
            f"--pid-file={workdir / 'mysqld.pid'}",
            f"--log-error={workdir / 'error.log'}",
            f"--tmpdir={tmp_dir}",
            f"--secure-file-priv={tmp_dir}",
            "--innodb-buffer-pool-size=256M",
            "--max-connections=200",
            "--max-allowed-packet=64M",
            "--skip-log-bin",
            "--innodb-flush-log-at-trx-commit=2",
            # Throwaway data: skip durability work (loose = ignore if unknown).
            "--loose-innodb-doublewrite=0",
            "--loose-innodb-flush-method=nosync",
            "--loose-innodb-use-native-aio=0",
            "--character-set-server=utf8mb4",
            "--collation-server=utf8mb4_unicode_ci",
            f"--sql-mode={MYSQL_SQL_MODE}",
            "--default-time-zone=+00:00",
        ]

    def _launch_with_retries(self) -> None:
        """Start mariadbd, picking a new port if the chosen one got taken."""
        workdir = self._require_workdir()
        error_log = workdir / "error.log"
        for attempt in range(1, START_ATTEMPTS + 1):
            _rotate_log(error_log, attempt)
            self.port = find_free_port()
            self._process = _spawn(self._server_argv(self.port), workdir / "mysqld.out")
            try:
                self._wait_until_ready()
                return
            except ServiceError:
                _stop_process(self._process, timeout_s=5.0)
                log_text = _tail(error_log)
                if attempt < START_ATTEMPTS and _is_port_clash(log_text):
                    LOGGER.warning("port %s was taken; retrying MariaDB start", self.port)
                    continue
                raise

    def _wait_until_ready(self) -> None:
        """Wait (bounded) until the private server accepts connections.

        The TCP port is awaited first; the unix socket login then proves that
        the listener is this mariadbd (it only creates the socket after its
        TCP bind succeeded).
        """
        error_log = self._require_workdir() / "error.log"
        if self._process is None:
            raise ServiceError("mariadbd was not started")
        started = time.monotonic()
        try:
            wait_for_port(LOOPBACK, self.port, MYSQL_START_TIMEOUT_S, process=self._process)
            remaining = max(MYSQL_START_TIMEOUT_S - (time.monotonic() - started), 1.0)
            wait_until_ready(self._socket_login_works, self._process, remaining, what="mariadbd")
        except (TimeoutError, ServiceError) as error:
            raise ServiceError(f"MariaDB did not start: {error}\n--- {error_log} ---\n{_tail(error_log)}") from error

    def _socket_login_works(self) -> bool:
        """Tell whether root can log in through this server's unix socket."""
        if self._socket_path is None or not self._socket_path.exists():
            return False
        try:
            self._root_connection(connect_timeout=2).close()
        except pymysql.MySQLError:
            return False
        return True

    def _root_connection(self, connect_timeout: int = 10) -> pymysql.connections.Connection[Any]:
        """Connect as the password-less root@localhost through the unix socket."""
        return pymysql.connect(
            unix_socket=str(self._socket_path),
            user="root",
            password="",
            charset="utf8mb4",
            autocommit=True,
            connect_timeout=connect_timeout,
        )

    def _bootstrap_accounts(self) -> None:
        """Secure root and create the admin account.

        mariadb-install-db leaves password-less root accounts for localhost,
        127.0.0.1, ::1 and the host name; only root@localhost is kept (with a
        random password, socket use only).
        """
        root_password = _random_secret()
        with self._root_connection() as connection, connection.cursor() as cursor:
            cursor.execute(
                "SELECT user, host FROM mysql.user WHERE (user = 'root' AND host <> 'localhost') OR user = ''"
            )
            for user, host in cursor.fetchall():
                cursor.execute("DROP USER %s@%s", (user, host))
            cursor.execute("ALTER USER 'root'@'localhost' IDENTIFIED BY %s", (root_password,))
            cursor.execute("CREATE USER %s@%s IDENTIFIED BY %s", (self.admin_user, LOOPBACK, self.admin_password))
            cursor.execute("GRANT ALL PRIVILEGES ON *.* TO %s@%s WITH GRANT OPTION", (self.admin_user, LOOPBACK))

    # ------------------------------------------------------------ clients --

    def _check_reachable(self) -> None:
        """Fail early, with a clear message, if the admin cannot log in."""
        try:
            self.connect().close()
        except pymysql.MySQLError as error:
            raise ServiceError(f"cannot log in to {self.host}:{self.port} as {self.admin_user}: {error}") from error

    def connect(self, database: str | None = None, **kwargs: Any) -> pymysql.connections.Connection[Any]:
        """Open a pymysql connection as the admin account.

        Args:
            database: Default database, if any.
            **kwargs: Extra ``pymysql.connect`` arguments (override defaults).

        Returns:
            An autocommit, utf8mb4 connection.
        """
        options: dict[str, Any] = {
            "host": self.host,
            "port": self.port,
            "user": self.admin_user,
            "password": self.admin_password,
            "database": database,
            "charset": "utf8mb4",
            "autocommit": True,
            "connect_timeout": 10,
        }
        options.update(kwargs)
        return pymysql.connect(**options)

    def jdbc_url(self, database: str) -> str:
        """Return the MySQL JDBC URL of ``database`` on this server."""
        return f"jdbc:mysql://{self.host}:{self.port}/{database}"

    def create_database(self, name_prefix: str) -> TestDatabase:
        """Create a uniquely named database and a user limited to it.

        Args:
            name_prefix: Readable start of the database name; characters other
                than ``[a-z0-9_]`` are replaced by ``_``.

        Returns:
            The database, its dedicated user and password, and its JDBC URL.
        """
        suffix = secrets.token_hex(6)
        database = f"{_sanitize_identifier(name_prefix)}_{suffix}"[:MYSQL_MAX_NAME]
        user = f"cp_{suffix}"  # <= 32 characters, valid on MySQL too
        password = _random_secret()
        with self.connect() as connection, connection.cursor() as cursor:
            cursor.execute(f"CREATE DATABASE `{database}` CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci")
            cursor.execute("CREATE USER %s@'%%' IDENTIFIED BY %s", (user, password))
            cursor.execute(f"GRANT ALL PRIVILEGES ON `{database}`.* TO %s@'%%'", (user,))
        return TestDatabase(
            host=self.host,
            port=self.port,
            database=database,
            user=user,
            password=password,
            jdbc_url=self.jdbc_url(database),
        )

    def drop_database(self, db: TestDatabase) -> None:
        """Drop a database and its user created by :meth:`create_database`.

        Args:
            db: What ``create_database`` returned.
        """
        if not re.fullmatch(r"[a-z0-9_]{1,64}", db.database):
            raise ValueError(f"refusing to drop unexpected database name {db.database!r}")
        with self.connect() as connection, connection.cursor() as cursor:
            cursor.execute(f"DROP DATABASE IF EXISTS `{db.database}`")
            cursor.execute("DROP USER IF EXISTS %s@'%%'", (db.user,))


# --------------------------------------------------------------------------
# S3 (Versity gateway)
# --------------------------------------------------------------------------


def _sanitize_bucket_prefix(prefix: str) -> str:
    """Turn a free-form prefix into the start of a valid S3 bucket name."""
    cleaned = re.sub(r"[^a-z0-9]+", "-", prefix.lower()).strip("-")
    return (cleaned or "bucket")[:40].rstrip("-")


def _go_bin_dirs() -> list[str]:
    """Return the directories ``go install`` may have written binaries to."""
    dirs: list[str] = []
    if os.environ.get("GOBIN"):
        dirs.append(os.environ["GOBIN"])
    go = shutil.which("go") or _which("go", "/usr/local/go/bin")
    if go is not None:
        try:
            result = subprocess.run([go, "env", "GOPATH"], capture_output=True, text=True, timeout=20, check=False)
        except (OSError, subprocess.TimeoutExpired):
            result = None
        if result is not None and result.returncode == 0 and result.stdout.strip():
            dirs.extend(f"{entry}/bin" for entry in result.stdout.strip().split(os.pathsep))
    dirs.append(str(Path.home() / "go" / "bin"))
    return dirs


def find_versitygw() -> str:
    """Locate the versitygw binary.

    Order: ``$CAREPLUS_VERSITYGW``, ``PATH``, ``$GOBIN``,
    ``$(go env GOPATH)/bin``, ``~/go/bin``.

    Returns:
        Path of an executable versitygw.

    Raises:
        ServiceNotInstalledError: If none is found.
    """
    configured = os.environ.get(ENV_VERSITYGW)
    if configured:
        if Path(configured).is_file() and os.access(configured, os.X_OK):
            return configured
        raise ServiceNotInstalledError(f"{ENV_VERSITYGW}={configured} is not an executable file")
    found = shutil.which("versitygw") or _which("versitygw", *_go_bin_dirs())
    if found is None:
        raise ServiceNotInstalledError(f"versitygw (Versity S3 gateway) not found; {INSTALL_HINT}")
    return found


def _versitygw_env() -> dict[str, str]:
    """Environment for versitygw without its own configuration variables.

    versitygw reads many ``VGW_*``/``ROOT_*`` variables; dropping them makes
    the command line the only source of configuration.
    """
    blocked = ("VGW_", "ROOT_ACCESS_KEY", "ROOT_SECRET", "LOGFILE", "WEBHOOK")
    return {key: value for key, value in os.environ.items() if not key.startswith(blocked)}


def _s3_answers(client: S3Client) -> bool:
    """Tell whether an authenticated ListBuckets call succeeds."""
    try:
        client.list_buckets()
    except Exception:  # noqa: BLE001 - any failure means "not ready yet"
        return False
    return True


class S3Server:
    """An S3 endpoint for tests: a private Versity gateway or a reused one.

    Use :meth:`start_or_reuse`, ideally as a context manager::

        with S3Server.start_or_reuse() as s3:
            bucket = s3.create_bucket("raw")
            s3.client().put_object(Bucket=bucket, Key="k", Body=b"v")
            s3.delete_bucket(bucket)

    Attributes:
        endpoint: ``http://127.0.0.1:PORT`` (or the reused endpoint).
        access_key: Access key id.
        secret_key: Secret access key.
        region: Signing region (``us-east-1``).
        reused: True when an external endpoint is used (never stopped here).
        startup_seconds: Time ``start_or_reuse`` took.
        workdir: Temporary directory of a private gateway (None when reused).
    """

    def __init__(self, endpoint: str, access_key: str, secret_key: str, region: str = S3_DEFAULT_REGION) -> None:
        """Describe an endpoint; prefer :meth:`start_or_reuse` to build one.

        Args:
            endpoint: Base URL, e.g. ``http://127.0.0.1:7070``.
            access_key: Access key id.
            secret_key: Secret access key.
            region: Signing region.
        """
        self.endpoint = endpoint.rstrip("/")
        self.access_key = access_key
        self.secret_key = secret_key
        self.region = region
        self.reused = True
        self.startup_seconds = 0.0
        self.workdir: Path | None = None
        self._process: subprocess.Popen[bytes] | None = None

    # ---------------------------------------------------------- lifecycle --

    @classmethod
    def start_or_reuse(cls, base_dir: str | os.PathLike[str] | None = None) -> S3Server:
        """Reuse the endpoint named by ``CAREPLUS_TEST_S3_*`` or start one.

        Args:
            base_dir: Parent of the private gateway's temporary directory
                (default: the system temporary directory).

        Returns:
            A server answering authenticated S3 requests.

        Raises:
            ServiceError: If the endpoint cannot be reached or started.
            ServiceNotInstalledError: If versitygw is not installed.
        """
        started = time.monotonic()
        server = cls._from_environment()
        if server is None:
            server = cls._start_private(base_dir)
        else:
            server._check_reachable()
        server.startup_seconds = time.monotonic() - started
        LOGGER.info("S3 ready on %s in %.2f s", server.endpoint, server.startup_seconds)
        return server

    @classmethod
    def _from_environment(cls) -> S3Server | None:
        """Build a reused endpoint from the environment, if configured."""
        endpoint = os.environ.get(ENV_S3_ENDPOINT)
        if not endpoint:
            return None
        access_key = os.environ.get(ENV_S3_ACCESS_KEY)
        secret_key = os.environ.get(ENV_S3_SECRET_KEY)
        if not access_key or not secret_key:
            raise ServiceError(f"{ENV_S3_ENDPOINT} is set but {ENV_S3_ACCESS_KEY}/{ENV_S3_SECRET_KEY} are not")
        region = os.environ.get(ENV_S3_REGION) or S3_DEFAULT_REGION
        return cls(endpoint, access_key, secret_key, region)

    @classmethod
    def _start_private(cls, base_dir: str | os.PathLike[str] | None) -> S3Server:
        """Start a private versitygw with a posix backend."""
        binary = find_versitygw()
        server = cls(f"http://{LOOPBACK}:0", f"AK{secrets.token_hex(9).upper()}", _random_secret(20))
        server.reused = False
        server.workdir = _make_temp_dir("careplus-s3-", base_dir)
        atexit.register(server.stop)
        try:
            (server.workdir / "s3root").mkdir()
            server._launch_with_retries(binary)
        except BaseException:
            server.stop()
            raise
        return server

    def stop(self) -> None:
        """Stop a private gateway and delete its directory (idempotent)."""
        atexit.unregister(self.stop)
        if self.reused:
            return
        _stop_process(self._process)
        self._process = None
        _remove_dir(self.workdir)
        self.workdir = None

    def __enter__(self) -> S3Server:
        """Return the server itself."""
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        """Stop the gateway (when it was started here)."""
        self.stop()

    # --------------------------------------------------- private gateway --

    def _require_workdir(self) -> Path:
        """Return the temporary directory of a private gateway."""
        if self.workdir is None:
            raise ServiceError("this S3 server has no working directory")
        return self.workdir

    def _gateway_argv(self, binary: str, port: int) -> list[str]:
        """Build the versitygw command line for ``port``."""
        return [
            binary,
            "--access",
            self.access_key,
            "--secret",
            self.secret_key,
            "--port",
            f"{LOOPBACK}:{port}",
            "--region",
            self.region,
            "--quiet",
            "posix",
            str(self._require_workdir() / "s3root"),
        ]

    def _launch_with_retries(self, binary: str) -> None:
        """Start versitygw, picking a new port if the chosen one got taken."""
        log_path = self._require_workdir() / "versitygw.log"
        for attempt in range(1, START_ATTEMPTS + 1):
            _rotate_log(log_path, attempt)
            port = find_free_port()
            self.endpoint = f"http://{LOOPBACK}:{port}"
            self._process = _spawn(self._gateway_argv(binary, port), log_path, env=_versitygw_env())
            try:
                self._wait_until_ready(port)
                return
            except (TimeoutError, ServiceError) as error:
                _stop_process(self._process, timeout_s=5.0)
                log_text = _tail(log_path)
                if attempt < START_ATTEMPTS and _is_port_clash(log_text):
                    LOGGER.warning("port %s was taken; retrying versitygw start", port)
                    continue
                raise ServiceError(f"versitygw did not start: {error}\n--- {log_path} ---\n{log_text}") from error

    def _wait_until_ready(self, port: int) -> None:
        """Wait (bounded) until this gateway answers authenticated requests."""
        if self._process is None:
            raise ServiceError("versitygw was not started")
        started = time.monotonic()
        wait_for_port(LOOPBACK, port, S3_START_TIMEOUT_S, process=self._process)
        remaining = max(S3_START_TIMEOUT_S - (time.monotonic() - started), 1.0)
        probe_client = self._client(connect_timeout=1, read_timeout=2, max_attempts=1)
        wait_until_ready(lambda: _s3_answers(probe_client), self._process, remaining, what="versitygw")

    # ------------------------------------------------------------ clients --

    def _check_reachable(self) -> None:
        """Fail early, with a clear message, if the credentials do not work."""
        try:
            self._client(connect_timeout=5, read_timeout=10, max_attempts=2).list_buckets()
        except Exception as error:  # botocore raises many unrelated types
            raise ServiceError(f"S3 endpoint {self.endpoint} is not usable: {error}") from error

    def client(self) -> S3Client:
        """Return a boto3 S3 client for this endpoint (path-style addressing).

        Checksums are only sent when an operation requires them, which is what
        older S3 implementations and Hadoop's s3a expect.
        """
        return self._client(connect_timeout=5, read_timeout=60, max_attempts=3)

    def _client(self, connect_timeout: float, read_timeout: float, max_attempts: int) -> S3Client:
        """Build a boto3 S3 client with the given timeouts and retry budget."""
        import boto3  # noqa: PLC0415 - heavy import, only needed for S3 tests
        from botocore.config import Config  # noqa: PLC0415

        config = Config(
            s3={"addressing_style": "path"},
            signature_version="s3v4",
            retries={"max_attempts": max_attempts, "mode": "standard"},
            connect_timeout=connect_timeout,
            read_timeout=read_timeout,
            request_checksum_calculation="when_required",
            response_checksum_validation="when_required",
        )
        return boto3.session.Session().client(
            "s3",
            endpoint_url=self.endpoint,
            aws_access_key_id=self.access_key,
            aws_secret_access_key=self.secret_key,
            region_name=self.region,
            config=config,
        )

    def create_bucket(self, prefix: str) -> str:
        """Create a uniquely named bucket.

        Args:
            prefix: Readable start of the name; characters other than
                ``[a-z0-9]`` become ``-``.

        Returns:
            The bucket name (lowercase, 3-63 characters, valid for S3).
        """
        name = f"{_sanitize_bucket_prefix(prefix)}-{secrets.token_hex(6)}"
        self.client().create_bucket(Bucket=name)
        return name

    def delete_bucket(self, name: str) -> None:
        """Delete every object and pending multipart upload, then the bucket.

        A missing bucket is ignored. Listing is bounded to
        ``S3_MAX_LIST_PAGES`` pages of 1000 keys.

        Args:
            name: Bucket name.

        Raises:
            ServiceError: If the bucket still holds objects after the bound.
        """
        client = self.client()
        try:
            self._abort_uploads(client, name)
            self._delete_objects(client, name)
            client.delete_bucket(Bucket=name)
        except client.exceptions.NoSuchBucket:
            return

    @staticmethod
    def _delete_objects(client: S3Client, name: str) -> None:
        """Delete all objects of a bucket, one listed page at a time."""
        for _ in range(S3_MAX_LIST_PAGES):
            page = client.list_objects_v2(Bucket=name, MaxKeys=S3_DELETE_BATCH)
            contents = page.get("Contents", [])
            if not contents:
                return
            result = client.delete_objects(
                Bucket=name, Delete={"Objects": [{"Key": item["Key"]} for item in contents], "Quiet": True}
            )
            if result.get("Errors"):
                raise ServiceError(f"could not delete objects of {name}: {result['Errors'][:3]}")
        raise ServiceError(f"bucket {name} still not empty after {S3_MAX_LIST_PAGES} pages")

    @staticmethod
    def _abort_uploads(client: S3Client, name: str) -> None:
        """Abort unfinished multipart uploads (bounded)."""
        for _ in range(S3_MAX_LIST_PAGES):
            uploads = client.list_multipart_uploads(Bucket=name).get("Uploads", [])
            if not uploads:
                return
            for upload in uploads:
                client.abort_multipart_upload(Bucket=name, Key=upload["Key"], UploadId=upload["UploadId"])
        raise ServiceError(f"bucket {name} still has multipart uploads after {S3_MAX_LIST_PAGES} pages")


# --------------------------------------------------------------------------
# Maven Central downloads (Trino server and its Hive plugin)
# --------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class MavenArtifact:
    """One file of a Maven repository (``group:artifact:version[:classifier]@extension``)."""

    group: str
    artifact: str
    version: str
    extension: str
    classifier: str | None = None

    @property
    def file_name(self) -> str:
        """File name inside the repository, e.g. ``trino-hive-476.zip``."""
        suffix = f"-{self.classifier}" if self.classifier else ""
        return f"{self.artifact}-{self.version}{suffix}.{self.extension}"

    def url(self, repository: str = MAVEN_CENTRAL) -> str:
        """Return the artifact's URL in ``repository`` (its ``.sha1`` sits beside it)."""
        group_path = self.group.replace(".", "/")
        return f"{repository.rstrip('/')}/{group_path}/{self.artifact}/{self.version}/{self.file_name}"


TRINO_SERVER_ARTIFACT: Final = MavenArtifact("io.trino", "trino-server-core", TRINO_VERSION, "tar.gz")
TRINO_HIVE_ARTIFACT: Final = MavenArtifact("io.trino", "trino-hive", TRINO_VERSION, "zip")


def parse_sha1_file(text: str) -> str:
    """Return the SHA-1 of a Maven ``.sha1`` file.

    Maven Central publishes either the bare hex digest or ``<digest>  <file name>``.

    Args:
        text: Content of the ``.sha1`` file.

    Returns:
        The lowercase 40-character hex digest.

    Raises:
        ServiceError: If the text does not start with a SHA-1 digest.
    """
    words = text.strip().split()
    digest = words[0].lower() if words else ""
    if not re.fullmatch(r"[0-9a-f]{40}", digest):
        raise ServiceError(f"not a SHA-1 checksum file: {text[:80]!r}")
    return digest


def file_sha1(path: Path) -> str:
    """Return the hex SHA-1 of a file (read in 1 MiB blocks)."""
    digest = hashlib.sha1()  # noqa: S324 - Maven's published checksum, not a security boundary by itself
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(DOWNLOAD_CHUNK_BYTES), b""):
            digest.update(block)
    return digest.hexdigest()


def _http_get_text(url: str, timeout_s: float) -> str:
    """GET a small text resource."""
    with urllib.request.urlopen(url, timeout=timeout_s) as response:  # noqa: S310 - https Maven URL
        return str(response.read(4096).decode("ascii", errors="replace"))


def download_verified(url: str, dest: Path, expected_sha1: str, *, timeout_s: float = DOWNLOAD_TIMEOUT_S) -> Path:
    """Download ``url`` to ``dest`` and check its SHA-1; never leaves a partial ``dest``.

    The body goes to a temporary file beside ``dest`` that is renamed only once
    complete and verified, so an interrupted or corrupt download leaves nothing
    under the final name. The whole transfer is bounded by ``timeout_s``, each
    socket read by ``DOWNLOAD_SOCKET_TIMEOUT_S``.

    Args:
        url: Source URL.
        dest: Final path.
        expected_sha1: Hex SHA-1 the file must have.
        timeout_s: Upper bound on the whole transfer.

    Returns:
        ``dest``.

    Raises:
        ServiceError: On a checksum mismatch, a truncated body or a time-out.
    """
    dest.parent.mkdir(parents=True, exist_ok=True)
    expected = expected_sha1.lower()
    deadline = time.monotonic() + timeout_s
    handle, tmp_name = tempfile.mkstemp(prefix=f".{dest.name}.", suffix=".part", dir=dest.parent)
    tmp_path = Path(tmp_name)
    try:
        digest = hashlib.sha1()  # noqa: S324
        received = 0
        with os.fdopen(handle, "wb") as out, urllib.request.urlopen(  # noqa: S310
            url, timeout=DOWNLOAD_SOCKET_TIMEOUT_S
        ) as response:
            length = response.headers.get("Content-Length")
            while True:
                if time.monotonic() > deadline:
                    raise ServiceError(f"download of {url} took longer than {timeout_s:.0f} s")
                block = response.read(DOWNLOAD_CHUNK_BYTES)
                if not block:
                    break
                out.write(block)
                digest.update(block)
                received += len(block)
        if length is not None and length.isdigit() and received != int(length):
            raise ServiceError(f"download of {url} truncated: {received} of {length} bytes")
        actual = digest.hexdigest()
        if actual != expected:
            raise ServiceError(f"SHA-1 mismatch for {url}: got {actual}, Maven Central publishes {expected}")
        os.replace(tmp_path, dest)
    except BaseException:
        tmp_path.unlink(missing_ok=True)
        raise
    return dest


def fetch_maven_artifact(
    artifact: MavenArtifact,
    directory: Path,
    *,
    repository: str = MAVEN_CENTRAL,
    attempts: int = DOWNLOAD_ATTEMPTS,
) -> Path:
    """Download one artifact into ``directory``, verified against its published ``.sha1``.

    A file already there with the right checksum is kept. Network errors are
    retried up to ``attempts`` times in all; a checksum mismatch is retried too
    (a new temporary file each time).

    Args:
        artifact: What to fetch.
        directory: Where the file goes (created if missing).
        repository: Maven repository base URL.
        attempts: Maximum number of tries.

    Returns:
        Path of the verified file.

    Raises:
        ServiceError: If no attempt succeeded.
    """
    url = artifact.url(repository)
    dest = directory / artifact.file_name
    last_error: Exception | None = None
    for attempt in range(1, attempts + 1):
        try:
            expected = parse_sha1_file(_http_get_text(f"{url}.sha1", DOWNLOAD_SOCKET_TIMEOUT_S))
            if dest.is_file() and file_sha1(dest) == expected:
                return dest
            started = time.monotonic()
            download_verified(url, dest, expected)
            LOGGER.info("downloaded %s (%d bytes) in %.1f s", url, dest.stat().st_size, time.monotonic() - started)
            return dest
        except (OSError, ServiceError) as error:  # urllib errors are OSErrors
            last_error = error
            LOGGER.warning("download attempt %d/%d of %s failed: %s", attempt, attempts, url, error)
            if attempt < attempts:
                time.sleep(min(2.0 * attempt, 10.0))
    raise ServiceError(f"could not download {url} after {attempts} attempts: {last_error}")


def trino_home() -> Path:
    """Return the Trino cache folder: ``$CAREPLUS_TRINO_HOME`` or ``~/.cache/careplus/trino/<version>``."""
    configured = os.environ.get(ENV_TRINO_HOME)
    if configured:
        return Path(configured).expanduser()
    return Path.home() / ".cache" / "careplus" / "trino" / TRINO_VERSION


def _single_top_dir(root: Path) -> Path:
    """Return the only directory an archive unpacked into ``root`` (or ``root`` itself)."""
    entries = list(root.iterdir())
    if len(entries) == 1 and entries[0].is_dir():
        return entries[0]
    return root


def _safe_member_path(root: Path, name: str) -> Path:
    """Resolve an archive member under ``root``, refusing absolute or ``..`` paths."""
    target = (root / name).resolve()
    if not target.is_relative_to(root.resolve()):
        raise ServiceError(f"unsafe path in archive: {name!r}")
    return target


def _extract_tar(archive: Path, dest: Path) -> Path:
    """Unpack a .tar.gz into ``dest``: regular files, folders and links inside ``dest`` only."""
    dest.mkdir(parents=True)
    with tarfile.open(archive, "r:gz") as tar:
        if hasattr(tarfile, "data_filter"):  # Python >= 3.11.4 (and security backports)
            tar.extractall(dest, filter="data")
        else:  # pragma: no cover - older 3.11 patch releases
            for member in tar.getmembers():
                _safe_member_path(dest, member.name)
                if member.issym() or member.islnk():
                    _safe_member_path(dest, str(Path(member.name).parent / member.linkname))
                elif not (member.isfile() or member.isdir()):
                    raise ServiceError(f"unexpected member type in {archive.name}: {member.name!r}")
            tar.extractall(dest)  # noqa: S202 - every member was checked above
    return _single_top_dir(dest)


def _extract_zip(archive: Path, dest: Path) -> Path:
    """Unpack a .zip into ``dest`` after checking every member path."""
    dest.mkdir(parents=True)
    with zipfile.ZipFile(archive) as bundle:
        for name in bundle.namelist():
            _safe_member_path(dest, name)
        bundle.extractall(dest)
    return _single_top_dir(dest)


@contextlib.contextmanager
def _file_lock(path: Path, timeout_s: float) -> Iterator[None]:
    """Hold an exclusive ``flock`` on ``path``, waiting at most ``timeout_s`` for it."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a+") as handle:
        deadline = time.monotonic() + timeout_s
        for _ in range(int(timeout_s / LOCK_POLL_S) + 2):
            try:
                fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() > deadline:
                    raise ServiceError(f"another process held {path} for more than {timeout_s:.0f} s") from None
                time.sleep(LOCK_POLL_S)
        else:  # pragma: no cover - the loop count matches the deadline
            raise ServiceError(f"could not lock {path}")
        try:
            yield
        finally:
            fcntl.flock(handle.fileno(), fcntl.LOCK_UN)


def trino_server_dir(home: Path | None = None) -> Path:
    """Return where the unpacked Trino server (with ``plugin/hive``) lives in the cache."""
    return (home or trino_home()) / f"trino-server-{TRINO_VERSION}"


def trino_is_installed(home: Path | None = None) -> bool:
    """Tell whether the cache holds a complete Trino server with the Hive plugin."""
    server = trino_server_dir(home)
    return (server / TRINO_INSTALLED_MARKER).is_file() and (server / "lib").is_dir()


def install_trino(home: Path | None = None, *, repository: str = MAVEN_CENTRAL, keep_archives: bool = False) -> Path:
    """Download Trino's server core and Hive plugin once, unpacked into the cache.

    Layout of ``home`` (default :func:`trino_home`)::

        trino-server-476/            the server (bin/, lib/, plugin/)
        trino-server-476/plugin/hive the Hive connector (from trino-hive-476.zip)
        trino-server-476/.careplus-installed   written last: the install is complete
        downloads/                   archives while installing (removed afterwards)

    The server is assembled in a staging folder and renamed into place, and a
    file lock serialises concurrent installs, so a crash or a second process
    never sees a half-installed server.

    Args:
        home: Cache folder for this Trino version.
        repository: Maven repository base URL.
        keep_archives: Keep the downloaded archives in ``downloads/``.

    Returns:
        The server folder.

    Raises:
        ServiceError: If a download, checksum or unpack step fails.
    """
    home = home or trino_home()
    server_dir = trino_server_dir(home)
    if trino_is_installed(home):
        return server_dir
    with _file_lock(home / ".install.lock", INSTALL_LOCK_TIMEOUT_S):
        if trino_is_installed(home):  # another process finished meanwhile
            return server_dir
        downloads = home / "downloads"
        started = time.monotonic()
        server_archive = fetch_maven_artifact(TRINO_SERVER_ARTIFACT, downloads, repository=repository)
        hive_archive = fetch_maven_artifact(TRINO_HIVE_ARTIFACT, downloads, repository=repository)
        downloaded_s = time.monotonic() - started
        staging = Path(tempfile.mkdtemp(prefix=".staging-", dir=home))
        try:
            server = _extract_tar(server_archive, staging / "server")
            hive = _extract_zip(hive_archive, staging / "hive")
            plugin_dir = server / "plugin"
            plugin_dir.mkdir(exist_ok=True)
            shutil.rmtree(plugin_dir / "hive", ignore_errors=True)
            hive.rename(plugin_dir / "hive")
            if not any((plugin_dir / "hive").glob("*.jar")):
                raise ServiceError(f"{hive_archive.name} holds no jar files")
            marker = {
                TRINO_SERVER_ARTIFACT.file_name: file_sha1(server_archive),
                TRINO_HIVE_ARTIFACT.file_name: file_sha1(hive_archive),
                "download_seconds": round(downloaded_s, 1),
            }
            (server / TRINO_INSTALLED_MARKER).write_text(json.dumps(marker, indent=2) + "\n", encoding="utf-8")
            if server_dir.exists():  # an incomplete leftover without the marker
                shutil.rmtree(server_dir)
            server.rename(server_dir)
        finally:
            shutil.rmtree(staging, ignore_errors=True)
        if not keep_archives:
            shutil.rmtree(downloads, ignore_errors=True)
        LOGGER.info("Trino %s installed in %s in %.1f s", TRINO_VERSION, server_dir, time.monotonic() - started)
    return server_dir


# --------------------------------------------------------------------------
# AWS control-plane emulator (moto in server mode)
# --------------------------------------------------------------------------


# Requests to the servers started here never go through an HTTP proxy from the environment.
_LOOPBACK_HTTP: Final = urllib.request.build_opener(urllib.request.ProxyHandler({}))


def _aws_free_env() -> dict[str, str]:
    """The inherited environment without ``AWS_*`` variables (no real account leaks in)."""
    return {key: value for key, value in os.environ.items() if not key.startswith("AWS_")}


def _http_ok(url: str, timeout_s: float) -> bool:
    """Tell whether a GET of ``url`` answers 2xx within ``timeout_s``."""
    try:
        with _LOOPBACK_HTTP.open(url, timeout=timeout_s) as response:
            return 200 <= int(response.status) < 300
    except (OSError, ValueError):
        return False


class MotoServer:
    """An AWS API emulator for tests: moto's server on loopback, or a reused endpoint.

    One endpoint serves every emulated service (Glue, S3, STS, DynamoDB, EMR, ...);
    use it for the control plane only (data goes through the real S3 gateway).
    Credentials are dummies: moto accepts any.

    Use :meth:`start_or_reuse`, ideally as a context manager::

        with MotoServer.start_or_reuse() as aws:
            glue = aws.boto3_client("glue")
            glue.create_database(DatabaseInput={"Name": "gold"})

    Attributes:
        endpoint_url: ``http://127.0.0.1:PORT`` (or the reused endpoint).
        region: Region clients sign for (``us-east-1``).
        access_key: Dummy access key id.
        secret_key: Dummy secret access key.
        reused: True when an external endpoint is used (never stopped here).
        startup_seconds: Time ``start_or_reuse`` took.
        workdir: Temporary directory of a private server (its log), None when reused.
    """

    def __init__(self, endpoint_url: str, region: str = AWS_DEFAULT_REGION) -> None:
        """Describe an endpoint; prefer :meth:`start_or_reuse` to build one.

        Args:
            endpoint_url: Base URL, e.g. ``http://127.0.0.1:5000``.
            region: Signing region.
        """
        self.endpoint_url = endpoint_url.rstrip("/")
        self.region = region
        self.access_key = AWS_DUMMY_ACCESS_KEY
        self.secret_key = AWS_DUMMY_SECRET_KEY
        self.reused = True
        self.startup_seconds = 0.0
        self.workdir: Path | None = None
        self._process: subprocess.Popen[bytes] | None = None

    # ---------------------------------------------------------- lifecycle --

    @classmethod
    def start_or_reuse(cls, base_dir: str | os.PathLike[str] | None = None) -> MotoServer:
        """Reuse the endpoint named by ``CAREPLUS_TEST_AWS_ENDPOINT`` or start moto.

        Args:
            base_dir: Parent of the private server's temporary directory.

        Returns:
            An endpoint answering AWS API calls.

        Raises:
            ServiceError: If the endpoint cannot be reached or started.
            ServiceNotInstalledError: If moto's server extra is not installed.
        """
        started = time.monotonic()
        region = os.environ.get(ENV_AWS_REGION) or AWS_DEFAULT_REGION
        endpoint = os.environ.get(ENV_AWS_ENDPOINT)
        if endpoint:
            server = cls(endpoint, region)
            server._check_reachable()
        else:
            server = cls._start_private(base_dir, region)
        server.startup_seconds = time.monotonic() - started
        LOGGER.info("AWS emulator ready on %s in %.2f s", server.endpoint_url, server.startup_seconds)
        return server

    @classmethod
    def _start_private(cls, base_dir: str | os.PathLike[str] | None, region: str) -> MotoServer:
        """Start ``python -m moto.server`` on a free loopback port."""
        try:
            import flask  # noqa: F401, PLC0415 - moto's server needs its [server] extra
            import moto  # noqa: F401, PLC0415
        except ImportError as error:
            hint = "pip install -e '.[test]'"
            raise ServiceNotInstalledError(f"moto's server is not installed ({error}); {hint}") from error
        server = cls(f"http://{LOOPBACK}:0", region)
        server.reused = False
        server.workdir = _make_temp_dir("careplus-moto-", base_dir)
        atexit.register(server.stop)
        try:
            server._launch_with_retries()
        except BaseException:
            server.stop()
            raise
        return server

    def _launch_with_retries(self) -> None:
        """Start moto, picking a new port if the chosen one got taken."""
        workdir = self.workdir
        if workdir is None:
            raise ServiceError("this AWS emulator has no working directory")
        log_path = workdir / "moto.log"
        for attempt in range(1, START_ATTEMPTS + 1):
            _rotate_log(log_path, attempt)
            port = find_free_port()
            self.endpoint_url = f"http://{LOOPBACK}:{port}"
            # moto's server plus the Glue UpdateJob/UpdateTrigger it lacks (tests/moto_ext.py)
            argv = [sys.executable, str(Path(__file__).with_name("moto_ext.py")), "-H", LOOPBACK, "-p", str(port)]
            self._process = _spawn(argv, log_path, env=_aws_free_env())
            try:
                wait_until_ready(
                    lambda: _http_ok(f"{self.endpoint_url}/moto-api/data.json", 1.0),
                    self._process,
                    MOTO_START_TIMEOUT_S,
                    what="moto server",
                )
                return
            except (TimeoutError, ServiceError) as error:
                _stop_process(self._process, timeout_s=5.0)
                log_text = _tail(log_path)
                if attempt < START_ATTEMPTS and _is_port_clash(log_text):
                    LOGGER.warning("port %s was taken; retrying moto start", port)
                    continue
                raise ServiceError(f"moto server did not start: {error}\n--- {log_path} ---\n{log_text}") from error

    def stop(self) -> None:
        """Stop a private server and delete its directory (idempotent)."""
        atexit.unregister(self.stop)
        if self.reused:
            return
        _stop_process(self._process, timeout_s=10.0)
        self._process = None
        _remove_dir(self.workdir)
        self.workdir = None

    def __enter__(self) -> MotoServer:
        """Return the server itself."""
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        """Stop the server (when it was started here)."""
        self.stop()

    # ------------------------------------------------------------ clients --

    def _check_reachable(self) -> None:
        """Fail early, with a clear message, if the endpoint does not answer STS."""
        try:
            self.boto3_client("sts", connect_timeout=5, read_timeout=10, max_attempts=2).get_caller_identity()
        except Exception as error:  # botocore raises many unrelated types
            raise ServiceError(f"AWS endpoint {self.endpoint_url} is not usable: {error}") from error

    def boto3_client(
        self,
        service: str,
        *,
        connect_timeout: float = 5,
        read_timeout: float = 60,
        max_attempts: int = 3,
    ) -> Any:
        """Return a boto3 client of ``service`` bound to this endpoint.

        Credentials and region are passed to the client's own session, so no
        process-wide ``AWS_*`` variable is read or changed.

        Args:
            service: boto3 service name, e.g. ``"glue"``, ``"sts"``, ``"dynamodb"``.
            connect_timeout: Seconds to connect.
            read_timeout: Seconds to wait for an answer.
            max_attempts: Total tries of a call (standard retry mode).

        Returns:
            The client.
        """
        import boto3  # noqa: PLC0415 - heavy import, only needed for AWS tests
        from botocore.config import Config  # noqa: PLC0415

        session = boto3.session.Session(
            aws_access_key_id=self.access_key,
            aws_secret_access_key=self.secret_key,
            region_name=self.region,
        )
        config = Config(
            retries={"max_attempts": max_attempts, "mode": "standard"},
            connect_timeout=connect_timeout,
            read_timeout=read_timeout,
        )
        return session.client(service, endpoint_url=self.endpoint_url, config=config)

    def environment(self) -> dict[str, str]:
        """``AWS_*`` variables pointing an SDK (boto3, the JVM's AWS SDK v2) at this endpoint.

        For a subprocess's ``env`` or ``monkeypatch.setenv``; ``AWS_ENDPOINT_URL``
        routes every service of an SDK that honours it to the emulator.
        """
        return {
            "AWS_ACCESS_KEY_ID": self.access_key,
            "AWS_SECRET_ACCESS_KEY": self.secret_key,
            "AWS_DEFAULT_REGION": self.region,
            "AWS_REGION": self.region,
            "AWS_ENDPOINT_URL": self.endpoint_url,
        }

    def reset(self) -> None:
        """Forget every emulated resource (moto's ``/moto-api/reset``); private servers only.

        Raises:
            ServiceError: On a reused endpoint (others may rely on its state) or a failed reset.
        """
        if self.reused:
            raise ServiceError(f"refusing to reset the reused AWS endpoint {self.endpoint_url}")
        request = urllib.request.Request(f"{self.endpoint_url}/moto-api/reset", method="POST", data=b"")
        try:
            with _LOOPBACK_HTTP.open(request, timeout=10) as response:
                response.read()
        except OSError as error:
            raise ServiceError(f"moto reset failed: {error}") from error


# --------------------------------------------------------------------------
# Trino (Athena engine v3 is Trino): a single-node server with a Glue-backed Hive catalog
# --------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class JavaRuntime:
    """A JDK or JRE found on this machine."""

    home: Path
    version: tuple[int, ...]

    @property
    def java(self) -> Path:
        """Path of the ``java`` launcher."""
        return self.home / "bin" / "java"

    @property
    def major(self) -> int:
        """Feature release, e.g. 25."""
        return self.version[0]


def parse_java_release(text: str) -> tuple[int, ...] | None:
    """Return the version of a JDK's ``release`` file (``JAVA_VERSION="25.0.3"``), if any."""
    match = re.search(r'^JAVA_VERSION="?(\d+(?:\.\d+)*)', text, flags=re.MULTILINE)
    if match is None:
        return None
    return tuple(int(part) for part in match.group(1).split("."))


def java_runtime_at(home: Path) -> JavaRuntime | None:
    """Describe the Java installed at ``home`` (None if it is not one)."""
    java = home / "bin" / "java"
    try:
        version = parse_java_release((home / "release").read_text(encoding="utf-8", errors="replace"))
    except OSError:
        return None
    if version is None or not (java.is_file() and os.access(java, os.X_OK)):
        return None
    return JavaRuntime(home=home, version=version)


def _java_home_candidates() -> list[Path]:
    """JAVA_HOME, then the usual JDK folders (Debian's /usr/lib/jvm, /opt, /usr/local)."""
    candidates: list[Path] = []
    if os.environ.get("JAVA_HOME"):
        candidates.append(Path(os.environ["JAVA_HOME"]))
    for pattern_root, pattern in JAVA_SEARCH_GLOBS:
        root = Path(pattern_root)
        if root.is_dir():
            candidates.extend(sorted(root.glob(pattern)))
    return candidates


def find_trino_java() -> JavaRuntime:
    """Find a Java able to run Trino 476 (24.0.1 or later; Java 25 preferred).

    Order: ``$CAREPLUS_TRINO_JAVA_HOME`` (used as given), else among
    ``$JAVA_HOME``, ``/usr/lib/jvm/*``, ``/opt/*``, ``/opt/java/*`` and
    ``/usr/local/*``: a Java 25 first, else the newest that qualifies.

    Returns:
        The runtime.

    Raises:
        ServiceNotInstalledError: If no suitable Java is installed.
    """
    configured = os.environ.get(ENV_TRINO_JAVA_HOME)
    if configured:
        runtime = java_runtime_at(Path(configured))
        if runtime is None or runtime.version < TRINO_MIN_JAVA:
            raise ServiceNotInstalledError(
                f"{ENV_TRINO_JAVA_HOME}={configured} is not a Java {_dotted(TRINO_MIN_JAVA)}+ installation"
            )
        return runtime
    seen: set[Path] = set()
    usable: list[JavaRuntime] = []
    for home in _java_home_candidates():
        resolved = home.resolve()
        if resolved in seen:
            continue
        seen.add(resolved)
        runtime = java_runtime_at(resolved)
        if runtime is not None and runtime.version >= TRINO_MIN_JAVA:
            usable.append(runtime)
    if not usable:
        raise ServiceNotInstalledError(
            f"Trino {TRINO_VERSION} needs Java {_dotted(TRINO_MIN_JAVA)} or later (Java {TRINO_PREFERRED_JAVA} is"
            f" expected, e.g. /usr/lib/jvm/temurin-25-jdk-amd64) and none was found in $JAVA_HOME, /usr/lib/jvm,"
            f" /opt or /usr/local; install one ({INSTALL_HINT}) or set {ENV_TRINO_JAVA_HOME}"
        )
    preferred = [runtime for runtime in usable if runtime.major == TRINO_PREFERRED_JAVA]
    return max(preferred or usable, key=lambda runtime: runtime.version)


def _dotted(version: tuple[int, ...]) -> str:
    """``(24, 0, 1)`` -> ``"24.0.1"``."""
    return ".".join(str(part) for part in version)


def render_properties(properties: dict[str, str]) -> str:
    """Render a Java ``.properties`` file, one ``key=value`` per line, in the given order.

    Raises:
        ValueError: If a key or value holds a line break (it would split the entry).
    """
    lines: list[str] = []
    for key, value in properties.items():
        if any(char in key + value for char in "\r\n"):
            raise ValueError(f"line break in property {key!r}")
        if not re.fullmatch(r"[A-Za-z0-9_.\-]+", key):
            raise ValueError(f"unexpected property name {key!r}")
        lines.append(f"{key}={value.replace(chr(92), chr(92) * 2)}")
    return "\n".join(lines) + "\n"


def hive_glue_catalog_properties(aws: MotoServer, s3: S3Server) -> dict[str, str]:
    """Properties of a Trino 476 ``hive`` catalog: Glue metastore on ``aws``, data on ``s3``.

    This is the Athena set-up in miniature: table and partition entries come
    from the Glue API (here the emulator), files from S3 (here the gateway).
    Manifests listing ``s3a://`` or ``s3://`` paths are both read by the native
    S3 file system.

    Args:
        aws: The AWS emulator (Glue endpoint).
        s3: The S3 server holding the data.

    Returns:
        Property names and values, in a stable order.
    """
    return {
        "connector.name": "hive",
        "hive.metastore": "glue",
        "hive.metastore.glue.region": aws.region,
        "hive.metastore.glue.endpoint-url": aws.endpoint_url,
        "hive.metastore.glue.aws-access-key": aws.access_key,
        "hive.metastore.glue.aws-secret-key": aws.secret_key,
        "hive.metastore.glue.max-error-retries": "3",
        # Tables change under a running server in tests: read Glue on every query.
        "hive.metastore-cache-ttl": "0s",
        "hive.metastore-stats-cache-ttl": "0s",
        "fs.native-s3.enabled": "true",
        "s3.endpoint": s3.endpoint,
        "s3.region": s3.region,
        "s3.path-style-access": "true",
        "s3.aws-access-key": s3.access_key,
        "s3.aws-secret-key": s3.secret_key,
        "s3.max-error-retries": "3",
    }


def trino_config_properties(port: int, workdir: Path) -> dict[str, str]:
    """``etc/config.properties`` of a single-node Trino sized for a 2-core test machine."""
    return {
        "coordinator": "true",
        "node-scheduler.include-coordinator": "true",
        "http-server.http.port": str(port),
        "discovery.uri": f"http://{LOOPBACK}:{port}",
        "catalog.config-dir": str(workdir / "etc" / "catalog"),
        "catalog.management": "static",
        "plugin.dir": str(workdir / "plugin"),
        "web-ui.enabled": "false",
        "http-server.log.enabled": "false",
        "query.max-memory": "256MB",
        "query.max-memory-per-node": "256MB",
        "memory.heap-headroom-per-node": "256MB",
        "task.concurrency": "2",
        "task.max-worker-threads": "4",
        "query.min-expire-age": "1m",
    }


def trino_node_properties(workdir: Path) -> dict[str, str]:
    """``etc/node.properties``: a throwaway node bound to loopback, data in ``workdir``."""
    return {
        "node.environment": "careplus_test",
        "node.id": f"careplus-test-{secrets.token_hex(4)}",
        "node.data-dir": str(workdir / "data"),
        "node.bind-ip": LOOPBACK,
        "node.internal-address": LOOPBACK,
    }


def trino_jvm_options(heap: str = TRINO_HEAP) -> list[str]:
    """``etc/jvm.config``: small heap, serial GC and C1 only, for a short-lived 2-core test server."""
    return [
        "-server",
        f"-Xmx{heap}",
        "-XX:+UseSerialGC",
        # Test queries are tiny: quick C1 code beats waiting for C2, and uses less CPU.
        "-XX:TieredStopAtLevel=1",
        "-XX:ReservedCodeCacheSize=128M",
        "-XX:MaxDirectMemorySize=256M",
        "-Xss1M",
        "-XX:+ExitOnOutOfMemoryError",
        "-XX:-OmitStackTraceInFastThrow",
        "-XX:+EnableDynamicAgentLoading",
        "--enable-native-access=ALL-UNNAMED",
        "-Djdk.attach.allowAttachSelf=true",
        "-Djdk.nio.maxCachedBufferSize=2000000",
        "-Dfile.encoding=UTF-8",
        "-Duser.timezone=UTC",
    ]


def trino_aot_cache_path(java: JavaRuntime, server_dir: Path, home: Path | None = None) -> Path:
    """Where the JVM's AOT cache (JEP 483/514) of this Trino, Java and JVM options lives.

    The name carries the Java version and a digest of the installation path and
    JVM options, so a cache recorded for another set-up is simply not found
    (the JVM would ignore it with a warning anyway).
    """
    key_parts = [str(server_dir.resolve()), str(java.home.resolve()), _dotted(java.version), *trino_jvm_options()]
    digest = hashlib.sha256("\0".join(key_parts).encode()).hexdigest()[:12]
    return (home or trino_home()) / "aot" / f"trino-{TRINO_VERSION}-java{_dotted(java.version)}-{digest}.aot"


TRINO_LOG_LEVELS: Final = {
    "io.trino": "INFO",
    "io.airlift": "WARN",
    "org.eclipse.jetty": "WARN",
    "Bootstrap": "WARN",  # the table of every configuration property (~900 lines)
    "software.amazon.awssdk": "WARN",
}


class TrinoServer:
    """A single-node Trino 476 for tests (the engine of Athena v3), or a reused one.

    Catalog ``hive`` reads table and partition entries from the Glue API of the
    AWS emulator and files from the S3 server, like Athena reads Glue and S3.

    Use :meth:`start_or_reuse`, ideally as a context manager::

        with TrinoServer.start_or_reuse(aws=aws, s3=s3) as trino:
            assert trino.query("SELECT count(*) FROM hive.gold.fct_tickets") == [(42,)]

    Attributes:
        host: ``127.0.0.1`` (or the reused server's host).
        port: HTTP port.
        url: ``http://host:port``.
        catalog: Name of the Hive catalog (``hive``).
        user: Trino user name of the queries.
        reused: True when an external server is used (never stopped here).
        startup_seconds: Time ``start_or_reuse`` took (install check included).
        workdir: Temporary directory (etc/, data/, logs) of a private server.
        java: The Java runtime of a private server.
        server_dir: The cached Trino installation a private server runs from.
        log_path: The private server's log.
        aot_cache: The JVM AOT cache a private server started with (None: none yet,
            see :meth:`build_aot_cache`, or ``CAREPLUS_TRINO_AOT=0``).
    """

    def __init__(self, url: str, catalog: str = TRINO_CATALOG) -> None:
        """Describe a server; prefer :meth:`start_or_reuse` to build one.

        Args:
            url: Base URL, e.g. ``http://127.0.0.1:8080``.
            catalog: Name of the Hive catalog.
        """
        parsed = urllib.parse.urlsplit(url)
        if parsed.scheme != "http" or not parsed.hostname or not parsed.port:
            raise ServiceError(f"expected http://host:port for Trino, got {url!r}")
        self.host = parsed.hostname
        self.port = parsed.port
        self.catalog = catalog
        self.user = TRINO_USER
        self.reused = True
        self.startup_seconds = 0.0
        self.workdir: Path | None = None
        self.java: JavaRuntime | None = None
        self.server_dir: Path | None = None
        self.log_path: Path | None = None
        self.aot_cache: Path | None = None
        self._aot_output: Path | None = None
        self._process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        """Base URL of the server."""
        return f"http://{self.host}:{self.port}"

    # ---------------------------------------------------------- lifecycle --

    @classmethod
    def start_or_reuse(
        cls,
        *,
        aws: MotoServer,
        s3: S3Server,
        base_dir: str | os.PathLike[str] | None = None,
        install: bool = True,
    ) -> TrinoServer:
        """Reuse the server named by ``CAREPLUS_TEST_TRINO_URL`` or start one.

        A reused server must already have a ``hive`` catalog pointing at the
        same Glue endpoint and S3 server as ``aws`` and ``s3``.

        Args:
            aws: The AWS emulator whose Glue API is the metastore.
            s3: The S3 server holding the data.
            base_dir: Parent of the private server's temporary directory.
            install: Download Trino into the cache if it is not there yet
                (``.ci/install-services.sh`` does that ahead of the tests).

        Returns:
            A server that has finished starting.

        Raises:
            ServiceError: If the server cannot be reached or started.
            ServiceNotInstalledError: If Java 24.0.1+ or (with ``install=False``) Trino is missing.
        """
        started = time.monotonic()
        url = os.environ.get(ENV_TRINO_URL)
        if url:
            server = cls(url)
            server._check_reachable()
        else:
            server = cls._start_private(aws, s3, base_dir, install=install)
        server.startup_seconds = time.monotonic() - started
        LOGGER.info("Trino ready on %s in %.1f s", server.url, server.startup_seconds)
        return server

    @classmethod
    def _start_private(
        cls,
        aws: MotoServer,
        s3: S3Server,
        base_dir: str | os.PathLike[str] | None,
        *,
        install: bool,
        aot_output: Path | None = None,
    ) -> TrinoServer:
        """Write etc/ into a temporary directory and start Trino from the cache.

        With ``aot_output`` the JVM records an AOT cache there when it exits.
        """
        java = find_trino_java()
        if install:
            server_dir = install_trino()
        elif trino_is_installed():
            server_dir = trino_server_dir()
        else:
            raise ServiceNotInstalledError(f"Trino {TRINO_VERSION} is not in {trino_home()}; {INSTALL_HINT}")
        server = cls(f"http://{LOOPBACK}:1")
        server.reused = False
        server.java = java
        server.server_dir = server_dir
        server.workdir = _make_temp_dir("careplus-trino-", base_dir)
        server._aot_output = aot_output
        if aot_output is None and os.environ.get(ENV_TRINO_AOT) != "0":
            cache = trino_aot_cache_path(java, server_dir)
            server.aot_cache = cache if cache.is_file() else None
        atexit.register(server.stop)
        try:
            server._write_plugin_dir()
            server._launch_with_retries(hive_glue_catalog_properties(aws, s3))
        except BaseException:
            server.stop()
            raise
        return server

    def stop(self) -> None:
        """Stop a private server (its whole process group) and delete its directory (idempotent)."""
        atexit.unregister(self.stop)
        if self.reused:
            return
        _stop_process_group(self._process, TRINO_STOP_TIMEOUT_S)
        self._process = None
        _remove_dir(self.workdir)
        self.workdir = None

    def __enter__(self) -> TrinoServer:
        """Return the server itself."""
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        """Stop the server (when it was started here)."""
        self.stop()

    # ---------------------------------------------------- private server --

    def _require_workdir(self) -> Path:
        """Return the temporary directory of a private server."""
        if self.workdir is None:
            raise ServiceError("this Trino server has no working directory")
        return self.workdir

    def _write_plugin_dir(self) -> None:
        """Expose only the Hive plugin (a symlink into the cache): fewer class loaders, faster start."""
        if self.server_dir is None:
            raise ServiceError("this Trino server has no installation")
        plugin_dir = self._require_workdir() / "plugin"
        plugin_dir.mkdir()
        (plugin_dir / "hive").symlink_to(self.server_dir / "plugin" / "hive", target_is_directory=True)

    def _write_etc(self, port: int, catalog: dict[str, str]) -> Path:
        """Write etc/ (node, jvm, config, log levels, the catalog) for ``port``."""
        workdir = self._require_workdir()
        etc = workdir / "etc"
        (etc / "catalog").mkdir(parents=True, exist_ok=True)
        (workdir / "data").mkdir(exist_ok=True)
        (etc / "node.properties").write_text(render_properties(trino_node_properties(workdir)), encoding="utf-8")
        (etc / "jvm.config").write_text("\n".join(trino_jvm_options()) + "\n", encoding="utf-8")
        (etc / "config.properties").write_text(
            render_properties(trino_config_properties(port, workdir)), encoding="utf-8"
        )
        (etc / "log.properties").write_text(render_properties(TRINO_LOG_LEVELS), encoding="utf-8")
        catalog_path = etc / "catalog" / f"{self.catalog}.properties"
        catalog_path.write_text(render_properties(catalog), encoding="utf-8")
        catalog_path.chmod(0o600)  # holds the S3 secret
        return etc

    def _server_argv(self, etc: Path) -> list[str]:
        """The java command line ``bin/launcher run`` would build, without the launcher."""
        if self.java is None or self.server_dir is None:
            raise ServiceError("this Trino server has no Java or installation")
        jvm_options = [line for line in (etc / "jvm.config").read_text(encoding="utf-8").splitlines() if line.strip()]
        node_lines = (etc / "node.properties").read_text(encoding="utf-8").splitlines()
        node = dict(line.split("=", 1) for line in node_lines if line.strip())
        return [
            str(self.java.java),
            "-cp",
            str(self.server_dir / "lib" / "*"),
            *jvm_options,
            *self._aot_options(),
            *(f"-D{key}={value}" for key, value in node.items()),
            f"-Dconfig={etc / 'config.properties'}",
            f"-Dlog.levels-file={etc / 'log.properties'}",
            TRINO_MAIN_CLASS,
        ]

    def _aot_options(self) -> list[str]:
        """JVM options that record (training run) or use the AOT cache."""
        if self._aot_output is not None:
            return [f"-XX:AOTCacheOutput={self._aot_output}"]
        if self.aot_cache is not None:
            return [f"-XX:AOTCache={self.aot_cache}"]
        return []

    @classmethod
    def build_aot_cache(cls, base_dir: str | os.PathLike[str] | None = None) -> Path:
        """Record the JVM AOT cache that makes later starts faster (once per Java/Trino).

        Starts Trino with ``-XX:AOTCacheOutput``, runs a few system queries,
        stops it and waits while the JVM writes the cache (to a temporary name,
        renamed when complete). No AWS or S3 endpoint is contacted: the catalog
        points at closed loopback ports and is not queried.

        Args:
            base_dir: Parent of the training server's temporary directory.

        Returns:
            The cache file (an existing one is returned as is).

        Raises:
            ServiceError: If the training run fails or writes no cache.
        """
        java = find_trino_java()
        server_dir = install_trino()
        target = trino_aot_cache_path(java, server_dir)
        if target.is_file():
            return target
        with _file_lock(target.parent / ".aot.lock", TRINO_START_TIMEOUT_S + TRINO_AOT_DUMP_TIMEOUT_S + 60):
            if target.is_file():
                return target
            partial = target.with_name(f".{target.name}.{secrets.token_hex(4)}.part")
            closed = f"http://{LOOPBACK}:9"  # discard port: nothing listens
            server = cls._start_private(
                MotoServer(closed),
                S3Server(closed, "training", "training"),
                base_dir,
                install=False,
                aot_output=partial,
            )
            try:
                for sql in TRINO_AOT_TRAINING_QUERIES:
                    server._query_over_http(sql)
                server._stop_and_wait_for_aot_dump()
                if not partial.is_file() or partial.stat().st_size == 0:
                    log_text = _tail(server.log_path, TRINO_LOG_TAIL_LINES) if server.log_path else ""
                    raise ServiceError(f"the JVM wrote no AOT cache to {partial}\n{log_text}")
                os.replace(partial, target)
                for stale in target.parent.glob(f"trino-{TRINO_VERSION}-*.aot"):
                    if stale != target:  # recorded for another Java or other JVM options
                        stale.unlink(missing_ok=True)
            finally:
                server.stop()
                partial.unlink(missing_ok=True)
                partial.with_name(partial.name + ".config").unlink(missing_ok=True)
        LOGGER.info("Trino AOT cache written to %s (%d bytes)", target, target.stat().st_size)
        return target

    def _stop_and_wait_for_aot_dump(self) -> None:
        """SIGTERM the JVM alone and wait (bounded) while it writes its AOT cache at exit."""
        process = self._process
        if process is None or process.poll() is not None:
            raise ServiceError("the Trino training run exited early")
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=TRINO_AOT_DUMP_TIMEOUT_S)
        except subprocess.TimeoutExpired as error:
            limit = f"{TRINO_AOT_DUMP_TIMEOUT_S:.0f} s"
            raise ServiceError(f"the JVM did not write its AOT cache within {limit}") from error

    def _launch_with_retries(self, catalog: dict[str, str]) -> None:
        """Start Trino, picking a new port if the chosen one got taken."""
        workdir = self._require_workdir()
        self.log_path = workdir / "server.log"
        env = _aws_free_env()
        if self.java is not None:
            env["JAVA_HOME"] = str(self.java.home)
        for attempt in range(1, START_ATTEMPTS + 1):
            _rotate_log(self.log_path, attempt)
            self.port = find_free_port()
            etc = self._write_etc(self.port, catalog)
            self._process = _spawn(self._server_argv(etc), self.log_path, env=env, cwd=workdir)
            try:
                wait_until_ready(self._started, self._process, TRINO_START_TIMEOUT_S, what="Trino", interval_s=0.5)
                return
            except (TimeoutError, ServiceError) as error:
                _stop_process_group(self._process, timeout_s=10.0)
                log_text = _tail(self.log_path, TRINO_LOG_TAIL_LINES)
                if attempt < START_ATTEMPTS and _is_port_clash(log_text):
                    LOGGER.warning("port %s was taken; retrying Trino start", self.port)
                    continue
                raise ServiceError(f"Trino did not start: {error}\n--- {self.log_path} ---\n{log_text}") from error

    def _started(self) -> bool:
        """Tell whether the server has finished starting and can schedule work.

        ``/v1/info`` reports ``"starting": false`` a few seconds before the
        coordinator lists itself as an active node; a query in that gap fails
        with ``NO_NODES_AVAILABLE``. So readiness also needs this node among
        ``system.runtime.nodes`` in state ``active``.
        """
        info = self.info(timeout_s=2.0)
        if info is None or info.get("starting") is not False:
            return False
        try:
            rows = self._query_over_http(TRINO_READY_QUERY, timeout_s=10.0)
        except (OSError, ValueError, ServiceError):
            return False
        return bool(rows) and int(rows[0][0]) > 0

    # ------------------------------------------------------------ clients --

    def info(self, timeout_s: float = 5.0) -> dict[str, Any] | None:
        """Return ``/v1/info`` (version, uptime, starting), or None if it does not answer."""
        try:
            with _LOOPBACK_HTTP.open(f"{self.url}/v1/info", timeout=timeout_s) as response:
                payload = json.loads(response.read())
        except (OSError, ValueError):
            return None
        return payload if isinstance(payload, dict) else None

    def _check_reachable(self) -> None:
        """Fail early, with a clear message, if the reused server is not up."""
        info = self.info()
        if info is None or info.get("starting") is not False:
            raise ServiceError(f"Trino at {self.url} is not running (/v1/info: {info})")

    def connect(self, schema: str | None = None, **kwargs: Any) -> Any:
        """Open a DB-API connection (``trino`` client) to the ``hive`` catalog.

        Prefer :meth:`query`, which also rides out the few seconds after start-up
        in which queries of the ``hive`` catalog fail with ``NO_NODES_AVAILABLE``.

        Args:
            schema: Default schema (Glue database), if any.
            **kwargs: Extra ``trino.dbapi.connect`` arguments (override defaults).

        Returns:
            A ``trino.dbapi.Connection``.
        """
        import requests  # noqa: PLC0415 - the trino client's HTTP library
        import trino  # noqa: PLC0415 - only needed for Trino tests

        session = requests.Session()
        session.trust_env = False  # no proxy from the environment for a loopback server
        options: dict[str, Any] = {
            "host": self.host,
            "port": self.port,
            "user": self.user,
            "catalog": self.catalog,
            "schema": schema,
            "http_scheme": "http",
            "request_timeout": TRINO_QUERY_TIMEOUT_S,
            "max_attempts": 1,
            "http_session": session,
        }
        options.update(kwargs)
        return trino.dbapi.connect(**options)

    def query(self, sql: str, schema: str | None = None) -> list[tuple[Any, ...]]:
        """Run one statement and return all its rows as tuples.

        Args:
            sql: The statement (no trailing semicolon).
            schema: Default schema (Glue database), if any.

        Returns:
            The rows.

        Raises:
            trino.exceptions.TrinoQueryError: If the query fails.

        A query that fails with ``NO_NODES_AVAILABLE`` is run again for up to
        ``TRINO_NO_NODES_GRACE_S``: for a few seconds after start-up the
        coordinator does not yet list itself among the nodes that have the
        ``hive`` catalog (its node manager polls announcements every 5 s), and
        such a query was never scheduled, so it had no effect.
        """
        deadline = time.monotonic() + TRINO_NO_NODES_GRACE_S
        for attempt in range(1, int(TRINO_NO_NODES_GRACE_S / TRINO_NO_NODES_PAUSE_S) + 2):
            connection = self.connect(schema=schema)
            try:
                cursor = connection.cursor()
                cursor.execute(sql)
                return [tuple(row) for row in cursor.fetchall()]
            except Exception as error:
                if getattr(error, "error_name", None) != "NO_NODES_AVAILABLE" or time.monotonic() > deadline:
                    raise
                LOGGER.info("Trino has no node for the catalog yet (attempt %d); retrying", attempt)
            finally:
                connection.close()
            time.sleep(TRINO_NO_NODES_PAUSE_S)
        raise ServiceError(f"Trino had no node to run the query within {TRINO_NO_NODES_GRACE_S:.0f} s: {sql}")

    def _query_over_http(self, sql: str, timeout_s: float = 60.0) -> list[list[Any]]:
        """Run a statement through Trino's REST protocol with the standard library only.

        For the AOT training run of ``prepare-trino``, which may run under a
        Python without the ``trino`` client. Bounded in polls and time.
        """
        deadline = time.monotonic() + timeout_s
        headers = {"X-Trino-User": self.user, "X-Trino-Source": "careplus-tests"}
        request = urllib.request.Request(f"{self.url}/v1/statement", data=sql.encode(), headers=headers, method="POST")
        rows: list[list[Any]] = []
        for _ in range(int(timeout_s / 0.1) + 2):
            with _LOOPBACK_HTTP.open(request, timeout=max(deadline - time.monotonic(), 1.0)) as response:
                payload = json.loads(response.read())
            if "error" in payload:
                raise ServiceError(f"Trino query failed: {payload['error'].get('message')}")
            rows.extend(payload.get("data") or [])
            next_uri = payload.get("nextUri")
            if not next_uri:
                return rows
            if time.monotonic() > deadline:
                break
            time.sleep(0.05)
            request = urllib.request.Request(next_uri, headers=headers)
        raise ServiceError(f"Trino query did not finish within {timeout_s:.0f} s: {sql}")

    def rss_bytes(self) -> int | None:
        """Resident memory of a private server's JVM (``VmRSS``), or None."""
        if self._process is None or self._process.poll() is not None:
            return None
        try:
            status = Path(f"/proc/{self._process.pid}/status").read_text(encoding="ascii")
        except OSError:
            return None
        match = re.search(r"^VmRSS:\s+(\d+) kB", status, flags=re.MULTILINE)
        return int(match.group(1)) * 1024 if match else None



# --------------------------------------------------------------------------
# Command line: `python -m tests.services prepare-trino` (used by .ci/install-services.sh)
# --------------------------------------------------------------------------


def prepare_trino(*, aot: bool = True) -> dict[str, Any]:
    """Download Trino into the cache and record its AOT cache; report what was done.

    Args:
        aot: Also record the JVM AOT cache (needs Java 24.0.1+).

    Returns:
        Paths and timings, for the install log.
    """
    started = time.monotonic()
    was_installed = trino_is_installed()
    server_dir = install_trino()
    report: dict[str, Any] = {
        "trino_server": str(server_dir),
        "downloaded": not was_installed,
        "install_seconds": round(time.monotonic() - started, 1),
    }
    if aot:
        java = find_trino_java()
        report["java_home"] = str(java.home)
        aot_started = time.monotonic()
        report["aot_cache"] = str(TrinoServer.build_aot_cache())
        report["aot_seconds"] = round(time.monotonic() - aot_started, 1)
    return report


def main(argv: list[str] | None = None) -> int:
    """``prepare-trino [--no-aot]``: fill the Trino cache ahead of the tests."""
    import argparse  # noqa: PLC0415

    parser = argparse.ArgumentParser(prog="python -m tests.services", description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)
    prepare = commands.add_parser(
        "prepare-trino", help=f"download Trino {TRINO_VERSION} (+ Hive plugin) into the cache"
    )
    prepare.add_argument("--no-aot", action="store_true", help="skip recording the JVM AOT cache")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    try:
        report = prepare_trino(aot=not args.no_aot)
    except ServiceError as error:
        print(f"prepare-trino: error: {error}", file=sys.stderr)
        return 1
    print(json.dumps(report, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
