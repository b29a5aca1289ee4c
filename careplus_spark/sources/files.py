"""Listing source files through Hadoop's FileSystem (local paths, file: and s3a: alike).

With ``checksum=True`` every listed file also gets a content digest
(``sources.logs.change_detection: checksum``), computed where the files are listed:

- ``md5:<hex>``: an object whose listing carries a single-part S3 ETag (32 hex digits:
  the MD5 of its bytes for objects stored unencrypted or with SSE-S3; with SSE-KMS an
  opaque value that still changes whenever the object is written), taken from the
  listing without reading the object;
- ``sha256:<hex>``: any other file (local, HDFS, a multipart upload, an object without an
  ETag), its bytes streamed once through SHA-256 in the JVM, a few files at a time
  (:data:`DIGEST_THREADS`), with a buffer's worth of memory per file.

A digest is compared only with the digest the ledger recorded for the same path; the
prefix names the algorithm, so a file whose kind of digest changed counts as changed.
"""

from __future__ import annotations

import fnmatch
import re
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

from careplus_spark.errors import SourceUnavailableError

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

#: Files digested at once (each a py4j call streaming one file in the JVM): overlaps the
#: latency of object-store reads; local files are bound by the disk and the CPU anyway.
DIGEST_THREADS = 4
#: A single-part S3 ETag: the hex MD5 of the object (a multipart one ends in ``-<parts>``).
_MD5_ETAG = re.compile(r"^[0-9a-f]{32}$")


@dataclass(frozen=True)
class SourceFile:
    """One file as the file system reports it; ``checksum`` only when digests were asked for."""

    path: str
    size: int
    modified_ms: int
    checksum: str | None = None


def list_files(
    spark: SparkSession, root: str, pattern: str = "*", limit: int = 1_000_000, *, checksum: bool = False
) -> list[SourceFile]:
    """All files below ``root`` (recursively) whose name matches ``pattern``, sorted by path.

    Hidden files and folders (``.x``, ``_x``) are skipped, as Spark does.

    Example:
        >>> list_files(spark, "s3a://bucket/logs", "*.log*", checksum=True)[0].checksum  # doctest: +SKIP
        'md5:9e107d9d372bb6826bd81d3542a419d6'

    Args:
        checksum: also compute each file's content digest (see the module doc).

    Raises:
        SourceUnavailableError: the root does not exist, its file system is unreachable or
            a file cannot be read for its digest.
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
            etag = _md5_etag(status) if checksum else None
            found.append(SourceFile(file_path.toString(), int(status.getLen()), int(status.getModificationTime()),
                                    f"md5:{etag}" if etag else None))
    except SourceUnavailableError:
        raise
    except Exception as exc:  # noqa: BLE001 - py4j wraps every Java failure
        raise SourceUnavailableError(f"cannot list {root}: {str(exc).splitlines()[0][:300]}") from None
    found.sort(key=lambda f: f.path)
    return with_digests(spark, found) if checksum else found


def with_digests(spark: SparkSession, files: list[SourceFile]) -> list[SourceFile]:
    """``files`` with a ``sha256:`` digest of their bytes where they have no digest yet.

    Raises:
        SourceUnavailableError: a file cannot be opened or read to its end.
    """
    todo = [f for f in files if f.checksum is None]
    if not todo:
        return files
    with ThreadPoolExecutor(max_workers=min(DIGEST_THREADS, len(todo))) as pool:
        digests = dict(zip((f.path for f in todo), pool.map(lambda f: sha256_of(spark, f.path), todo), strict=True))
    return [f if f.checksum is not None else replace(f, checksum=digests[f.path]) for f in files]


def sha256_of(spark: SparkSession, path: str) -> str:
    """``sha256:<hex>`` of the bytes of the file at ``path`` (streamed in the JVM).

    Raises:
        SourceUnavailableError: the file cannot be opened or read to its end.
    """
    jvm: Any = spark._jvm  # noqa: SLF001 - Hadoop's FileSystem is only reachable through py4j
    hadoop_path = jvm.org.apache.hadoop.fs.Path(path)
    try:
        stream = hadoop_path.getFileSystem(spark._jsc.hadoopConfiguration()).open(hadoop_path)  # noqa: SLF001
        try:
            return "sha256:" + str(jvm.org.apache.commons.codec.digest.DigestUtils.sha256Hex(stream))
        finally:
            stream.close()
    except Exception as exc:  # noqa: BLE001 - py4j wraps every Java failure
        raise SourceUnavailableError(
            f"cannot read {path} for its checksum: {str(exc).splitlines()[0][:300]}; "
            "hint: the file vanished or is unreadable while the run listed it; run again"
        ) from None


def _md5_etag(status: Any) -> str | None:
    """The status's single-part S3 ETag (an MD5), or None (not an object store, multipart, none)."""
    if status.getPath().toUri().getScheme() not in ("s3a", "s3"):
        return None
    try:
        etag = str(status.getEtag() or "").strip('"').lower()  # S3A's statuses are EtagSources
    except Exception:  # noqa: BLE001 - a status class without getEtag (older Hadoop)
        return None
    return etag if _MD5_ETAG.match(etag) else None


def _hidden(path: str, root: str) -> bool:
    relative = path.split(root.rstrip("/").split("://")[-1], 1)[-1]
    return any(part.startswith((".", "_")) for part in relative.split("/") if part)
