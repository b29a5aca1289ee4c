"""Opening the sink a JDBC URL points at: SQLite or MySQL/MariaDB."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import urlsplit

from careplus_spark.errors import ConfigError
from careplus_spark.synthetic.mysql_sink import MySqlSink
from careplus_spark.synthetic.sinks import DEFAULT_TABLE, SqliteSink, SqlTicketSink, check_identifier


def sink_for_url(
    jdbc_url: str, user: str, password: str, table: str = DEFAULT_TABLE
) -> SqlTicketSink:
    """Open the sink a JDBC URL points at.

    Understands ``jdbc:sqlite:<path>`` (absolute or relative to the working directory)
    and ``jdbc:mysql://host[:port]/database[?options]`` (also ``jdbc:mariadb://``); the
    options are ignored. Neither the password nor the URL's options ever appear in a
    message.

    Raises:
        ConfigError: The URL or table name is not understood.
        SourceUnavailableError: The database cannot be reached.
    """
    if jdbc_url.startswith("jdbc:sqlite:"):
        path = jdbc_url[len("jdbc:sqlite:") :].split("?", 1)[0]
        if not path or path.startswith(":memory:"):
            raise ConfigError("jdbc:sqlite: URL needs a file path, e.g. jdbc:sqlite:./data/t.db")
        return SqliteSink(Path(path).expanduser(), table)
    if jdbc_url.startswith(("jdbc:mysql://", "jdbc:mariadb://")):
        host, port, database = parse_mysql_url(jdbc_url)
        return MySqlSink(host, port, user, password, database, table=table)
    scheme = ":".join(jdbc_url.split(":", 2)[:2])
    raise ConfigError(
        f"unsupported tickets source URL scheme {scheme!r}; expected jdbc:sqlite:<path> "
        "or jdbc:mysql://host:port/database"
    )


def parse_mysql_url(jdbc_url: str) -> tuple[str, int, str]:
    """Return (host, port, database) of a ``jdbc:mysql://`` or ``jdbc:mariadb://`` URL.

    Raises:
        ConfigError: The host or database is missing, or the port is not a number.
    """
    parts = urlsplit(jdbc_url[len("jdbc:") :])
    try:
        port = parts.port or 3306
    except ValueError:
        raise ConfigError(f"{parts.scheme} URL has an invalid port") from None
    host = parts.hostname or ""
    database = parts.path.lstrip("/")
    if not host or "," in parts.netloc:
        raise ConfigError(f"{parts.scheme} URL needs exactly one host, e.g. jdbc:mysql://h:3306/db")
    if not database:
        raise ConfigError(f"{parts.scheme} URL for {host}:{port} names no database")
    return host, port, check_identifier(database, "database")
