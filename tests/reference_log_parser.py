"""A plain, single-process Python parser of the raw log files: the reference the JVM reader
(``careplus_spark.sources.log_reader``) is tested against.

It reads a whole file (gzip through :mod:`zlib`), and applies the same rules as the Java
``BlockScanner``/``BlockParser`` with nothing clever: blocks are runs of lines between
``---`` lines, blank lines around a block are dropped, a BOM at the file start is skipped,
each block is decoded as UTF-8 (invalid bytes become U+FFFD) and checked line by line.
Keep it boring: it is the specification in executable form.
"""

from __future__ import annotations

import re
import zlib
from dataclasses import dataclass
from pathlib import Path

FIELDS: tuple[str, ...] = (
    "ts",
    "level",
    "service",
    "ticket_id",
    "session_id",
    "ip",
    "response_time",
    "cpu",
    "event_type",
    "error",
    "user_agent",
    "message",
    "debug",
    "trace_id",
)

BOM = b"\xef\xbb\xbf"
SPACES = " \t\r"
_DATE_PREFIX = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
_TIMESTAMP = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2} [0-9]{2}:[0-9]{2}:[0-9]{2}")
_KEY_PREFIXES = ("IP=", "UserAgent=", "Message=", "Debug=", "TraceID=")


@dataclass(frozen=True)
class Block:
    """One block: where it starts, its text, its fields (None when malformed) and why."""

    offset: int
    raw: str
    fields: tuple[str, ...] | None
    parse_error: str | None

    def row(self, source_file: str) -> tuple[object, ...]:
        """The block as a row of the reader's columns, in order."""
        values = self.fields if self.fields is not None else (None,) * len(FIELDS)
        return (source_file, self.offset, self.raw, *values, self.parse_error)


def read_file(path: str | Path) -> tuple[bytes, str | None]:
    """The (decompressed) bytes of a file, and an error when a gzip stream is corrupt.

    A corrupt or truncated gzip file yields the bytes decoded before the damage.
    """
    data = Path(path).read_bytes()
    if not str(path).endswith(".gz") or not data:
        return data, None
    out = bytearray()
    rest = data
    while rest:
        decoder = zlib.decompressobj(16 + zlib.MAX_WBITS)
        try:
            out += decoder.decompress(rest)
            out += decoder.flush()
        except zlib.error as exc:
            return bytes(out), f"corrupt_input: {exc}"
        if not decoder.eof:
            return bytes(out), "corrupt_input: compressed stream ended early"
        rest = decoder.unused_data
    return bytes(out), None


def split_blocks(data: bytes) -> list[tuple[int, int, bool]]:
    """Blocks of a byte stream as ``(start, end, closed)``: ``data[start:end]`` is the block
    without blank lines around it; ``closed`` is False for a block ended by the stream end."""
    blocks: list[tuple[int, int, bool]] = []
    pos = len(BOM) if data.startswith(BOM) else 0
    start: int | None = None
    end = 0
    while pos < len(data):
        newline = data.find(b"\n", pos)
        line_end = len(data) if newline < 0 else newline + 1
        content = data[pos:line_end].rstrip(b"\n").strip(SPACES.encode())
        if content == b"---":
            if start is not None:
                blocks.append((start, end, True))
            start = None
        elif content:
            if start is None:
                start = pos
            end = line_end
        pos = line_end
    if start is not None:
        blocks.append((start, end, False))
    return blocks


