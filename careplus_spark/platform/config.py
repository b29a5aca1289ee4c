"""The application configuration: ``conf/base.yaml`` deep-merged with ``conf/<env>.yaml``.

Example:
    >>> cfg = load_config("local", overrides=["sources.tickets.fetch_size=5000"])  # doctest: +SKIP
    >>> cfg.sources.tickets.fetch_size  # doctest: +SKIP
    5000

Everything is validated before Spark starts: an unknown key, a missing required key,
a wrong type, a number out of its range or a name (table, column, schema) or path
outside its pattern raises :class:`~careplus_spark.errors.ConfigError` (exit code 2)
naming the key and the file that set it. The ranges and patterns sit next to the
fields (``field(metadata=checks(...))``, see :mod:`careplus_spark.platform.config_checks`).
"""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from careplus_spark.errors import ConfigError
from careplus_spark.platform import package_data, typed, yaml_tree
from careplus_spark.platform.config_checks import (
    DYNAMODB_TABLE,
    above,
    at_least,
    between,
    check_fields,
    checks,
    each,
    identifier,
    matches,
    safe_path,
    share,
    table_name,
)
from careplus_spark.platform.config_deploy import DeployConfig, ExposureConfig
from careplus_spark.platform.config_operate import MaintenanceConfig, MonitoringConfig
from careplus_spark.platform.secrets import Secret

PlatformKind = Literal["local", "standalone", "emr", "glue"]
#: Spark's (log4j's) levels; INFO and below also show the known-benign warnings (``--debug``).
LogLevel = Literal["ALL", "TRACE", "DEBUG", "INFO", "WARN", "ERROR", "FATAL", "OFF"]
CatalogKind = Literal["hive", "glue", "in-memory"]


@dataclass(frozen=True)
class SparkConfig:
    """How the SparkSession is built (see :mod:`careplus_spark.platform.session`)."""

    platform: PlatformKind = "local"
    master: str = "local[2]"
    app_name: str = "careplus"
    shuffle_partitions: int = field(default=4, metadata=checks(at_least(1)))
    driver_memory: str = "2g"
    ui_enabled: bool = False
    jars_dir: str = ""
    log_level: LogLevel = "WARN"
    conf: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class S3Config:
    """s3a connection settings; ``endpoint`` empty means AWS itself (or no S3 at all)."""

    endpoint: str = ""
    region: str = "us-east-1"
    path_style_access: bool = False
    ssl_enabled: bool = True
    access_key: Secret = field(default_factory=Secret.empty)
    secret_key: Secret = field(default_factory=Secret.empty)


@dataclass(frozen=True)
class CatalogConfig:
    """Where tables are registered by name (``bronze``/``silver``/``gold`` databases)."""

    kind: CatalogKind = "hive"
    metastore_dir: str = field(default="", metadata=checks(safe_path()))


@dataclass(frozen=True)
class LockConfig:
    """The run lock: one pipeline run per lakehouse at a time (:mod:`careplus_spark.lakehouse.lock`).

    The holder renews its lease every ``heartbeat_s``; a lease not renewed for ``expiry_s``
    belongs to a dead run and is taken over. ``wait_s``: how long a second run waits for the
    lock before it gives up (exit code 6); ``--wait-lock`` overrides it.
    """

    enabled: bool = True
    expiry_s: float = field(default=300.0, metadata=checks(above(0)))
    heartbeat_s: float = field(default=30.0, metadata=checks(above(0)))
    wait_s: float = field(default=0.0, metadata=checks(at_least(0)))

    def __post_init__(self) -> None:
        if self.expiry_s <= self.heartbeat_s:
            raise ConfigError(
                f"lakehouse.lock.expiry_s ({self.expiry_s:g}) must be greater than lakehouse.lock.heartbeat_s "
                f"({self.heartbeat_s:g}): a live holder renews its lease before it expires"
            )


