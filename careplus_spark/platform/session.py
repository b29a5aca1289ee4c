"""The one place that builds the SparkSession, for every platform.

``spark_conf(cfg)`` composes the settings as a plain dict (easy to test and to pass
to ``spark-submit --conf``); ``build_session(cfg)`` applies them. Library code never
calls ``getOrCreate()`` itself: it receives ``spark``.

Platforms:
- ``local`` / ``standalone``: pip pyspark, jars from the local cache (``careplus setup``),
  a Derby Hive metastore under the lakehouse (``hive``) so tables stay registered for a
  later ``careplus sql`` or ``spark-sql``.
- ``emr`` / ``glue``: the platform's Delta and S3 connector and the AWS Glue Data Catalog;
  Delta's static confs must also be passed at launch (``spark-submit.sh`` and the Glue
  job definition do it).

``lakehouse.log_store: s3-dynamodb`` selects Delta's ``S3DynamoDBLogStore`` for ``s3://`` and
``s3a://`` tables (:func:`log_store_conf`): each commit is first claimed in a DynamoDB table, so
writers on several clusters cannot overwrite each other's commit of the same version.
"""

from __future__ import annotations

import hashlib
import os
import sys
import urllib.parse
from pathlib import Path
from typing import TYPE_CHECKING

from careplus_spark.errors import ConfigError
from careplus_spark.platform import jars, package_data, secrets
from careplus_spark.platform.config import AppConfig, is_local_path

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

DELTA_CONF = {
    "spark.sql.extensions": "io.delta.sql.DeltaSparkSessionExtension",
    "spark.sql.catalog.spark_catalog": "org.apache.spark.sql.delta.catalog.DeltaCatalog",
}

_GLUE_FACTORY = "com.amazonaws.glue.catalog.metastore.AWSGlueDataCatalogHiveClientFactory"

#: Delta's log store for writers on several clusters (``lakehouse.log_store: s3-dynamodb``).
S3_DYNAMODB_LOG_STORE = "io.delta.storage.S3DynamoDBLogStore"
#: Prefix of its settings (Delta reads them from the Hadoop configuration, Spark's ``spark.*`` included).
DDB_CONF_PREFIX = f"spark.{S3_DYNAMODB_LOG_STORE}"
#: The AWS SDK for Java v1's system property naming a regions file that replaces its built-in endpoints.
SDK_V1_REGIONS_FILE = "com.amazonaws.regions.RegionUtils.fileOverride"
_S3_SCHEMES = ("s3", "s3a")