def parse_block(text: str) -> tuple[tuple[str, ...] | None, str | None]:
    """``(fields, None)`` for a well-formed block, else ``(None, reason)``."""
    lines = text.split("\n")
    if text.endswith("\n"):
        lines.pop()
    lines = [line.rstrip(SPACES) for line in lines]
    if not any(_recognisable(line) for line in lines):
        return None, "garbage"
    count = len(lines)
    if count > 6:
        return None, f"extra_line: expected 6 lines, found {count}"
    parsers = (_header, _metrics, _quoted("UserAgent"), _quoted("Message"), _quoted("Debug"), _trace)
    if count < 6:
        # cut short: the lines but the last are the expected ones, and the last one is no
        # complete line of any kind that may come at its place
        head_ok = all(not isinstance(parsers[k](lines[k]), str) for k in range(count - 1))
        last_cut = all(isinstance(parsers[k](lines[-1]), str) for k in range(count - 1, 6))
        if head_ok and last_cut:
            return None, f"truncated: block ends inside line {count}"
        return None, f"missing_line: expected 6 lines, found {count}"
    values: list[str] = []
    for parser, line in zip(parsers, lines, strict=True):
        result = parser(line)
        if isinstance(result, str):
            return None, result
        values.extend(result)
    return tuple(values), None


def parse_bytes(data: bytes, max_block_bytes: int = 65536, error: str | None = None) -> list[Block]:
    """All blocks of a decompressed stream; ``error`` marks a stream cut by corruption."""
    result: list[Block] = []
    spans = split_blocks(data)
    for index, (start, end, closed) in enumerate(spans):
        size = end - start
        raw = data[start : start + min(size, max_block_bytes)].decode("utf-8", errors="replace")
        if error is not None and not closed and index == len(spans) - 1:
            result.append(Block(start, raw, None, error))
        elif size > max_block_bytes:
            result.append(Block(start, raw, None, f"oversized: {size} bytes > {max_block_bytes}"))
        else:
            fields, reason = parse_block(raw)
            result.append(Block(start, raw, fields, reason))
    if error is not None and (not spans or spans[-1][2]):
        result.append(Block(len(data), "", None, error))
    return result


def parse_file(path: str | Path, max_block_bytes: int = 65536) -> list[Block]:
    """All blocks of one file (plain or ``.gz``)."""
    data, error = read_file(path)
    return parse_bytes(data, max_block_bytes, error)


def _recognisable(line: str) -> bool:
    return bool(_DATE_PREFIX.match(line)) or line.startswith(_KEY_PREFIXES)


def _header(line: str) -> tuple[str, ...] | str:
    if len(line) < 21 or not _TIMESTAMP.fullmatch(line[:19]) or line[19:21] != " [":
        return "bad_header: timestamp"
    close = line.find("]", 21)
    if close < 0 or close + 1 >= len(line) or line[close + 1] != " ":
        return "bad_header: level"
    ticket = line.find(" - TicketID=", close + 2)
    if ticket < 0:
        return "bad_header: TicketID"
    session = line.find(" SessionID=", ticket + len(" - TicketID="))
    if session < 0:
        return "bad_header: SessionID"
    return (
        line[:19],
        line[21:close],
        line[close + 2 : ticket],
        line[ticket + len(" - TicketID=") : session],
        line[session + len(" SessionID=") :],
    )


def _metrics(line: str) -> tuple[str, ...] | str:
    if not line.startswith("IP="):
        return "bad_field: IP"
    values: list[str] = []
    pos = len("IP=")
    for key in ("ResponseTime", "CPU", "EventType", "Error"):
        separator = f" | {key}="
        found = line.find(separator, pos)
        if found < 0:
            return f"bad_field: {key}"
        values.append(line[pos:found])
        pos = found + len(separator)
    values.append(line[pos:])
    return tuple(values)


def _quoted(key: str):  # noqa: ANN202 - a small closure
    prefix = f'{key}="'

    def parse(line: str) -> tuple[str, ...] | str:
        if len(line) < len(prefix) + 1 or not line.startswith(prefix) or not line.endswith('"'):
            return f"bad_field: {key}"
        return (line[len(prefix) : -1],)

    return parse


def _trace(line: str) -> tuple[str, ...] | str:
    if not line.startswith("TraceID="):
        return "bad_field: TraceID"
    return (line[len("TraceID=") :],)