@dataclass(frozen=True)
class DynamoDbLogStoreConfig:
    """Delta's ``S3DynamoDBLogStore`` (``lakehouse.log_store: s3-dynamodb``): the DynamoDB table
    that makes commits to S3 from several clusters mutually exclusive. ``region`` empty means
    ``s3.region``; ``endpoint`` empty means AWS itself (an emulator's URL in tests)."""

    table: str = field(default="delta_log", metadata=checks(matches(DYNAMODB_TABLE, "a DynamoDB table name")))
    region: str = ""
    endpoint: str = ""


@dataclass(frozen=True)
class LakehouseConfig:
    """The Delta lakehouse: a root folder (local path or ``s3a://``) and its catalog."""

    #: no quotes, backslash, ``;`` or control characters: they would break the JVM options
    #: (``-Dderby.system.home``), the Derby URL and the catalog's DDL
    root: str = field(metadata=checks(safe_path()))
    catalog: CatalogConfig = field(default_factory=CatalogConfig)
    lock: LockConfig = field(default_factory=LockConfig)
    #: ``default``: Delta's log store for the root's file system (one writer cluster on S3);
    #: ``s3-dynamodb``: Delta's S3DynamoDBLogStore, for writers on several clusters at once
    log_store: Literal["default", "s3-dynamodb"] = "default"
    dynamodb: DynamoDbLogStoreConfig = field(default_factory=DynamoDbLogStoreConfig)


@dataclass(frozen=True)
class TicketsSourceConfig:
    """The tickets table reached through Spark's JDBC source."""

    url: str
    #: a table name or ``database.table``; names are quoted in the SQL sent to the source
    table: str = field(metadata=checks(table_name()))
    user: str
    password: Secret
    driver: str = ""
    fetch_size: int = field(default=10000, metadata=checks(at_least(1)))
    num_partitions: int = field(default=2, metadata=checks(at_least(1)))
    connect_timeout_s: int = field(default=10, metadata=checks(at_least(1)))
    options: dict[str, str] = field(default_factory=dict)
    #: Incremental extraction (see :mod:`careplus_spark.sources.tickets_extract`).
    key_column: str = field(default="ticket_id", metadata=checks(identifier()))
    cursor_column: str = field(default="updated_at", metadata=checks(identifier()))
    lookback_minutes: int = field(default=60, metadata=checks(at_least(0)))
    partition_by: Literal["auto", "key", "cursor", "none"] = "auto"
    partition_min_rows: int = field(default=50000, metadata=checks(at_least(1)))
    schema_drift: Literal["add", "ignore", "fail"] = "add"
    #: Delete reconciliation (see :mod:`careplus_spark.bronze.reconcile`): every N ingest runs (0: on demand).
    reconcile_every_runs: int = field(default=1, metadata=checks(at_least(0)))
    #: a share of bronze's live rows (0.5 is half; 1 turns the guard off)
    reconcile_max_delete_fraction: float = field(default=0.5, metadata=checks(share()))
    #: attempts on connection failures (1: no retry)
    retries: int = field(default=3, metadata=checks(at_least(1)))
    retry_backoff_s: float = field(default=1.0, metadata=checks(at_least(0)))

    def __post_init__(self) -> None:
        check_fields(self, "sources.tickets")  # also when built in code (tests, replace())


@dataclass(frozen=True)
class LogsSourceConfig:
    """The application log files: a folder or prefix, any layout below it."""

    path: str
    pattern: str = "*.log*"
    #: a file that vanished from the source: ``keep`` its rows, or ``retract`` them from bronze
    on_missing: Literal["keep", "retract"] = "keep"
    #: how a changed file is noticed: modification time and size, or a content checksum
    change_detection: Literal["mtime_size", "checksum"] = "mtime_size"


@dataclass(frozen=True)
class SourcesConfig:
    tickets: TicketsSourceConfig
    logs: LogsSourceConfig


