"""Which listed log files a run reads, and which ledger files vanished (no Spark)."""

from __future__ import annotations

from careplus_spark.sources.file_ledger import INGESTED, MISSING, LedgerEntry, select, vanished
from careplus_spark.sources.files import SourceFile

A = SourceFile("file:/logs/a.log", 10, 1000, "sha256:aa")
B = SourceFile("file:/logs/b.log", 20, 2000, "sha256:bb")


def entry(file: SourceFile, status: str = INGESTED, checksum: str | None = None) -> LedgerEntry:
    digest = checksum if checksum is not None else file.checksum
    return LedgerEntry(file.path, file.size, file.modified_ms, status, digest)


def test_mtime_size_ignores_a_different_checksum() -> None:
    selection = select([A], {A.path: entry(A, checksum="sha256:old")})
    assert selection.unchanged == (A,) and selection.changed == ()


def test_checksum_reads_a_file_whose_digest_changed_with_the_same_size_and_mtime() -> None:
    known = {A.path: entry(A, checksum="sha256:old"), B.path: entry(B)}
    selection = select([A, B], known, by_checksum=True)
    assert selection.changed == (A,) and selection.unchanged == (B,)


def test_checksum_reads_a_file_recorded_without_a_digest_once() -> None:
    known = {A.path: LedgerEntry(A.path, A.size, A.modified_ms, INGESTED, None)}
    assert select([A], known, by_checksum=True).changed == (A,)


def test_a_missing_file_that_comes_back_is_read_again() -> None:
    assert select([A], {A.path: entry(A, MISSING)}).changed == (A,)


def test_vanished_lists_every_unlisted_file_and_the_newly_missing_ones() -> None:
    c = SourceFile("file:/logs/c.log", 1, 1)
    known = {A.path: entry(A), B.path: entry(B), c.path: entry(c, MISSING)}
    assert vanished([A], known) == ([B.path, c.path], [B.path])
    assert vanished([A, B, c], known) == ([], [])