def spark_conf(cfg: AppConfig, include_secrets: bool = True) -> dict[str, str]:
    """All Spark settings for a configuration, as strings.

    Args:
        cfg: the validated configuration.
        include_secrets: ``False`` replaces secret values with ``***`` (for display).

    Raises:
        ConfigError: ``lakehouse.log_store: s3-dynamodb`` that cannot work (:func:`check_log_store`).
        JarsError: local/standalone mode and the jar cache is incomplete.
    """
    check_log_store(cfg)
    spark = cfg.spark
    conf: dict[str, str] = {
        **DELTA_CONF,
        "spark.app.name": spark.app_name,
        "spark.sql.session.timeZone": "UTC",
        "spark.sql.shuffle.partitions": str(spark.shuffle_partitions),
        "spark.ui.enabled": str(spark.ui_enabled).lower(),
        "spark.sql.sources.partitionOverwriteMode": "dynamic",
        "spark.databricks.delta.schema.autoMerge.enabled": "false",
        # JDBC sources report VARCHAR(n) (SQLite even VARCHAR(0)); bronze keeps text as text
        # and must not inherit the source's length limits as Delta constraints.
        "spark.sql.legacy.charVarcharAsString": "true",
        # Spark 4's default; Spark 3.5 would otherwise fail on text no pattern matches.
        "spark.sql.legacy.timeParserPolicy": "CORRECTED",
        # Symlink manifests (Athena/Spectrum) cannot coexist with deletion vectors.
        "spark.databricks.delta.properties.defaults.enableDeletionVectors": "false",
        # Auto compaction ran an OPTIMIZE after every one-row ledger append (a table that had
        # it on as a property): small files are left to explicit maintenance instead.
        "spark.databricks.delta.autoCompact.enabled": "false",
    }
    if spark.platform in ("local", "standalone"):
        conf["spark.master"] = spark.master
        conf["spark.driver.memory"] = spark.driver_memory
        conf.update(jars_conf(spark.master, local_jars(cfg)))
        conf["spark.ui.showConsoleProgress"] = "false"
        # Python workers run the driver's interpreter (the venv's), not whatever `python3` is on PATH.
        conf["spark.pyspark.python"] = sys.executable
        # Delta's snapshot state uses 50 partitions by default: far too many for small tables.
        conf["spark.databricks.delta.snapshotPartitions"] = str(max(2, spark.shuffle_partitions))
    conf.update(_catalog_conf(cfg))
    catalog_java = conf.pop("spark.driver.extraJavaOptions", "")
    store = log_store_conf(cfg)
    store_java = store.pop("spark.driver.extraJavaOptions", "")
    conf.update(store)
    log4j = _log4j_option(spark.platform, spark.log_level)
    java_options = " ".join(opt for opt in (catalog_java, store_java, log4j) if opt)
    if java_options:
        conf["spark.driver.extraJavaOptions"] = java_options
    conf.update({f"spark.hadoop.{k}": v for k, v in s3a_settings(cfg, include_secrets).items()})
    # secret-looking keys hold ${ENV} values resolved at load, or Secrets Manager references fetched here
    conf.update(secrets.reveal_settings(spark.conf) if include_secrets else dict(spark.conf))
    return conf


def local_jars(cfg: AppConfig) -> list[Path]:
    """The cached Maven jars plus the package's own log reader jar (when built).

    Raises:
        JarsError: a jar of the line (or of the configured log store) is not cached.
    """
    line = jars.spark_line()
    paths = jars.cached_jars(jars_dir(cfg), line, cfg.lakehouse.log_store)
    reader = jars.reader_jar(line)
    return [*paths, reader] if reader.is_file() else paths


def jars_conf(master: str, paths: list[Path]) -> dict[str, str]:
    """Where the jars go: the driver JVM's own classpath in local mode, else ``spark.jars``.

    A ``local[*]`` master runs its executor inside the driver JVM, so the jars only need to be on
    that JVM's classpath (set when PySpark launches it). Given as ``spark.jars``, the local
    executor would fetch a copy of each from the driver's file server into ``spark.local.dir`` at
    every start (~700 MB with the AWS SDK bundle), left behind on disk by a killed process.
    A cluster's executors run in JVMs of their own and still get them through ``spark.jars``.

    Example:
        >>> jars_conf("local[2]", [Path("/j/a.jar"), Path("/j/b.jar")])
        {'spark.driver.extraClassPath': '/j/a.jar:/j/b.jar'}
        >>> jars_conf("spark://127.0.0.1:7077", [Path("/j/a.jar")])
        {'spark.jars': '/j/a.jar'}
    """
    if master.startswith("local"):
        return {"spark.driver.extraClassPath": os.pathsep.join(str(p) for p in paths)}
    return {"spark.jars": ",".join(str(p) for p in paths)}


def jar_list(conf: dict[str, str]) -> list[str]:
    """The jars a Spark configuration from :func:`spark_conf` adds, in order (none on EMR/Glue)."""
    if conf.get("spark.jars"):
        return conf["spark.jars"].split(",")
    classpath = conf.get("spark.driver.extraClassPath", "")
    return classpath.split(os.pathsep) if classpath else []


#: Levels at which nothing is silenced (log4j2-verbose.properties): what ``--debug`` sets.
VERBOSE_LEVELS = frozenset({"ALL", "TRACE", "DEBUG", "INFO"})


