"""Real loopback servers for the CarePlus integration tests (no mocks).

Two launchers live here:

* :class:`MariaDbServer` -- a private ``mariadbd`` (MySQL-compatible) started
  in a temporary directory, or an existing server reused through environment
  variables.
* :class:`S3Server` -- a private Versity S3 gateway (``versitygw``, posix
  backend) started in a temporary directory, or an existing S3 endpoint reused
  through environment variables.

Both are context managers; ``start_or_reuse()`` returns a ready instance and
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

Other variables::

    CAREPLUS_VERSITYGW                  path of the versitygw binary to run
    CAREPLUS_TEST_KEEP_SERVICE_DIRS=1   keep the temporary directories (data,
                                        logs) after stop() for debugging

Binaries are installed by ``.ci/install-services.sh``.
"""

from __future__ import annotations

import atexit
import dataclasses
import logging
import os
import re
import secrets
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any, Final

import pymysql

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


def _spawn(argv: list[str], log_path: Path, env: dict[str, str] | None = None) -> subprocess.Popen[bytes]:
    """Start a server process in its own session, output going to ``log_path``.

    Args:
        argv: Command line.
        log_path: File receiving both stdout and stderr.
        env: Environment for the child (default: inherited).

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
