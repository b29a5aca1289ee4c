"""Log files of one day: where they go, how they are encoded, and streaming writes.

Files are ``<logs_dir>/YYYY/MM/DD/app-YYYY-MM-DD-<n>.log`` (``.log.gz`` when gzipped).
Each is written to a hidden ``.<name>.partial`` file and renamed when complete, so a
reader listing the folder never sees half a file. Blocks are joined and encoded a few
hundred at a time: memory stays bounded whatever the file size.
"""

from __future__ import annotations

import gzip
import os
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Protocol

from careplus_spark.synthetic.blocks import DUPLICATE, MALFORMED
from careplus_spark.synthetic.spec import GenerateSpec, stream_rng

DELIMITER = "---\n"
_CHUNK_BLOCKS = 512
_BUFFER_BYTES = 1 << 20
_GZIP_LEVEL = 1


class _ByteSink(Protocol):
    def write(self, data: bytes, /) -> int: ...


@dataclass(frozen=True)
class LogFilePlan:
    """One log file of a day and the file-level traits it is written with."""

    path: Path
    index: int
    gzip: bool = False
    crlf: bool = False
    missing_last_delimiter: bool = False
    missing_final_newline: bool = False
    empty: bool = False


@dataclass(frozen=True)
class FileStats:
    """What was written to one log file."""

    blocks: int = 0
    malformed: int = 0
    duplicates: int = 0
    bytes_written: int = 0


def day_folder(logs_dir: Path, day: date) -> Path:
    """Return ``<logs_dir>/YYYY/MM/DD``."""
    return Path(logs_dir) / f"{day.year:04d}" / f"{day.month:02d}" / f"{day.day:02d}"


def plan_day_files(spec: GenerateSpec, day: date, logs_dir: Path) -> list[LogFilePlan]:
    """Return the log files of ``day``: ``log_files_per_day`` files, then the empty one."""
    rng = stream_rng(spec.seed, day, "files")
    folder = day_folder(logs_dir, day)
    plans: list[LogFilePlan] = []
    for index in range(spec.log_files_per_day):
        gz = rng.random() < spec.gzip_file
        crlf = rng.random() < spec.crlf_file
        missing = rng.random() < spec.missing_last_delimiter
        no_newline = missing and rng.random() < 0.5
        name = f"app-{day.isoformat()}-{index}.log" + (".gz" if gz else "")
        plans.append(LogFilePlan(folder / name, index, gz, crlf, missing, no_newline))
    if spec.empty_file_per_day:
        index = spec.log_files_per_day
        plans.append(LogFilePlan(folder / f"app-{day.isoformat()}-{index}.log", index, empty=True))
    return plans


def write_log_file(plan: LogFilePlan, blocks: Iterable[tuple[str, int]]) -> FileStats:
    """Write ``blocks`` to ``plan.path`` atomically and return what was written.

    Every block is followed by ``---`` except, when the plan says so, the last one.
    """
    plan.path.parent.mkdir(parents=True, exist_ok=True)
    partial = plan.path.with_name(f".{plan.path.name}.partial")
    with open(partial, "wb", buffering=_BUFFER_BYTES) as raw:
        if plan.gzip:
            name = plan.path.name.removesuffix(".gz")
            with gzip.GzipFile(name, "wb", _GZIP_LEVEL, fileobj=raw, mtime=0) as zipped:
                stats = _write_blocks(zipped, plan, blocks)
        else:
            stats = _write_blocks(raw, plan, blocks)
    os.replace(partial, plan.path)
    return FileStats(stats.blocks, stats.malformed, stats.duplicates, plan.path.stat().st_size)


def _write_blocks(
    out: _ByteSink, plan: LogFilePlan, blocks: Iterable[tuple[str, int]]
) -> FileStats:
    counts = [0, 0, 0]  # blocks, malformed, duplicates
    chunk: list[str] = []
    previous: str | None = None
    for block, kind in blocks:
        counts[0] += 1
        counts[1] += kind == MALFORMED
        counts[2] += kind == DUPLICATE
        if previous is not None:
            chunk.append(previous)
            chunk.append(DELIMITER)
            if len(chunk) >= _CHUNK_BLOCKS:
                out.write(_encode(chunk, plan.crlf))
                chunk.clear()
        previous = block
    if previous is not None:
        chunk.append(previous[:-1] if plan.missing_final_newline else previous)
        if not plan.missing_last_delimiter:
            chunk.append(DELIMITER)
    out.write(_encode(chunk, plan.crlf))
    return FileStats(counts[0], counts[1], counts[2])


def _encode(parts: list[str], crlf: bool) -> bytes:
    text = "".join(parts)
    return (text.replace("\n", "\r\n") if crlf else text).encode("utf-8")


def write_empty_file(plan: LogFilePlan) -> FileStats:
    """Create ``plan.path`` as a zero-byte file."""
    plan.path.parent.mkdir(parents=True, exist_ok=True)
    plan.path.write_bytes(b"")
    return FileStats()