def _log4j_option(platform: str, level: str = "WARN") -> str:
    """The JVM option naming the package's log4j2 file: quiet (benign warnings silenced) or verbose."""
    if platform not in ("local", "standalone"):
        return ""
    name = "log4j2-verbose.properties" if level in VERBOSE_LEVELS else "log4j2.properties"
    # A real file for the JVM: extracted when the package is imported from a zip (--py-files).
    properties = package_data.real_path(package_data.resource("careplus_spark.platform", name))
    return f"-Dlog4j.configurationFile={properties.as_uri()}"


def jars_dir(cfg: AppConfig) -> Path:
    """The jar cache folder of a configuration."""
    return Path(cfg.spark.jars_dir).expanduser() if cfg.spark.jars_dir else jars.default_jars_dir()


def metastore_dir(cfg: AppConfig) -> Path:
    """Where the local Derby metastore lives: configured, or ``<root>/_catalog``.

    A lakehouse on S3 with a local metastore gets a folder per root under
    ``~/.cache/careplus/catalog`` unless one is configured. Each Spark line gets its own
    sub-folder (``spark-4.1``, ``spark-3.5``): their Derby versions cannot open each
    other's databases; a run on either line registers the tables it writes.
    """
    configured = cfg.lakehouse.catalog.metastore_dir
    if configured:
        base = Path(configured).expanduser().absolute()
    elif is_local_path(cfg.lakehouse.root):
        base = Path(cfg.lakehouse.root.removeprefix("file:")) / "_catalog"
    else:
        digest = hashlib.sha256(cfg.lakehouse.root.encode()).hexdigest()[:12]
        base = Path.home() / ".cache" / "careplus" / "catalog" / digest
    return base / f"spark-{jars.spark_line()}"


def _catalog_conf(cfg: AppConfig) -> dict[str, str]:
    kind = cfg.lakehouse.catalog.kind
    if kind == "in-memory":
        return {"spark.sql.catalogImplementation": "in-memory"}
    if kind == "glue":
        return {
            "spark.sql.catalogImplementation": "hive",
            "spark.hadoop.hive.metastore.client.factory.class": _GLUE_FACTORY,
        }
    folder = metastore_dir(cfg)
    return {
        "spark.sql.catalogImplementation": "hive",
        "spark.sql.warehouse.dir": str(folder / "warehouse"),
        "spark.hadoop.javax.jdo.option.ConnectionURL": (
            f"jdbc:derby:;databaseName={folder / 'metastore_db'};create=true"
        ),
        "spark.hadoop.datanucleus.schema.autoCreateAll": "true",
        "spark.hadoop.hive.metastore.schema.verification": "false",
        "spark.driver.extraJavaOptions": f"-Dderby.system.home={folder}",
    }


def check_log_store(cfg: AppConfig) -> None:
    """Refuses a ``lakehouse.log_store: s3-dynamodb`` that cannot work.

    Raises:
        ConfigError: the lakehouse root is not on S3 (the log store only serves ``s3://`` and
            ``s3a://``; local and HDFS roots have an atomic rename and need no DynamoDB), or
            ``lakehouse.dynamodb.endpoint`` is not ``https://host[:port]`` or is set on EMR or Glue.
    """
    lakehouse = cfg.lakehouse
    if lakehouse.log_store != jars.S3_DYNAMODB:
        return
    scheme = lakehouse.root.split("://", 1)[0].lower() if "://" in lakehouse.root else ""
    if scheme not in _S3_SCHEMES:
        raise ConfigError(
            f"lakehouse.log_store: s3-dynamodb coordinates commits to tables on S3, but lakehouse.root "
            f"{lakehouse.root!r} is not an s3:// or s3a:// URI; use lakehouse.log_store: default "
            "(a local or HDFS file system renames atomically, one writer at a time is already safe)"
        )
    endpoint = lakehouse.dynamodb.endpoint
    if not endpoint:
        return
    parts = urllib.parse.urlsplit(endpoint)
    if parts.scheme != "https" or not parts.hostname or parts.path not in ("", "/") or parts.query:
        raise ConfigError(
            f"lakehouse.dynamodb.endpoint {endpoint!r}: expected https://host[:port] (Delta's S3DynamoDBLogStore "
            "calls DynamoDB through the AWS SDK for Java v1, over HTTPS only); leave it empty for AWS itself"
        )
    if cfg.spark.platform not in ("local", "standalone"):
        raise ConfigError(
            f"lakehouse.dynamodb.endpoint is for local and standalone runs (an emulator); on "
            f"{cfg.spark.platform} leave it empty: the log store reaches DynamoDB in lakehouse.dynamodb.region"
        )


