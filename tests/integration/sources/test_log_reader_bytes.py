"""The JVM log block reader on hard bytes: oversized blocks and lines, invalid UTF-8, fuzz, gzip.

Every test writes a file, reads it through Spark and compares with
``tests/reference_log_parser.py`` or with hand-checked expectations.
"""

from __future__ import annotations

import gzip
import random
from pathlib import Path
from typing import Any

import pytest

from careplus_spark.sources.log_reader import COLUMNS
from tests.log_reader_support import (
    assert_same_rows,
    block_text,
    first_clean_block,
    generate_log,
    reader_rows,
    reference_rows,
)

# --------------------------------------------------------------------- oversized blocks --


def test_oversized_block_is_flagged_with_its_size(spark: Any, tmp_path: Path) -> None:
    path = tmp_path / "big.log"
    good = first_clean_block()
    big = good.replace(b'Message="', b'Message="' + "é".encode() * 3000, 1)
    path.write_bytes(good + b"---\n" + big + b"---\n" + good)
    limit = big.index("é".encode()) + 701  # cuts an "é" in two
    rows = reader_rows(spark, [path], max_block_bytes=limit)
    assert [r[-1] for r in rows] == [None, f"oversized: {len(big)} bytes > {limit}", None]
    raw = rows[1][2]
    assert raw.endswith("\ufffd") and raw[:-1].encode() == big[: limit - 1], "raw keeps the first bytes"
    assert_same_rows(rows, reference_rows(spark, [path], max_block_bytes=limit))


@pytest.mark.parametrize("split", [65_536, 1_000_000, None])
def test_huge_lines_are_scanned_without_being_kept(spark: Any, tmp_path: Path, split: int | None) -> None:
    """A 3 MB line with no newline (garbage), a 2 MB blank line and a 2 MB ``---`` line."""
    good = first_clean_block()
    path = tmp_path / "huge.log"
    path.write_bytes(
        good + b"---\n" + b"x" * 3_000_000 + b"\n---\n" + b" " * 2_000_000 + b"\n" + good
        + b"---" + b" " * 2_000_000 + b"\n" + good
    )
    rows = reader_rows(spark, [path], max_split_bytes=split)
    assert [r[-1] for r in rows] == [None, "oversized: 3000001 bytes > 65536", None, None]
    assert rows[1][2] == "x" * 65536
    assert_same_rows(rows, reference_rows(spark, [path]))


def test_large_block_limit_grows_the_buffer(spark: Any, tmp_path: Path) -> None:
    """A limit above the 1 MB read buffer: a 3 MB block is kept whole (and is garbage)."""
    good = first_clean_block()
    path = tmp_path / "large.log"
    path.write_bytes(good + b"---\n" + b"y" * 3_000_000 + b"\n---\n" + good)
    rows = reader_rows(spark, [path], max_split_bytes=500_000, max_block_bytes=4_000_000)
    assert [r[-1] for r in rows] == [None, "garbage", None]
    assert rows[1][2] == "y" * 3_000_000 + "\n"
    assert_same_rows(rows, reference_rows(spark, [path], max_block_bytes=4_000_000))


# ------------------------------------------------------------------------- bad bytes --


def test_invalid_utf8_becomes_replacement_characters(spark: Any, tmp_path: Path) -> None:
    good = first_clean_block()
    path = tmp_path / "bad-utf8.log"
    path.write_bytes(
        good.replace(b'Message="', b'Message="\xff\xfe ok \xe2\x82 \xc0\xaf \xed\xa0\x80 \xf4\x90\x80\x80', 1)
        + b"---\n" + good + b"\xe2\x82"
    )
    rows = reader_rows(spark, [path])
    assert rows[0][-1] is None and "\ufffd" in rows[0][COLUMNS.index("message")]
    assert rows[1][-1] == "garbage" or rows[1][-1].startswith("extra_line")
    assert_same_rows(rows, reference_rows(spark, [path]))


@pytest.mark.parametrize("seed", [1, 2])
def test_random_bytes_match_the_reference(spark: Any, tmp_path: Path, seed: int) -> None:
    """Fuzz: good blocks and random bytes rich in newlines, dashes, blanks and non-UTF-8."""
    rng = random.Random(seed)
    alphabet = b"\n\n\n---- \t\rab=|\"[]0123456789" + bytes(range(0x80, 0x100, 7)) + b"\xc3\xa9\xe2\x82\xac\xf0\x9f\x98"
    parts = []
    for index in range(3_000):
        if rng.random() < 0.5:
            parts.append(block_text(rng, index).encode() + b"---\n")
        else:
            parts.append(bytes(rng.choice(alphabet) for _ in range(rng.randint(0, 300))))
    path = tmp_path / "fuzz.log"
    path.write_bytes(b"".join(parts))
    expected = reference_rows(spark, [path], max_block_bytes=2_000)
    assert sum(1 for r in expected if r[-1] is None) > 500
    assert_same_rows(reader_rows(spark, [path], max_split_bytes=4_099, max_block_bytes=2_000), expected)


# ------------------------------------------------------------------------------ gzip --


@pytest.mark.smoke
def test_gzip_files_are_decompressed_and_never_split(spark: Any, tmp_path: Path) -> None:
    data = generate_log(3_000, seed=11)
    single = tmp_path / "day.log.gz"
    single.write_bytes(gzip.compress(data))
    members = tmp_path / "members.log.gz"  # two gzip members, as `cat a.gz b.gz` makes
    half = len(data) // 2
    members.write_bytes(gzip.compress(data[:half]) + gzip.compress(data[half:]))
    crlf = tmp_path / "crlf.log.gz"
    crlf.write_bytes(gzip.compress(b"\xef\xbb\xbf" + data.replace(b"\n", b"\r\n")))
    paths = [single, members, crlf]
    actual = reader_rows(spark, paths, max_split_bytes=65_536)
    assert_same_rows(actual, reference_rows(spark, paths))
    plain = tmp_path / "day.log"
    plain.write_bytes(data)
    assert [r[1:] for r in reader_rows(spark, [single])] == [r[1:] for r in reader_rows(spark, [plain])]


def test_a_cut_gzip_file_reports_the_damage_after_its_complete_blocks(spark: Any, tmp_path: Path) -> None:
    cut = tmp_path / "cut.log.gz"
    compressed = gzip.compress(generate_log(2_000, seed=5))
    cut.write_bytes(compressed[: len(compressed) // 2])
    rows = reader_rows(spark, [cut])
    assert rows[-1][-1].startswith("corrupt_input:"), rows[-1][-1]
    assert sum(1 for r in rows if r[-1] and r[-1].startswith("corrupt_input")) == 1
    expected = reference_rows(spark, [cut])
    assert expected[-1][-1].startswith("corrupt_input")
    # every complete block before the damage is read as the reference reads it
    complete = min(len(rows), len(expected)) - 2
    assert_same_rows(rows[:complete], expected[:complete])
    assert len(rows) > 500


def test_a_gz_file_that_is_no_gzip_is_one_corrupt_block(spark: Any, tmp_path: Path) -> None:
    not_gzip = tmp_path / "plain-text.log.gz"
    not_gzip.write_bytes(generate_log(2_000, seed=5)[:1000])
    bad = reader_rows(spark, [not_gzip])
    assert len(bad) == 1 and bad[0][1] == 0 and bad[0][-1].startswith("corrupt_input:")
