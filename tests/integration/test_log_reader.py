"""The JVM log block reader against the plain-Python reference parser.

Every test reads real files through Spark (the ``spark`` fixture, with the reader jar on
its classpath) and compares with ``tests/reference_log_parser.py`` or with hand-checked
expectations. Split sizes go down to one byte, so that split boundaries fall on every byte
of the delimiter lines and of the blocks.
"""

from __future__ import annotations

import gzip
import random
from collections.abc import Sequence
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
from tests.reference_log_parser import FIELDS, parse_file

LOGS = Path(__file__).resolve().parents[1] / "data" / "logs"

Row = tuple[Any, ...]

#: parse_error of each block of the hand-written samples, in file order (None = good).
EXPECTED: dict[str, list[str | None]] = {
    "clean.log": [None, None, None, None],
    "crlf.log": [None, None, None],
    "bom.log": [None, None],
    "spaces_around_delimiter.log": [None, None, None, None],
    "no_final_delimiter.log": [None, None],
    "empty.log": [],
    "blank_only.log": [],
    "missing_line.log": [None, "missing_line: expected 6 lines, found 5", None],
    "extra_line.log": [None, "extra_line: expected 6 lines, found 7", "extra_line: expected 6 lines, found 7"],
    "garbage.log": [None, "garbage", "garbage", None],
    "truncated.log": [None, "truncated: block ends inside line 3", "truncated: block ends inside line 2"],
    "bad_fields.log": [
        "bad_header: timestamp",
        "bad_header: level",
        "bad_header: TicketID",
        "bad_header: SessionID",
        "bad_field: ResponseTime",
        "bad_field: UserAgent",
        "bad_field: Message",
        "bad_field: TraceID",
        None,
    ],
    "non_ascii.log": [None, None],
}


# --------------------------------------------------------------------------- helpers --


def reader_rows(spark: Any, paths: Sequence[Path | str], **kwargs: Any) -> list[Row]:
    """The reader's rows, ordered by file and offset."""
    df = read_log_blocks(spark, [str(p) for p in paths], **kwargs)
    return sorted((tuple(r) for r in df.collect()), key=lambda r: (r[0], r[1]))


def reference_rows(spark: Any, paths: Sequence[Path], max_block_bytes: int = 65536) -> list[Row]:
    """The reference parser's rows, with the reader's ``source_file`` naming."""
    rows: list[Row] = []
    for path in paths:
        name = qualified_path(spark, str(path))
        rows.extend(block.row(name) for block in parse_file(path, max_block_bytes))
    return sorted(rows, key=lambda r: (r[0], r[1]))


def assert_same_rows(actual: list[Row], expected: list[Row]) -> None:
    """Equal rows; on failure, names the first differing block and column."""
    for got, want in zip(actual, expected):
        if got != want:
            diffs = {c: (g, w) for c, g, w in zip(COLUMNS, got, want) if g != w}
            raise AssertionError(f"block at {want[0]}:{want[1]} differs (reader, reference): {diffs}")
    assert len(actual) == len(expected), f"{len(actual)} rows read, the reference has {len(expected)}"