def log_store_conf(cfg: AppConfig) -> dict[str, str]:
    """Spark settings of ``lakehouse.log_store``: none for ``default``; Delta's S3DynamoDBLogStore else.

    The log store serves the ``s3`` and ``s3a`` schemes, with the DynamoDB table
    ``lakehouse.dynamodb.table`` in ``lakehouse.dynamodb.region`` (empty: ``s3.region``); Delta
    creates the table when it is missing. ``lakehouse.dynamodb.endpoint`` (emulators, local and
    standalone only) becomes a regions file for the driver's AWS SDK v1
    (``-Dcom.amazonaws.regions.RegionUtils.fileOverride``), the only way that SDK's
    DynamoDB client, built by Delta from a region name, can be pointed elsewhere.

    Raises:
        ConfigError: as :func:`check_log_store`.
    """
    check_log_store(cfg)
    if cfg.lakehouse.log_store != jars.S3_DYNAMODB:
        return {}
    ddb = cfg.lakehouse.dynamodb
    region = ddb.region or cfg.s3.region
    conf = {f"spark.delta.logStore.{scheme}.impl": S3_DYNAMODB_LOG_STORE for scheme in _S3_SCHEMES}
    conf[f"{DDB_CONF_PREFIX}.ddb.tableName"] = ddb.table
    conf[f"{DDB_CONF_PREFIX}.ddb.region"] = region
    if ddb.endpoint:
        regions = _sdk_v1_regions_file(region, urllib.parse.urlsplit(ddb.endpoint).netloc)
        conf["spark.driver.extraJavaOptions"] = f"-D{SDK_V1_REGIONS_FILE}={regions}"
    return conf


def _sdk_v1_regions_file(region: str, host: str) -> Path:
    """Writes (once) an AWS SDK v1 regions file: DynamoDB of ``region`` at ``host`` over HTTPS."""
    text = (
        '<?xml version="1.0" encoding="UTF-8"?>\n<XML><Regions><Region>'
        f"<Name>{_xml_text(region)}</Name><Endpoint><ServiceName>dynamodb</ServiceName>"
        f"<Http>false</Http><Https>true</Https><Hostname>{_xml_text(host)}</Hostname>"
        "</Endpoint></Region></Regions></XML>\n"
    )
    digest = hashlib.sha256(text.encode()).hexdigest()[:12]
    path = Path.home() / ".cache" / "careplus" / "dynamodb" / f"regions-{digest}.xml"
    if not path.is_file():
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f"{path.name}.{os.getpid()}.tmp")
        tmp.write_text(text, encoding="utf-8")
        tmp.replace(path)
    return path