@dataclass(frozen=True)
class GenerateConfig:
    """Defaults of ``careplus generate`` / ``careplus demo`` (see the synthetic package)."""

    seed: int = field(default=42, metadata=checks(at_least(0)))
    start_date: dt.date = dt.date(2025, 7, 1)
    days: int = field(default=3, metadata=checks(at_least(1)))
    tickets_per_day: int = field(default=100, metadata=checks(at_least(0)))
    events_per_ticket: float = field(default=3.0, metadata=checks(at_least(0)))
    log_files_per_day: int = field(default=2, metadata=checks(at_least(0)))
    rates: dict[str, float] = field(default_factory=dict, metadata=checks(each(share())))


@dataclass(frozen=True)
class SilverConfig:
    """Silver settings; ``tickets_mappings`` empty means the packaged value mappings."""

    tickets_mappings: str = ""


@dataclass(frozen=True)
class GoldConfig:
    """Gold settings: SLA targets (hours to resolve) per canonical priority.

    A resolved ticket breaches its SLA when its resolution took longer than its priority's
    target; an open ticket has no verdict yet (NULL), so gold depends on the data only, not
    on the clock. A priority without a target (or NULL) has no verdict either.
    """

    sla_hours: dict[str, float] = field(
        default_factory=lambda: {"High": 4.0, "Medium": 24.0, "Low": 72.0}, metadata=checks(each(above(0)))
    )
    #: Decimals the averages are rounded to; ``None`` (the default) keeps them exact.
    average_decimals: int | None = field(default=None, metadata=checks(between(0, 18)))


@dataclass(frozen=True)
class AlarmThresholds:
    """Default alarm thresholds per rule severity: shares (0..1) of a step's checked rows; None: no alarm."""

    block: float | None = field(default=0.01, metadata=checks(share()))  # rules that quarantine rows
    warn: float | None = field(default=0.05, metadata=checks(share()))  # rules that null a value or keep the row


@dataclass(frozen=True)
class AlarmsConfig:
    """Quarantine-rate alarms (:mod:`careplus_spark.quality.alarms`): a threshold per rule
    (``<database>.<table>.<rule>``; None: never) over the defaults per severity; ``action`` warn | fail."""

    action: Literal["warn", "fail"] = "warn"
    default_threshold: AlarmThresholds = field(default_factory=AlarmThresholds)
    rules: dict[str, float | None] = field(default_factory=dict, metadata=checks(each(share())))

    def __post_init__(self) -> None:
        for name in self.rules:
            if name.count(".") != 2 or not all(part.strip() for part in name.split(".")):
                raise ConfigError(f"quality.alarms.rules.{name}: name a rule as <database>.<table>.<rule>, "
                                  f"e.g. silver.tickets.unparseable_created_at, found {name!r}")


@dataclass(frozen=True)
class QualityConfig:
    """Data-quality rules (``rules_dir`` empty: the packaged rule files) and their alarms."""

    rules_dir: str = ""
    alarms: AlarmsConfig = field(default_factory=AlarmsConfig)


@dataclass(frozen=True)
class AppConfig:
    """The whole validated configuration; ``env`` and ``files`` say where it came from."""

    lakehouse: LakehouseConfig
    sources: SourcesConfig
    spark: SparkConfig = field(default_factory=SparkConfig)
    s3: S3Config = field(default_factory=S3Config)
    generate: GenerateConfig = field(default_factory=GenerateConfig)
    silver: SilverConfig = field(default_factory=SilverConfig)
    gold: GoldConfig = field(default_factory=GoldConfig)
    quality: QualityConfig = field(default_factory=QualityConfig)
    exposure: ExposureConfig = field(default_factory=ExposureConfig)
    deploy: DeployConfig = field(default_factory=DeployConfig)
    maintenance: MaintenanceConfig = field(default_factory=MaintenanceConfig)
    monitoring: MonitoringConfig = field(default_factory=MonitoringConfig)
    env: str = "local"
    files: tuple[str, ...] = ()


