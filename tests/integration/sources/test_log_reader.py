"""The JVM log block reader on generated dirty files, at every split size, and on S3.

Every test reads files through Spark (the ``spark`` fixture, with the reader jar on its
classpath) and compares with ``tests/reference_log_parser.py`` or with hand-checked
expectations. Split sizes go down to one byte, so that split boundaries fall on every byte
of the delimiter lines and of the blocks. The hand-written samples: ``tests/unit/sources/``;
oversized blocks, bad bytes and gzip: ``test_log_reader_bytes.py``.
"""

from __future__ import annotations

import gzip
from pathlib import Path
from typing import Any

import pytest

from careplus_spark.sources.log_reader import (
    COLUMNS,
    block_counts,
    qualified_path,
    read_log_blocks,
    take_block_counts,
)
from tests.log_reader_support import (
    LOGS,
    Row,
    assert_same_rows,
    first_clean_block,
    generate_log,
    reader_rows,
    reference_rows,
)
from tests.reference_log_parser import parse_file


@pytest.fixture(scope="module")
def dirty_files(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """~7 MB of generated dirty logs: LF and CRLF variants (20,000 blocks each)."""
    folder = tmp_path_factory.mktemp("dirty-logs")
    data = generate_log(20_000, seed=7, final_delimiter=False, oversized=2)
    lf = folder / "dirty.log"
    lf.write_bytes(data)
    crlf = folder / "dirty-crlf.log"
    crlf.write_bytes(data.replace(b"\n", b"\r\n"))
    return {"lf": lf, "crlf": crlf}


@pytest.mark.parametrize("split", [None, 7, 64])
def test_dashes_inside_a_line_do_not_split_a_block(spark: Any, tmp_path: Path, split: int | None) -> None:
    """Only a line that is ``---`` ends a block; ``---`` inside a line is text.

    The garbage block is the one of the 10M-event benchmark data (seed 7, file
    ``app-2025-07-07-2.log``) where a naive ``text.split("---")`` finds one block more than
    the generator wrote: it cuts that block in two.
    """
    good = first_clean_block()
    dashed = good.replace(b'Message="', b'Message="a---b --- ', 1)
    garbage = (
        b"ORm+'$a+7-Ne\\b,Ck34K;s\n"
        b"o=P1Wd&$m6~Dss|S'!vWv) 'T)N+l;.j `ag---Xx_639 ]d hu\n"
        b"ka@c )4`p9)yjR X}@lDpRL4!<= 2K'~vjA}_-AVw4mpsUT:\n"
        b"PC us(q;*F( W=\"rl BaVlHiK`!cf/x@puIZ\n"
    )
    path = tmp_path / "dashes.log"
    path.write_bytes(good + b"---\n" + garbage + b"---\n" + dashed + b"---\n" + good + b"--- x\n" + good)
    rows = reader_rows(spark, [path], max_split_bytes=split)
    assert [r[-1] for r in rows] == [None, "garbage", None, "extra_line: expected 6 lines, found 13"]
    assert rows[1][2] == garbage.decode() and rows[2][COLUMNS.index("message")].startswith("a---b --- ")
    assert_same_rows(rows, reference_rows(spark, [path]))
    naive = [part for part in path.read_text(encoding="utf-8").split("---") if part.strip()]
    assert len(naive) == len(rows) + 4, "the naive split cuts the garbage block, the message and the '--- x' line"


# ---------------------------------------------------------------------- block counts --


def test_tasks_count_blocks_per_file_while_the_rows_are_consumed(spark: Any, dirty_files: dict[str, Path]) -> None:
    """``counts_key``: the tasks count blocks per file; the same figures as an aggregate."""
    paths = [str(dirty_files["lf"]), str(dirty_files["crlf"]), str(LOGS / "garbage.log"), str(LOGS / "empty.log")]
    df = read_log_blocks(spark, paths, max_split_bytes=65_536, counts_key="test-counts")
    df.write.format("noop").mode("overwrite").save()
    counted = take_block_counts(spark, "test-counts")
    aggregated = block_counts(read_log_blocks(spark, paths)).collect()
    expected = {r["source_file"]: (r["blocks"], r["malformed"]) for r in aggregated}
    assert counted == expected and len(counted) == 3, "an empty file has no chunk, hence no entry"
    assert take_block_counts(spark, "test-counts") is None, "taking the counts forgets the key"


def test_tasks_of_a_pruned_read_count_blocks_but_not_malformed_ones(spark: Any, dirty_files: dict[str, Path]) -> None:
    path = str(dirty_files["lf"])
    blocks = block_counts(read_log_blocks(spark, [path])).first()["blocks"]
    pruned = read_log_blocks(spark, [path], counts_key="test-pruned").select("offset")
    pruned.write.format("noop").mode("overwrite").save()
    assert take_block_counts(spark, "test-pruned") == {qualified_path(spark, path): (blocks, None)}


# ------------------------------------------------------------------- split boundaries --


@pytest.mark.smoke
@pytest.mark.parametrize("split", [1, 2, 3, 7, 64])
def test_every_byte_can_be_a_split_boundary(spark: Any, tmp_path: Path, split: int) -> None:
    """Splits of a few bytes put a boundary on every byte of every delimiter and block."""
    lf = tmp_path / "small.log"
    lf.write_bytes(
        b"\xef\xbb\xbf"
        + (LOGS / "spaces_around_delimiter.log").read_bytes()
        + (LOGS / "truncated.log").read_bytes()
        + b"\n---\n"
        + (LOGS / "missing_line.log").read_bytes()
    )
    crlf = tmp_path / "small-crlf.log"
    crlf.write_bytes(lf.read_bytes().replace(b"\n", b"\r\n"))
    paths = [lf, crlf]
    expected = reference_rows(spark, paths)
    assert len(expected) == 2 * 10
    assert_same_rows(reader_rows(spark, paths, max_split_bytes=split), expected)


@pytest.mark.parametrize("split", [65_536, 65_537, 1_000_003, None])
def test_generated_file_matches_the_reference_at_any_split_size(
    spark: Any, dirty_files: dict[str, Path], split: int | None
) -> None:
    path = dirty_files["lf"]
    expected = reference_rows(spark, [path])
    assert len(expected) > 20_000
    reasons = {r[-1].split(":")[0] for r in expected if r[-1]}
    assert reasons == {"garbage", "extra_line", "missing_line", "truncated", "bad_header", "bad_field", "oversized"}
    assert_same_rows(reader_rows(spark, [path], max_split_bytes=split), expected)


def verdicts(rows: list[Row]) -> list[str | None]:
    """Each row's parse error kind (the text before ``:``), None for a good block."""
    return [r[-1] and r[-1].split(":")[0] for r in rows]


@pytest.mark.parametrize("split", [65_536, 65_537])
def test_generated_crlf_file_matches_the_reference(spark: Any, dirty_files: dict[str, Path], split: int) -> None:
    path = dirty_files["crlf"]
    expected = reference_rows(spark, [path])
    actual = reader_rows(spark, [path], max_split_bytes=split)
    assert_same_rows(actual, expected)
    lf = reference_rows(spark, [dirty_files["lf"]])
    assert verdicts(actual) == verdicts(lf), "CRLF changes no verdict"


def test_column_pruning_gives_the_same_rows(spark: Any, dirty_files: dict[str, Path]) -> None:
    path = str(dirty_files["lf"])
    full = read_log_blocks(spark, [path], max_split_bytes=100_000)
    rows = {(r[0], r[1]): r for r in full.collect()}
    assert full.count() == len(rows)
    pruned = full.select("offset", "parse_error", "trace_id").collect()
    assert sorted((r[0], r[1], r[2]) for r in pruned) == sorted((k[1], v[-1], v[-2]) for k, v in rows.items())
    assert full.where("parse_error IS NULL").count() == sum(1 for r in rows.values() if r[-1] is None)
    assert full.select("raw").count() == len(rows)


def test_default_split_size_follows_spark_settings(spark: Any, dirty_files: dict[str, Path]) -> None:
    path = str(dirty_files["lf"])
    previous = spark.conf.get("spark.sql.files.maxPartitionBytes")
    try:
        spark.conf.set("spark.sql.files.maxPartitionBytes", str(512 * 1024))
        df = read_log_blocks(spark, [path])
        size = dirty_files["lf"].stat().st_size
        parts = df.rdd.getNumPartitions()
        assert parts >= size // (512 * 1024) and parts % spark.sparkContext.defaultParallelism == 0
        assert df.count() == len(parse_file(path))
    finally:
        spark.conf.set("spark.sql.files.maxPartitionBytes", previous)


# ------------------------------------------------------------------------------- s3a --


@pytest.mark.smoke
def test_reads_from_s3a(spark: Any, s3: Any, s3_bucket: str, tmp_path: Path) -> None:
    data = generate_log(1_500, seed=3, final_delimiter=False)
    local_plain = tmp_path / "s3-day.log"
    local_plain.write_bytes(data)
    local_gz = tmp_path / "s3-day.log.gz"
    local_gz.write_bytes(gzip.compress(data))
    client = s3.client()
    client.put_object(Bucket=s3_bucket, Key="logs/2025/07/01/app.log", Body=data)
    client.put_object(Bucket=s3_bucket, Key="logs/2025/07/01/app.log.gz", Body=local_gz.read_bytes())
    plain_uri = f"s3a://{s3_bucket}/logs/2025/07/01/app.log"
    gz_uri = f"s3a://{s3_bucket}/logs/2025/07/01/app.log.gz"

    rows = reader_rows(spark, [plain_uri, gz_uri], max_split_bytes=65_537)
    by_file: dict[str, list[Row]] = {}
    for r in rows:
        by_file.setdefault(r[0], []).append(r)
    assert set(by_file) == {plain_uri, gz_uri}
    expected = [b.row("") for b in parse_file(local_plain)]
    for uri in (plain_uri, gz_uri):
        assert_same_rows([("", *r[1:]) for r in by_file[uri]], expected)