def block_text(rng: random.Random, index: int) -> str:
    """One well-formed block (without its ``---`` line), with the SPEC's dirty values."""
    ticket = f"TCK07{rng.randint(1, 31):02d}{rng.randint(0, 999):03d}"
    level = rng.choice(["INFO", "INFO", "INFO", "INF0", "DEBUG", "DEBG", "ERROR", "EROR", "WARN", "warnING"])
    millis = rng.randint(20, 3000) * (-1 if rng.random() < 0.02 else 1)
    message = rng.choice([" event for " + ticket, "Payment declined", "Überweisung fehlgeschlagen 😡", "登录成功 ✅"])
    debug = rng.choice(["Logged for monitoring", "ℹ️ Logged for monitoring", "retry=3", ""])
    trace = "None" if rng.random() < 0.7 else f"{rng.getrandbits(64):016x}"
    return (
        f"2025-07-{index % 28 + 1:02d} {rng.randint(0, 23):02d}:{rng.randint(0, 59):02d}:{rng.randint(0, 59):02d} "
        f"[{level}] careplus.{rng.choice(['support', 'billing', 'auth'])}.Service{rng.randint(1, 9)} - "
        f"TicketID={ticket} SessionID=sess_{ticket}\n"
        f"IP=10.{rng.randint(0, 255)}.{rng.randint(0, 255)}.{rng.randint(1, 254)} | ResponseTime={millis}ms | "
        f"CPU={rng.uniform(0, 100):.2f}% | EventType={rng.choice(['generic_event', 'login', 'payment'])} | "
        f"Error={rng.choice(['false', 'true'])}\n"
        f'UserAgent="{rng.choice(["PostmanRuntime/7.32.2", "curl/8.5.0", "Mozilla/5.0 (X11; Linux x86_64)"])}"\n'
        f'Message="{message}"\n'
        f'Debug="{debug}"\n'
        f"TraceID={trace}\n"
    )


def malformed_text(rng: random.Random, index: int) -> bytes:
    """One malformed block of a random kind (bytes: some carry invalid UTF-8)."""
    good = block_text(rng, index)
    lines = good.splitlines(keepends=True)
    kind = rng.randrange(9)
    if kind == 0:  # a line missing
        del lines[rng.randrange(6)]
    elif kind == 1:  # a line repeated
        lines.insert(rng.randrange(6), rng.choice(lines))
    elif kind == 2:  # dashes that are not a delimiter
        lines.insert(rng.randrange(1, 6), rng.choice(["--\n", "----\n", "- --\n", "---x\n", "x---\n"]))
    elif kind == 3:  # garbage
        return bytes(rng.choice(b"abcxyz%$#@!?-=| \t0123456789") for _ in range(rng.randint(1, 400))) + b"\n"
    elif kind == 4:  # cut anywhere (possibly inside a multi-byte character)
        data = good.encode()
        return data[: rng.randrange(1, len(data) - 1)] + b"\n"
    elif kind == 5:  # a broken key
        k = rng.randrange(6)
        lines[k] = lines[k].replace("=", ":", 1) if k else lines[k].replace("[", "(", 1)
    elif kind == 6:  # invalid UTF-8 inside a good block
        return good.replace('Message="', 'Message="\xff', 1).encode("utf-8", "surrogateescape").replace(
            "\xff".encode(), b"\xff\xfe\xe2\x82"
        )
    elif kind == 7:  # blank line inside
        lines.insert(rng.randrange(1, 6), rng.choice(["\n", "  \n", "\r\n"]))
    else:  # trailing spaces and tabs on every line (still a good block)
        lines = [line[:-1] + rng.choice([" ", "\t", "  \t"]) + "\n" for line in lines]
    return "".join(lines).encode()


def generate_log(blocks: int, seed: int, final_delimiter: bool = True, oversized: int = 0) -> bytes:
    """A dirty log file: delimiter variants, blank lines, duplicates, malformed blocks."""
    rng = random.Random(seed)
    parts: list[bytes] = []
    previous = b""
    for index in range(blocks):
        roll = rng.random()
        if roll < 0.04:
            block = malformed_text(rng, index)
        elif roll < 0.06 and previous:
            block = previous  # exact duplicate event
        else:
            block = block_text(rng, index).encode()
        previous = block
        if rng.random() < 0.05:
            block = rng.choice([b"\n", b"  \n", b"\n\n"]) + block + rng.choice([b"\n", b"\t\n"])
        delimiter = rng.choice([b"---\n"] * 12 + [b"---  \n", b" ---\n", b"\t---\t\n", b"---\r\n", b"---\n---\n"])
        parts.append(block + delimiter)
    for _ in range(oversized):
        at = rng.randrange(len(parts))
        parts.insert(at, block_text(rng, at).replace('Message="', 'Message="' + "x" * 70_000, 1).encode() + b"---\n")
    if not final_delimiter:
        parts[-1] = parts[-1].rsplit(b"---", 1)[0].rstrip(b"\n")
    return b"".join(parts)


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


