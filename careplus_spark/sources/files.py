"""Listing source files through Hadoop's FileSystem (local paths, file: and s3a: alike)."""

from __future__ import annotations

import fnmatch
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from careplus_spark.errors import SourceUnavailableError

if TYPE_CHECKING:
    from pyspark.sql import SparkSession


@dataclass(frozen=True)
class SourceFile:
    """One file as the file system reports it."""

    path: str
    size: int
    modified_ms: int


def list_files(spark: SparkSession, root: str, pattern: str = "*", limit: int = 1_000_000) -> list[SourceFile]:
    """All files below ``root`` (recursively) whose name matches ``pattern``, sorted by path.

    Hidden files and folders (``.x``, ``_x``) are skipped, as Spark does.

    Raises:
        SourceUnavailableError: the root does not exist or its file system is unreachable.
    """
    jvm: Any = spark._jvm  # noqa: SLF001 - Hadoop's FileSystem is only reachable through py4j
    hadoop_conf = spark._jsc.hadoopConfiguration()  # noqa: SLF001
    path = jvm.org.apache.hadoop.fs.Path(root)
    try:
        fs = path.getFileSystem(hadoop_conf)
        if not fs.exists(path):
            raise SourceUnavailableError(f"log source {root} does not exist")
        iterator = fs.listFiles(path, True)
        found: list[SourceFile] = []
        while iterator.hasNext() and len(found) < limit:
            status = iterator.next()
            file_path = status.getPath()
            if _hidden(file_path.toString(), root) or not fnmatch.fnmatch(file_path.getName(), pattern):
                continue
            found.append(SourceFile(file_path.toString(), int(status.getLen()), int(status.getModificationTime())))
    except SourceUnavailableError:
        raise
    except Exception as exc:  # noqa: BLE001 - py4j wraps every Java failure
        raise SourceUnavailableError(f"cannot list {root}: {str(exc).splitlines()[0][:300]}") from None
    return sorted(found, key=lambda f: f.path)


def _hidden(path: str, root: str) -> bool:
    relative = path.split(root.rstrip("/").split("://")[-1], 1)[-1]
    return any(part.startswith((".", "_")) for part in relative.split("/") if part)
