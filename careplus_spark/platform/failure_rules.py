"""Which unexpected exceptions mean what: an exit code and a hint by class (:data:`RULES`).

A rule matches the ``Class: message`` text of any exception of a chain (Python exceptions and
the Java ones inside a Py4J error); the first rule in :data:`RULES` order that matches any of
them wins, so the specific ones (a concurrent Delta writer, a full disk) come before the broad
ones (a connection problem). The exit codes are those of :mod:`careplus_spark.errors`: 3 jars,
4 source (a server, a file system) unavailable, 5 schema, 6 another writer / the run lock;
1 stays for the unknown.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import TypeVar

T = TypeVar("T")

#: The hint of an exception no rule knows.
UNKNOWN_HINT = "run with --debug to see the trace on the console, or read the trace file"


@dataclass(frozen=True)
class Rule:
    """Exceptions whose class or message matches ``pattern`` exit with ``exit_code`` and get ``hint``."""

    name: str
    pattern: re.Pattern[str]
    exit_code: int
    hint: Callable[[Mapping[str, str], str], str]


def _server_hint(places: Mapping[str, str], text: str) -> str:
    s3 = places.get("s3.endpoint") or "AWS S3"
    database = places.get("sources.tickets.url", "")
    if re.search(r"(?i)jdbc|mysql|mariadb|SQLException|CommunicationsException", text):
        server = f"the tickets database {database} (sources.tickets.url)"
    elif re.search(r"(?i)s3a|\bs3\b|amazonaws|awssdk", text):
        server = f"the S3 endpoint {s3} (s3.endpoint)"
    else:
        server = f"the S3 endpoint {s3} or the tickets database {database}"
    return (f"a server did not answer: {server}; start it or check the network and run again "
            "(the failed step committed nothing; finished steps are kept)")


def _disk_hint(places: Mapping[str, str], text: str) -> str:
    root = places.get("lakehouse.root", "lakehouse.root")
    return (f"no space left on device: free space on the file system of {root} (lakehouse.root) or of Spark's "
            "temp folder (spark.local.dir), then run again (the failed step committed nothing)")


RULES: tuple[Rule, ...] = (
    Rule("concurrent writer", re.compile(
        r"Concurrent(?:Append|DeleteRead|DeleteDelete|Transaction|Write)Exception|MetadataChangedException"
        r"|ProtocolChangedException|DeltaConcurrentModificationException"), 6,
        lambda p, t: "another writer changed the table; is another run active? "
                     "See the run lock (lakehouse.lock, careplus status)"),
    Rule("disk full", re.compile(r"(?i)no space left on device|ENOSPC|DiskSpace"), 4, _disk_hint),
    Rule("out of memory", re.compile(r"OutOfMemoryError|Java heap space|GC overhead limit|\bMemoryError\b"), 1,
         lambda p, t: f"the JVM ran out of memory: raise spark.driver_memory "
                      f"(now {p.get('spark.driver_memory', '?')}) or process less per run"),
    Rule("permission denied", re.compile(
        r"AccessDenied|PermissionError|Permission denied|403 Forbidden|InvalidAccessKeyId|SignatureDoesNotMatch"),
        4, lambda p, t: f"permission denied: check who may read and write lakehouse.root "
                        f"({p.get('lakehouse.root', '?')}), sources.logs.path and the credentials (s3.access_key, "
                        "the IAM role)"),
    Rule("server unreachable", re.compile(
        r"ConnectException|Connection refused|UnknownHostException|NoRouteToHost|SocketTimeoutException"
        r"|ConnectTimeoutException|Unable to execute HTTP request|CommunicationsException"
        r"|Communications link failure|SQLNonTransientConnectionException|ConnectionRefusedError"
        r"|ConnectionResetError|Connection reset|AWSClientIOException|SdkClientException"), 4, _server_hint),
    Rule("missing file", re.compile(
        r"FileNotFoundException|NoSuchFileException|FileNotFoundError|PATH_NOT_FOUND|NoSuchBucket|NoSuchKey"),
        4, lambda p, t: f"a file or folder is missing: check lakehouse.root ({p.get('lakehouse.root', '?')}) "
                        f"and sources.logs.path ({p.get('sources.logs.path', '?')})"),
    Rule("missing JVM class", re.compile(r"ClassNotFoundException|NoClassDefFoundError|UnsatisfiedLinkError"), 3,
         lambda p, t: "a JVM class is missing: run careplus setup, check spark.jars and the cluster's jars"),
    Rule("schema", re.compile(r"UNRESOLVED_COLUMN|DELTA_FAILED_TO_MERGE_FIELDS|DELTA_METADATA_MISMATCH"
                              r"|SchemaMismatch|DELTA_SCHEMA_CHANGED"), 5,
         lambda p, t: "a table's schema is not what this version expects: compare it with DESCRIBE "
                      "(careplus sql) and the release notes"),
)


def classify(found: Sequence[T]) -> tuple[Rule | None, T | None]:
    """The first rule (in :data:`RULES` order) matching any headline, and that headline."""
    for rule in RULES:
        for headline in found:
            if rule.pattern.search(str(headline)):
                return rule, headline
    return None, None
