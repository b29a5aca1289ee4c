"""Log files of the synthetic source: gzip, CRLF, missing last delimiters, empty files, streaming."""

from __future__ import annotations

import gzip
import tracemalloc
from datetime import date
from pathlib import Path

from careplus_spark.synthetic import GenerateSpec, GenerateStats
from careplus_spark.synthetic.blocks import file_blocks
from careplus_spark.synthetic.clock import hms_table
from careplus_spark.synthetic.logfiles import LogFilePlan, write_log_file
from careplus_spark.synthetic.spec import stream_rng
from tests.synthetic_support import log_files, read_text


def test_every_dirty_file_trait_appears(dirty: tuple[Path, GenerateStats]) -> None:
    files = log_files(dirty[0] / "logs")
    texts = {p: read_text(p) for p in files if p.stat().st_size}
    assert any(p.name.endswith(".log.gz") for p in files) and any(
        p.name.endswith(".log") for p in files
    )
    assert any("\r\n" in t for t in texts.values())
    assert any(not t.rstrip("\r\n").endswith("---") for t in texts.values())
    assert [p.name for p in files if p.stat().st_size == 0] == [
        "app-2025-07-01-6.log",
        "app-2025-07-02-6.log",
    ]


def test_gzip_and_crlf_files(dirty: tuple[Path, GenerateStats]) -> None:
    for path in log_files(dirty[0] / "logs"):
        raw = path.read_bytes()
        if path.name.endswith(".gz"):
            assert raw[:2] == b"\x1f\x8b"
            with gzip.open(path, "rb") as handle:
                raw = handle.read()
            assert raw
        crlf, lf = raw.count(b"\r\n"), raw.count(b"\n")
        assert crlf in (0, lf), f"{path.name} mixes line ends"


def test_no_partial_file_is_left_behind(dirty: tuple[Path, GenerateStats]) -> None:
    assert not list((dirty[0] / "logs").rglob(".*"))


def test_log_writing_is_streaming(tmp_path: Path) -> None:
    def peak_and_size(tickets: int) -> tuple[int, int]:
        spec = GenerateSpec(tickets_per_day=tickets, events_per_ticket=10.0, log_files_per_day=1)
        day, created = date(2025, 7, 1), [i * 86_400 // tickets for i in range(tickets)]
        blocks = file_blocks(spec, day, created, 0, stream_rng(1, day, "t"))
        tracemalloc.start()
        stats = write_log_file(LogFilePlan(tmp_path / f"{tickets}.log", 0), blocks)
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
        return peak, stats.bytes_written

    hms_table()
    small_peak, small_size = peak_and_size(150)
    big_peak, big_size = peak_and_size(900)
    assert big_size > 5 * small_size and big_size > 3_000_000
    assert big_peak < small_peak + 300_000, f"peak {small_peak} -> {big_peak} bytes"
    assert big_peak < 3_000_000
