"""The raw application logs as rows: one row per 6-line block, parsed in the JVM.

The files are read by a Spark data source written in Java (``jvm/``, class
``com.careplus.logs.LogBlocksSource``, short name ``careplus-logs``), shipped as
``careplus_spark/jvm/careplus-logreader-<spark line>.jar`` and put on ``spark.jars`` by the
session builder. It splits plain files at any byte (a block straddling a split boundary is
read once, by the split holding the start of the ``---`` line before it), decompresses
``.gz`` files through Hadoop's codecs (one task per file), and cuts and parses each block
in one pass over its bytes: no Python code runs per record.

Every block comes back, well-formed or not. A malformed block has its fields null and
``parse_error`` set to a reason code with detail:

=====================  ======================================================
``garbage``            no line looks like any of the six line kinds
``extra_line: ...``    more than six lines (``expected 6 lines, found 7``)
``missing_line: ...``  fewer than six lines
``truncated: ...``     fewer than six lines, the last one cut short
``bad_header: ...``    line 1 (``timestamp``, ``level``, ``TicketID``, ``SessionID``)
``bad_field: ...``     lines 2-6 (``ResponseTime``, ``UserAgent``, ``TraceID``, ...)
``oversized: ...``     larger than ``max_block_bytes`` (``raw`` holds its first bytes)
``corrupt_input: ...`` a compressed file that cannot be decoded to its end
=====================  ======================================================

Text rules: lines end with LF, a CR before it is dropped; a line that is ``---`` once
spaces/tabs around it are removed ends a block; blank lines around a block are not part of
it and an all-blank block is no block (so an empty file gives no row); a UTF-8 BOM at the
start of a file is skipped; invalid UTF-8 is replaced by U+FFFD. Values are kept as
written (without the trailing spaces of their line); the parser checks structure, not
values. ``tests/reference_log_parser.py`` implements the same rules in plain Python.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from careplus_spark.errors import JarsError
from careplus_spark.platform import classpath, jars

if TYPE_CHECKING:
    from pyspark.sql import DataFrame, SparkSession
    from pyspark.sql.types import StructType

#: Class of the Java data source (``spark.read.format`` also accepts ``careplus-logs``).
SOURCE_CLASS = "com.careplus.logs.LogBlocksSource"

#: The parsed fields, in column order (all strings, null for a malformed block).
FIELD_COLUMNS: tuple[str, ...] = (
    "ts",
    "level",
    "service",
    "ticket_id",
    "session_id",
    "ip",
    "response_time",
    "cpu",
    "event_type",
    "error",
    "user_agent",
    "message",
    "debug",
    "trace_id",
)

#: Every column of :func:`read_log_blocks`, in order.
COLUMNS: tuple[str, ...] = ("source_file", "offset", "raw", *FIELD_COLUMNS, "parse_error")

DEFAULT_MAX_BLOCK_BYTES = 65536

#: How a local or standalone run gets the reader (for the missing-class error).
READER_SETUP = (
    "run `careplus setup` once: it builds {jar} with Maven (jvm/pom.xml) into careplus_spark/jvm/, "
    "which the session builder puts on spark.jars"
)

#: Maven profile per Spark line.
_PROFILES = {"4.1": "spark41", "3.5": "spark35"}
_BUILD_TIMEOUT_S = 900


def reader_jar(line: str) -> Path:
    """Where the built reader jar of a Spark line lives inside the package.

    Args:
        line: the Spark line, ``"4.1"`` or ``"3.5"``.

    Returns:
        ``careplus_spark/jvm/careplus-logreader-<line>.jar`` (it may not exist yet: see
        :func:`build_reader_jar`).
    """
    _check_line(line)
    return Path(__file__).resolve().parent.parent / "jvm" / f"careplus-logreader-{line}.jar"


def build_reader_jar(line: str, timeout_s: float = _BUILD_TIMEOUT_S) -> Path:
    """Builds the reader jar of a Spark line with Maven and copies it into the package.

    Runs ``mvn -q -f <repo>/jvm/pom.xml -P spark<line without dot> package -DskipTests``
    (Maven fetches Spark and Hadoop from Maven Central the first time, as "provided"
    dependencies: the jar only holds the reader's own classes).

    Args:
        line: the Spark line, ``"4.1"`` or ``"3.5"``.
        timeout_s: the longest the Maven run may take.

    Returns:
        The path of :func:`reader_jar` for the line.

    Raises:
        JarsError: not a source checkout (no ``jvm/pom.xml``), Maven is missing, or the
            build failed or timed out (the message carries Maven's output).
    """
    _check_line(line)
    pom = Path(__file__).resolve().parents[2] / "jvm" / "pom.xml"
    if not pom.is_file():
        raise JarsError(f"cannot build the log reader jar: {pom} not found (building needs a source checkout)")
    mvn = shutil.which("mvn")
    if mvn is None:
        raise JarsError("cannot build the log reader jar: Maven (`mvn`) is not on PATH; install Maven 3.8+ and Java 17")
    command = [mvn, "-q", "-B", "-f", str(pom), "-P", _PROFILES[line], "package", "-DskipTests"]
    try:
        done = subprocess.run(command, capture_output=True, text=True, timeout=timeout_s, check=False)
    except subprocess.TimeoutExpired as exc:
        raise JarsError(f"building the log reader jar took longer than {timeout_s:.0f} s: {' '.join(command)}") from exc
    if done.returncode != 0:
        output = (done.stdout + done.stderr).strip()[-4000:]
        raise JarsError(f"building the log reader jar failed ({' '.join(command)}, exit {done.returncode}):\n{output}")
    built = pom.parent / "target" / f"spark{line}" / f"careplus-logreader-{line}.jar"
    if not built.is_file():
        raise JarsError(f"Maven succeeded but {built} is missing")
    target = reader_jar(line)
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(target.name + ".tmp")
    shutil.copyfile(built, tmp)
    tmp.replace(target)
    return target


def read_log_blocks(
    spark: SparkSession,
    paths: Sequence[str],
    max_split_bytes: int | None = None,
    max_block_bytes: int = DEFAULT_MAX_BLOCK_BYTES,
    counts_key: str | None = None,
) -> DataFrame:
    """Reads log files as one row per block (good or malformed); see the module doc.

    Columns: ``source_file`` (fully qualified path), ``offset`` (byte offset of the block's
    first byte in the decompressed stream), ``raw`` (the block text), the string fields of
    :data:`FIELD_COLUMNS` (null when malformed) and ``parse_error`` (null when good).
    Unused columns are not built (the source supports column pruning).

    Example:
        >>> df = read_log_blocks(spark, ["/data/logs/app-2025-07-01.log", "s3a://b/k.log.gz"])
        >>> good, bad = df.where("parse_error IS NULL"), df.where("parse_error IS NOT NULL")

    Args:
        spark: a session with the reader jar on its classpath.
        paths: log FILES (local paths, ``file:`` or ``s3a://`` URIs); ``.gz`` is decompressed.
        max_split_bytes: split size of plain files; ``None`` derives it from
            ``spark.sql.files.maxPartitionBytes`` (128 MB), evened out over the cores.
        max_block_bytes: blocks larger than this are returned as ``oversized``.
        counts_key: when given, the tasks that read the rows also count blocks per file,
            for :func:`take_block_counts` with the same key after the action (e.g. the
            write) that consumed them; a key is for one action.

    Returns:
        The blocks as a DataFrame of the columns in :data:`COLUMNS`.

    Raises:
        ValueError: a size is not a positive integer.
        JarsError: the reader jar is not on the session's classpath (checked first, before
            any file is read: see :func:`require_reader`).
    """
    for name, value in (("max_split_bytes", max_split_bytes), ("max_block_bytes", max_block_bytes)):
        if value is not None and (isinstance(value, bool) or not isinstance(value, int) or value <= 0):
            raise ValueError(f"{name} must be a positive integer, found {value!r}")
    if isinstance(paths, str):
        raise ValueError("paths must be a sequence of file paths, found a single string")
    require_reader(spark, SOURCE_CLASS)
    files = [str(p) for p in paths]
    if not files:
        return spark.createDataFrame([], schema=log_blocks_schema())
    reader = (
        spark.read.format(SOURCE_CLASS)
        .option("paths", json.dumps(files))
        .option("maxBlockBytes", str(max_block_bytes))
    )
    if max_split_bytes is not None:
        reader = reader.option("maxSplitBytes", str(max_split_bytes))
    if counts_key is not None:
        reader = reader.option("countsKey", counts_key)
    return reader.load()


def require_reader(spark: SparkSession, source_class: str = SOURCE_CLASS) -> None:
    """Fails unless the driver can load the reader's class (checked once per SparkContext).

    :func:`read_log_blocks` calls it before reading; it probes the class loader Spark's data
    source lookup uses (:func:`careplus_spark.platform.classpath.require_class`).

    Args:
        spark: the session that will read.
        source_class: the reader's class (:data:`SOURCE_CLASS`).

    Raises:
        JarsError: the class cannot be loaded; the message names it, the jar
            (``careplus-logreader-<line>.jar``) and how to provide it on each platform.
    """
    classpath.require_class(
        spark,
        source_class,
        jar=reader_jar(jars.spark_line()).name,
        what="the JVM log reader (needed by ingest_logs)",
        local_setup=READER_SETUP,
    )


def take_block_counts(spark: SparkSession, key: str) -> dict[str, tuple[int, int | None]] | None:
    """Blocks and malformed blocks per file counted by the tasks of a read with ``counts_key``.

    The reader's tasks count the blocks of every chunk they read to its end and Spark
    gathers the counts of successful task attempts on the driver (an accumulator): no pass
    over the rows is needed. A plan executed twice counts twice: check the total against
    the rows the action wrote (see ``bronze.logs``). Calling it forgets the key.

    Returns:
        ``{source_file: (blocks, malformed)}`` for the files that gave a block or an empty
        read (``malformed`` is None when ``parse_error`` was not read); files without a
        chunk (empty files) are missing. None when no read with the key was executed.
    """
    jvm = spark._jvm  # noqa: SLF001 - py4j gateway to the reader's classes
    if jvm is None:
        raise RuntimeError("take_block_counts needs a classic (non-Connect) Spark session")
    text = jvm.com.careplus.logs.BlockCounts.take(key)
    if text is None:
        return None
    counts: dict[str, tuple[int, int | None]] = {}
    try:
        for line in str(text).split("\n")[:-1]:
            blocks, malformed, path = line.split("\t", 2)
            counts[path] = (int(blocks), None if int(malformed) < 0 else int(malformed))
    except ValueError:  # a path with a line break in its name: count from the data instead
        return None
    return counts


def log_blocks_schema() -> StructType:
    """The schema of :func:`read_log_blocks` (the same as the Java source's)."""
    from pyspark.sql.types import LongType, StringType, StructField, StructType

    return StructType(
        [
            StructField("source_file", StringType(), False),
            StructField("offset", LongType(), False),
            StructField("raw", StringType(), False),
            *(StructField(name, StringType(), True) for name in FIELD_COLUMNS),
            StructField("parse_error", StringType(), True),
        ]
    )


def qualified_path(spark: SparkSession, path: str) -> str:
    """A path as the reader reports it in ``source_file`` (Hadoop's fully qualified form)."""
    jvm = spark._jvm  # noqa: SLF001 - py4j gateway, the only way to Hadoop's FileSystem
    if jvm is None:
        raise RuntimeError("qualified_path needs a classic (non-Connect) Spark session")
    jpath = jvm.org.apache.hadoop.fs.Path(path)
    fs = jpath.getFileSystem(spark._jsc.hadoopConfiguration())  # noqa: SLF001
    return str(fs.makeQualified(jpath).toString())


def block_counts(df: DataFrame, paths: Sequence[str] | None = None) -> DataFrame:
    """Blocks per file: ``source_file, blocks, parsed, malformed`` (``blocks = parsed + malformed``).

    Args:
        df: rows of :func:`read_log_blocks` (``source_file`` and ``parse_error`` are used).
        paths: when given, files that gave no block (e.g. empty files) are listed too,
            with zero counts.
    """
    from pyspark.sql import functions as F

    counts = df.groupBy("source_file").agg(
        F.count(F.lit(1)).alias("blocks"),
        F.count(F.when(F.col("parse_error").isNull(), 1)).alias("parsed"),
        F.count(F.when(F.col("parse_error").isNotNull(), 1)).alias("malformed"),
    )
    if paths is None:
        return counts
    spark = df.sparkSession
    listed = spark.createDataFrame(
        [(qualified_path(spark, p),) for p in dict.fromkeys(paths)], schema="source_file string"
    )
    return (
        listed.join(counts, "source_file", "full_outer")
        .select(
            "source_file",
            *(F.coalesce(F.col(c), F.lit(0)).cast("long").alias(c) for c in ("blocks", "parsed", "malformed")),
        )
    )


def _check_line(line: str) -> None:
    if line not in _PROFILES:
        raise JarsError(f"unknown Spark line {line!r}: expected one of {sorted(_PROFILES)}")