# ----------------------------------------------------------------- hand-written files --


@pytest.mark.smoke
def test_sample_files_give_the_expected_reasons(spark: Any) -> None:
    for name, expected in EXPECTED.items():
        rows = reader_rows(spark, [LOGS / name])
        assert [r[-1] for r in rows] == expected, name
        for r in rows:
            good = r[-1] is None
            assert all((v is not None) == good for v in r[3:-1]), f"{name}: fields must be set iff the block is good"
            assert r[2], f"{name}: raw text kept for the block at {r[1]}"


@pytest.mark.smoke
def test_sample_files_match_the_reference(spark: Any) -> None:
    paths = sorted(LOGS.glob("*.log"))
    assert {p.name for p in paths} == set(EXPECTED), "every sample file has expectations"
    assert_same_rows(reader_rows(spark, paths), reference_rows(spark, paths))


def test_clean_block_fields_are_kept_as_written(spark: Any) -> None:
    rows = reader_rows(spark, [LOGS / "clean.log"])
    first = dict(zip(COLUMNS, rows[0]))
    assert first["source_file"] == f"file:{LOGS / 'clean.log'}"
    assert first["offset"] == 0
    assert first["raw"].startswith("2025-07-01 00:21:00 [INFO] careplus.support.GenericService - TicketID=TCK0701000")
    assert first["raw"].endswith("TraceID=None\n")
    assert {k: first[k] for k in FIELDS} == {
        "ts": "2025-07-01 00:21:00",
        "level": "INFO",
        "service": "careplus.support.GenericService",
        "ticket_id": "TCK0701000",
        "session_id": "sess_TCK0701000",
        "ip": "60.130.155.7",
        "response_time": "1269ms",
        "cpu": "27.64%",
        "event_type": "generic_event",
        "error": "false",
        "user_agent": "PostmanRuntime/7.32.2",
        "message": " event for TCK0701000",
        "debug": "Logged for monitoring",
        "trace_id": "None",
    }
    second = dict(zip(COLUMNS, rows[1]))
    assert (second["level"], second["response_time"], second["error"]) == ("INF0", "-749ms", "true")
    # the exact duplicate is kept (bronze keeps source duplicates), at its own offset
    assert rows[2][2:] == rows[3][2:] and rows[2][1] < rows[3][1]
    assert rows[1][1] == len(rows[0][2].encode()) + len("---\n")


def test_crlf_bom_and_delimiter_variants(spark: Any) -> None:
    crlf = reader_rows(spark, [LOGS / "crlf.log"])
    assert crlf[0][2].endswith("TraceID=None\r\n"), "raw keeps the line ends"
    assert crlf[0][-2] == "None" and crlf[0][4] == "INFO", "fields lose the CR"
    assert crlf[1][1] == len(crlf[0][2].encode()) + len("---\r\n")

    bom = reader_rows(spark, [LOGS / "bom.log"])
    assert bom[0][1] == 3 and not bom[0][2].startswith("\ufeff") and bom[0][3] == "2025-07-01 00:21:00"

    spaced = reader_rows(spark, [LOGS / "spaces_around_delimiter.log"])
    assert [r[6] for r in spaced] == ["TCK0701000", "TCK0701001", "TCK0701002", "TCK0701003"]
    assert all(not r[2].startswith(("\n", " ")) and r[2].endswith("\n") and "---" not in r[2] for r in spaced)

    last = reader_rows(spark, [LOGS / "no_final_delimiter.log"])
    assert last[-1][-1] is None and last[-1][-2] == "4f1c2a9be0d34c1f"
    assert last[-1][2].endswith("TraceID=4f1c2a9be0d34c1f"), "no line end after the last line"


