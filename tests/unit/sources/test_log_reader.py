"""The JVM log block reader on the hand-written sample files of ``tests/data/logs``.

Each test reads sample files through local Spark (the ``spark`` fixture, with the reader
jar on its classpath) and compares with ``tests/reference_log_parser.py`` or with
hand-checked expectations. Generated, damaged and remote files: ``tests/integration/sources/``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from careplus_spark.sources.log_reader import COLUMNS, block_counts, qualified_path, read_log_blocks
from tests.log_reader_support import LOGS, assert_same_rows, reader_rows, reference_rows
from tests.reference_log_parser import FIELDS

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
    first = dict(zip(COLUMNS, rows[0], strict=True))
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


def test_dirty_values_of_a_good_block_are_kept_as_written(spark: Any) -> None:
    second = dict(zip(COLUMNS, reader_rows(spark, [LOGS / "clean.log"])[1], strict=True))
    assert (second["level"], second["response_time"], second["error"]) == ("INF0", "-749ms", "true")


def test_an_exact_duplicate_block_is_kept_at_its_own_offset(spark: Any) -> None:
    rows = reader_rows(spark, [LOGS / "clean.log"])
    # bronze keeps source duplicates
    assert rows[2][2:] == rows[3][2:] and rows[2][1] < rows[3][1]


def test_the_next_offset_is_after_the_block_and_its_delimiter_line(spark: Any) -> None:
    rows = reader_rows(spark, [LOGS / "clean.log"])
    assert rows[1][1] == len(rows[0][2].encode()) + len("---\n")


def test_crlf_line_ends_stay_in_raw_but_not_in_fields(spark: Any) -> None:
    crlf = reader_rows(spark, [LOGS / "crlf.log"])
    assert crlf[0][2].endswith("TraceID=None\r\n"), "raw keeps the line ends"
    assert crlf[0][-2] == "None" and crlf[0][4] == "INFO", "fields lose the CR"
    assert crlf[1][1] == len(crlf[0][2].encode()) + len("---\r\n")


def test_a_bom_at_the_file_start_is_skipped(spark: Any) -> None:
    bom = reader_rows(spark, [LOGS / "bom.log"])
    assert bom[0][1] == 3 and not bom[0][2].startswith("\ufeff") and bom[0][3] == "2025-07-01 00:21:00"


def test_spaces_around_a_delimiter_line_are_not_block_text(spark: Any) -> None:
    spaced = reader_rows(spark, [LOGS / "spaces_around_delimiter.log"])
    assert [r[6] for r in spaced] == ["TCK0701000", "TCK0701001", "TCK0701002", "TCK0701003"]
    assert all(not r[2].startswith(("\n", " ")) and r[2].endswith("\n") and "---" not in r[2] for r in spaced)


def test_a_last_block_without_delimiter_is_read_whole(spark: Any) -> None:
    last = reader_rows(spark, [LOGS / "no_final_delimiter.log"])
    assert last[-1][-1] is None and last[-1][-2] == "4f1c2a9be0d34c1f"
    assert last[-1][2].endswith("TraceID=4f1c2a9be0d34c1f"), "no line end after the last line"


def test_non_ascii_text_is_decoded(spark: Any) -> None:
    rows = reader_rows(spark, [LOGS / "non_ascii.log"])
    fields = dict(zip(COLUMNS, rows[0], strict=True))
    assert fields["message"] == "Überweisung fehlgeschlagen 😡 — 支付失败"
    assert fields["debug"] == "🚀 naïve café ✅"
    assert fields["user_agent"].endswith("“quoted”")
    assert rows[1][1] == len(rows[0][2].encode("utf-8")) + 4, "offsets count bytes, not characters"


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


# -------------------------------------------------------------------------- the API --


@pytest.mark.parametrize(
    ("paths", "options", "message"),
    [
        ([str(LOGS / "clean.log")], {"max_split_bytes": 0}, "max_split_bytes"),
        ([str(LOGS / "clean.log")], {"max_block_bytes": -1}, "max_block_bytes"),
        (str(LOGS / "clean.log"), {}, "sequence"),
    ],
    ids=["split_size", "block_size", "one_path_not_a_list"],
)
def test_invalid_arguments_are_refused(spark: Any, paths: Any, options: dict[str, int], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        read_log_blocks(spark, paths, **options)


@pytest.mark.parametrize(
    ("name", "message"), [("missing.log", "log file not found"), ("", "directory")], ids=["missing", "folder"]
)
def test_a_missing_file_or_a_folder_fails_when_read(spark: Any, tmp_path: Path, name: str, message: str) -> None:
    with pytest.raises(Exception, match=message):  # a Py4J/Spark error: its message is the contract
        read_log_blocks(spark, [str(tmp_path / name)]).count()


def test_no_paths_give_an_empty_frame_with_the_columns(spark: Any) -> None:
    empty = read_log_blocks(spark, [])
    assert tuple(empty.columns) == COLUMNS and empty.count() == 0


def test_schema_types(spark: Any) -> None:
    df = read_log_blocks(spark, [f"file:{LOGS / 'clean.log'}"])
    assert tuple(df.columns) == COLUMNS
    types = {f.name: f.dataType.simpleString() for f in df.schema.fields}
    assert types == {c: ("bigint" if c == "offset" else "string") for c in COLUMNS}
    assert df.collect()[0]["source_file"] == f"file:{LOGS / 'clean.log'}"