def _xml_text(value: str) -> str:
    return value.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def s3a_settings(cfg: AppConfig, include_secrets: bool = True) -> dict[str, str]:
    """Hadoop ``fs.s3a.*`` settings for the configured endpoint and credentials.

    Empty on EMR and Glue, whose own S3 connectors and instance roles are used.
    """
    s3 = cfg.s3
    if cfg.spark.platform in ("emr", "glue"):
        return {}
    conf = {"fs.s3a.endpoint.region": s3.region}
    if s3.endpoint:
        conf.update(
            {
                "fs.s3a.endpoint": s3.endpoint,
                "fs.s3a.path.style.access": str(s3.path_style_access).lower(),
                "fs.s3a.connection.ssl.enabled": str(s3.ssl_enabled).lower(),
                # Fail fast on an unreachable endpoint instead of retrying for minutes.
                "fs.s3a.attempts.maximum": "3",
                "fs.s3a.retry.limit": "3",
                "fs.s3a.connection.establish.timeout": "5000",
                "fs.s3a.connection.timeout": "30000",
            }
        )
    if s3.access_key.is_set():
        conf.update(
            {
                "fs.s3a.aws.credentials.provider": "org.apache.hadoop.fs.s3a.SimpleAWSCredentialsProvider",
                "fs.s3a.access.key": s3.access_key.reveal() if include_secrets else "***",
                "fs.s3a.secret.key": s3.secret_key.reveal() if include_secrets else "***",
            }
        )
    return conf


def _submitted_jars() -> str:
    """The ``spark.jars`` of a driver JVM that ``spark-submit`` started (client mode), else ``""``.

    spark-submit starts the JVM first and runs this Python process against it
    (``PYSPARK_GATEWAY_PORT`` is set), its ``--jars`` being the system property ``spark.jars``.
    A builder's ``spark.jars`` would replace that list for the executors.
    """
    if not os.environ.get("PYSPARK_GATEWAY_PORT"):
        return ""
    from pyspark import SparkContext

    SparkContext._ensure_initialized()  # noqa: SLF001 - connects to spark-submit's JVM, as SparkContext() does
    jvm = SparkContext._jvm  # noqa: SLF001
    return str(jvm.java.lang.System.getProperty("spark.jars") or "") if jvm is not None else ""


def build_session(cfg: AppConfig, app_name: str | None = None) -> SparkSession:
    """Builds (or returns the running) SparkSession for a configuration.

    The lakehouse's databases and tables are attached by the caller
    (:func:`careplus_spark.lakehouse.catalog.attach`).

    Example:
        >>> spark = build_session(load_config("local"))  # doctest: +SKIP

    Raises:
        ConfigError: a log store that cannot work (:func:`check_log_store`).
        JarsError: local/standalone mode and the jar cache is incomplete.
    """
    from pyspark.sql import SparkSession

    conf = spark_conf(cfg)
    if app_name:
        conf["spark.app.name"] = app_name
    if "spark.jars" in conf and _submitted_jars():
        # spark-submit got the jars (spark-submit.sh passes the ones this builder computes in the
        # installed package): keep them. Imported from the --py-files zip, this module cannot see
        # the package's own log reader jar, and the executors would not get it.
        del conf["spark.jars"]
    if cfg.lakehouse.catalog.kind == "hive" and cfg.spark.platform in ("local", "standalone"):
        metastore_dir(cfg).mkdir(parents=True, exist_ok=True)
    _launch_without_secrets(conf)
    builder = SparkSession.builder
    for key, value in conf.items():
        builder = builder.config(key, value)
    if conf.get("spark.sql.catalogImplementation") == "hive":
        builder = builder.enableHiveSupport()
    session = builder.getOrCreate()
    session.sparkContext.setLogLevel(cfg.spark.log_level)
    return session


def _launch_without_secrets(conf: dict[str, str]) -> None:
    """Starts the JVM (unless one runs) with the non-secret settings only.

    PySpark turns every setting it has when it launches the JVM into ``--conf k=v`` on the
    spark-submit command line, readable by every local user in ``/proc/<pid>/cmdline``. The
    secret-looking ones (``fs.s3a.secret.key`` ...) are left to the builder: they reach the
    JVM over the Py4J socket when the SparkContext is created.
    """
    from pyspark import SparkConf, SparkContext

    public = [(k, v) for k, v in conf.items() if not secrets.looks_secret(k)]
    SparkContext._ensure_initialized(conf=SparkConf(loadDefaults=False).setAll(public))  # noqa: SLF001