@pytest.mark.parametrize("split", [None, 7, 64])
def test_dashes_inside_a_line_do_not_split_a_block(spark: Any, tmp_path: Path, split: int | None) -> None:
    """Only a line that is ``---`` ends a block; ``---`` inside a line is text.

    The garbage block is the one of the 10M-event benchmark data (seed 7, file
    ``app-2025-07-07-2.log``) where a naive ``text.split("---")`` finds one block more than
    the generator wrote: it cuts that block in two.
    """
    good = (LOGS / "clean.log").read_bytes().split(b"---\n")[0]
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


def test_non_ascii_text_is_decoded(spark: Any) -> None:
    rows = reader_rows(spark, [LOGS / "non_ascii.log"])
    fields = dict(zip(COLUMNS, rows[0]))
    assert fields["message"] == "Überweisung fehlgeschlagen 😡 — 支付失败"
    assert fields["debug"] == "🚀 naïve café ✅"
    assert fields["user_agent"].endswith("“quoted”")
    assert rows[1][1] == len(rows[0][2].encode("utf-8")) + 4, "offsets count bytes, not characters"


def test_tasks_count_blocks_per_file_while_the_rows_are_consumed(spark: Any, dirty_files: dict[str, Path]) -> None:
    """``counts_key``: the tasks count blocks per file; the same figures as an aggregate."""
    paths = [str(dirty_files["lf"]), str(dirty_files["crlf"]), str(LOGS / "garbage.log"), str(LOGS / "empty.log")]
    df = read_log_blocks(spark, paths, max_split_bytes=65_536, counts_key="test-counts")
    df.write.format("noop").mode("overwrite").save()
    counted = take_block_counts(spark, "test-counts")
    expected = {r["source_file"]: (r["blocks"], r["malformed"]) for r in block_counts(read_log_blocks(spark, paths)).collect()}
    assert counted == expected and len(counted) == 3, "an empty file has no chunk, hence no entry"
    assert take_block_counts(spark, "test-counts") is None, "taking the counts forgets the key"

    pruned = read_log_blocks(spark, paths[:1], counts_key="test-pruned").select("offset")
    pruned.write.format("noop").mode("overwrite").save()
    assert take_block_counts(spark, "test-pruned") == {qualified_path(spark, paths[0]): (expected[qualified_path(spark, paths[0])][0], None)}


def test_empty_files_give_no_rows_but_are_counted(spark: Any) -> None:
    paths = [str(LOGS / "empty.log"), str(LOGS / "blank_only.log"), str(LOGS / "garbage.log")]
    df = read_log_blocks(spark, paths)
    assert df.count() == 4
    counts = {r["source_file"]: (r["blocks"], r["parsed"], r["malformed"]) for r in block_counts(df, paths).collect()}
    assert counts == {
        qualified_path(spark, paths[0]): (0, 0, 0),
        qualified_path(spark, paths[1]): (0, 0, 0),
        qualified_path(spark, paths[2]): (4, 2, 2),
    }
    assert read_log_blocks(spark, [str(LOGS / "empty.log")]).collect() == []


def test_block_counts_add_up_per_file(spark: Any) -> None:
    paths = sorted(LOGS.glob("*.log"))
    counts = block_counts(read_log_blocks(spark, [str(p) for p in paths])).collect()
    by_file = {r["source_file"]: (r["blocks"], r["parsed"], r["malformed"]) for r in counts}
    for path in paths:
        expected = EXPECTED[path.name]
        if not expected:
            assert qualified_path(spark, str(path)) not in by_file
            continue
        good = sum(1 for e in expected if e is None)
        assert by_file[qualified_path(spark, str(path))] == (len(expected), good, len(expected) - good), path.name


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


@pytest.mark.parametrize("split", [65_536, 65_537])
def test_generated_crlf_file_matches_the_reference(spark: Any, dirty_files: dict[str, Path], split: int) -> None:
    path = dirty_files["crlf"]
    expected = reference_rows(spark, [path])
    actual = reader_rows(spark, [path], max_split_bytes=split)
    assert_same_rows(actual, expected)
    lf = reference_rows(spark, [dirty_files["lf"]])
    def verdicts(rows: list[Row]) -> list[str | None]:
        return [r[-1] and r[-1].split(":")[0] for r in rows]

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


