"""A Delta table's ``_delta_log`` read directly through Hadoop's file system (object stores too).

No Spark job and no snapshot: the commit files are listed and read as text. Used to find a
commit by its ``userMetadata`` (:func:`careplus_spark.lakehouse.delta.own_commit`) and to count
a step's commits and files (:mod:`careplus_spark.pipeline.profile`).
"""

from __future__ import annotations

import json
import os
import re
from typing import TYPE_CHECKING, Any

from careplus_spark.platform.config import is_local_path

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

_COMMIT_FILE = re.compile(r"(\d{20})\.json")


def _local(path: str) -> str | None:
    """The local ``_delta_log`` folder of a table path without a scheme (or ``file:``); None otherwise."""
    if not is_local_path(path):
        return None
    return os.path.join(path.removeprefix("file://").removeprefix("file:"), "_delta_log")


def _log_dir(spark: SparkSession, path: str) -> tuple[Any, Any]:
    jvm: Any = spark._jvm
    log_dir = jvm.org.apache.hadoop.fs.Path(f"{path}/_delta_log")
    return log_dir, log_dir.getFileSystem(spark._jsc.hadoopConfiguration())  # type: ignore[union-attr]


def versions(spark: SparkSession, path: str) -> list[int]:
    """The versions whose commit files are in the table's log (empty when there is no log).

    A local table's log is listed by Python (one call instead of one Py4J call per file).
    """
    local = _local(path)
    if local is not None:
        names = os.listdir(local) if os.path.isdir(local) else []
        return sorted(int(m.group(1)) for m in map(_COMMIT_FILE.fullmatch, names) if m)
    log_dir, fs = _log_dir(spark, path)
    if not fs.exists(log_dir):
        return []
    found = (_COMMIT_FILE.fullmatch(str(status.getPath().getName())) for status in fs.listStatus(log_dir))
    return sorted(int(match.group(1)) for match in found if match)


def actions(spark: SparkSession, path: str, version: int) -> list[dict[str, Any]] | None:
    """The actions of commit ``version`` (``commitInfo``, ``add``, ``remove``, ...); None when absent.

    Example:
        >>> [next(iter(a)) for a in actions(spark, path, 0)]  # doctest: +SKIP
        ['commitInfo', 'metaData', 'protocol', 'add']
    """
    text = _read(spark, path, f"{version:020d}.json")
    return None if text is None else [json.loads(line) for line in text.splitlines() if line.strip()]


def checksum(spark: SparkSession, path: str, version: int) -> dict[str, Any] | None:
    """The checksum file of ``version`` (``<version>.crc``: the table's metadata, protocol, file
    count and size as of that version); None when Delta wrote none (or it is gone)."""
    text = _read(spark, path, f"{version:020d}.crc")
    try:
        parsed = json.loads(text) if text is not None else None
    except ValueError:
        return None
    return parsed if isinstance(parsed, dict) else None


def newest_metadata(spark: SparkSession, path: str) -> tuple[int, dict[str, Any], dict[str, Any]] | None:
    """(version, checksum, metadata) of the newest commit from its checksum file; None when the log,
    the checksum or its ``metadata`` is missing (the caller asks Delta instead)."""
    found = versions(spark, path)
    crc = checksum(spark, path, found[-1]) if found else None
    metadata = (crc or {}).get("metadata")
    if crc is None or not isinstance(metadata, dict) or "id" not in metadata:
        return None
    return found[-1], crc, metadata


def properties(metadata: dict[str, Any]) -> dict[str, str]:
    """The table properties of a ``metaData`` action (its ``configuration``).

    Example:
        >>> properties({"configuration": {"delta.enableChangeDataFeed": "true"}})
        {'delta.enableChangeDataFeed': 'true'}
    """
    return {str(k): str(v) for k, v in (metadata.get("configuration") or {}).items()}


def _read(spark: SparkSession, path: str, name: str) -> str | None:
    """The text of ``_delta_log/<name>``; None when there is no such file."""
    jvm: Any = spark._jvm
    log_dir, fs = _log_dir(spark, path)
    entry = jvm.org.apache.hadoop.fs.Path(log_dir, name)
    if not fs.exists(entry):
        return None
    stream = fs.open(entry)
    try:
        return str(jvm.org.apache.commons.io.IOUtils.toString(stream, "UTF-8"))
    finally:
        stream.close()