def default_conf_dir() -> Path:
    """``$CAREPLUS_CONF_DIR``, else ``./conf`` when it has a base.yaml, else the installed copy."""
    env = os.environ.get("CAREPLUS_CONF_DIR")
    if env:
        return Path(env)
    local = Path.cwd() / "conf"
    if (local / "base.yaml").is_file():
        return local
    packaged = package_data.resource("careplus_spark", "conf")  # copied into the wheel and the spark-submit zip
    if packaged.is_dir():
        return package_data.real_path(packaged)  # a zip's copy is extracted to a real folder
    return Path(__file__).resolve().parent.parent.parent / "conf"  # editable install: the checkout's


def load_config(
    env: str = "local",
    overrides: Sequence[str] = (),
    conf_dir: Path | None = None,
    environ: Mapping[str, str] | None = None,
) -> AppConfig:
    """Loads, merges, interpolates and validates the configuration of one environment.

    Args:
        env: the environment; ``conf/<env>.yaml`` is merged over ``conf/base.yaml``.
        overrides: ``a.b=c`` strings applied last (``--set`` on the command line).
        conf_dir: the folder with the YAML files (default: :func:`default_conf_dir`).
        environ: the environment variables (default: ``os.environ``).

    Raises:
        ConfigError: a file is missing or invalid, or a key is unknown, missing, mistyped,
            out of its range or outside its pattern.
    """
    folder = conf_dir or default_conf_dir()
    environ = os.environ if environ is None else environ
    if not env.replace("-", "").replace("_", "").isalnum():
        raise ConfigError(f"--env {env!r}: expected a simple name such as local, test, docker, emr, glue")
    files = [folder / "base.yaml", folder / f"{env}.yaml"]
    if not files[1].is_file():
        known = sorted(p.stem for p in folder.glob("*.yaml") if p.stem != "base")
        raise ConfigError(f"no configuration for environment {env!r}: {files[1]} does not exist; known: {known}")
    provenance: yaml_tree.Provenance = {}
    tree: yaml_tree.Tree = {}
    for path in files:
        tree = yaml_tree.merge(tree, yaml_tree.read_yaml(path), str(path), provenance)
    tree = yaml_tree.apply_overrides(tree, overrides, provenance)
    for reserved in ("env", "files"):
        if reserved in tree:
            raise ConfigError(f"{reserved!r} is reserved and cannot be set (set in {provenance.get(reserved)})")
    tree = {**tree, "env": env, "files": [str(p) for p in files]}
    cfg: AppConfig = typed.build(AppConfig, tree, provenance, environ)
    cfg = _resolve_local_paths(cfg)
    safe_path()(cfg.lakehouse.root, "lakehouse.root", provenance)  # a relative root took the working folder
    return cfg


def _resolve_local_paths(cfg: AppConfig) -> AppConfig:
    """Makes local paths absolute so that Spark workers and later runs agree on them."""
    from dataclasses import replace

    lakehouse = replace(cfg.lakehouse, root=absolute_uri(cfg.lakehouse.root))
    logs = replace(cfg.sources.logs, path=absolute_uri(cfg.sources.logs.path))
    tickets = cfg.sources.tickets
    if tickets.url.startswith("jdbc:sqlite:"):
        db_path = tickets.url[len("jdbc:sqlite:") :]
        tickets = replace(tickets, url="jdbc:sqlite:" + str(Path(db_path).expanduser().absolute()))
    sources = replace(cfg.sources, logs=logs, tickets=tickets)
    return replace(cfg, lakehouse=lakehouse, sources=sources)


def absolute_uri(path: str) -> str:
    """Leaves URIs with a scheme (``s3a://``, ``file:/``) alone; makes plain paths absolute."""
    if "://" in path or path.startswith("file:"):
        return path.rstrip("/")
    return str(Path(path).expanduser().absolute()).rstrip("/")


def is_local_path(path: str) -> bool:
    """True for a plain file-system path or a ``file:`` URI."""
    return "://" not in path or path.startswith("file:")