# --------------------------------------------------------------------- oversized blocks --


def test_oversized_block_is_flagged_with_its_size(spark: Any, tmp_path: Path) -> None:
    path = tmp_path / "big.log"
    good = (LOGS / "clean.log").read_bytes().split(b"---\n")[0]
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
    good = (LOGS / "clean.log").read_bytes().split(b"---\n")[0]
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
    good = (LOGS / "clean.log").read_bytes().split(b"---\n")[0]
    path = tmp_path / "large.log"
    path.write_bytes(good + b"---\n" + b"y" * 3_000_000 + b"\n---\n" + good)
    rows = reader_rows(spark, [path], max_split_bytes=500_000, max_block_bytes=4_000_000)
    assert [r[-1] for r in rows] == [None, "garbage", None]
    assert rows[1][2] == "y" * 3_000_000 + "\n"
    assert_same_rows(rows, reference_rows(spark, [path], max_block_bytes=4_000_000))


def test_invalid_utf8_becomes_replacement_characters(spark: Any, tmp_path: Path) -> None:
    good = (LOGS / "clean.log").read_bytes().split(b"---\n")[0]
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


def test_corrupt_gzip_is_reported_not_lost(spark: Any, tmp_path: Path) -> None:
    data = generate_log(2_000, seed=5)
    cut = tmp_path / "cut.log.gz"
    compressed = gzip.compress(data)
    cut.write_bytes(compressed[: len(compressed) // 2])
    not_gzip = tmp_path / "plain-text.log.gz"
    not_gzip.write_bytes(data[:1000])

    rows = reader_rows(spark, [cut])
    assert rows[-1][-1].startswith("corrupt_input:"), rows[-1][-1]
    assert sum(1 for r in rows if r[-1] and r[-1].startswith("corrupt_input")) == 1
    expected = reference_rows(spark, [cut])
    assert expected[-1][-1].startswith("corrupt_input")
    # every complete block before the damage is read as the reference reads it
    complete = min(len(rows), len(expected)) - 2
    assert_same_rows(rows[:complete], expected[:complete])
    assert len(rows) > 500

    bad = reader_rows(spark, [not_gzip])
    assert len(bad) == 1 and bad[0][1] == 0 and bad[0][-1].startswith("corrupt_input:")


# -------------------------------------------------------------------------- the API --


def test_api_errors_are_clear(spark: Any, tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="max_split_bytes"):
        read_log_blocks(spark, [str(LOGS / "clean.log")], max_split_bytes=0)
    with pytest.raises(ValueError, match="max_block_bytes"):
        read_log_blocks(spark, [str(LOGS / "clean.log")], max_block_bytes=-1)
    with pytest.raises(ValueError, match="sequence"):
        read_log_blocks(spark, str(LOGS / "clean.log"))  # type: ignore[arg-type]
    with pytest.raises(Exception, match="log file not found"):
        read_log_blocks(spark, [str(tmp_path / "missing.log")]).count()
    with pytest.raises(Exception, match="directory"):
        read_log_blocks(spark, [str(tmp_path)]).count()
    empty = read_log_blocks(spark, [])
    assert tuple(empty.columns) == COLUMNS and empty.count() == 0
    assert tuple(read_log_blocks(spark, [str(LOGS / "clean.log")]).columns) == COLUMNS


def test_schema_types(spark: Any) -> None:
    df = read_log_blocks(spark, [f"file:{LOGS / 'clean.log'}"])
    types = {f.name: f.dataType.simpleString() for f in df.schema.fields}
    assert types == {c: ("bigint" if c == "offset" else "string") for c in COLUMNS}
    assert df.collect()[0]["source_file"] == f"file:{LOGS / 'clean.log'}"


# ------------------------------------------------------------------------------- s3a --


@pytest.mark.integration
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
        assert_same_rows([("",) + r[1:] for r in by_file[uri]], expected)
