r"""Multi-line log blocks (SPEC 2.2), generated lazily one block at a time.

A block is six ``\n``-terminated lines without its ``---`` delimiter; the writer adds
delimiters and line ends. :func:`file_blocks` yields ``(block, kind)`` pairs where kind
tells an event from a duplicate or a malformed block.
"""

from __future__ import annotations

import heapq
import random
import string
from collections.abc import Iterator, Sequence
from datetime import date

from careplus_spark.synthetic import vocab
from careplus_spark.synthetic.clock import SECONDS_PER_DAY, hms_table
from careplus_spark.synthetic.spec import GenerateSpec
from careplus_spark.synthetic.tickets import ticket_prefix

EVENT = 0
DUPLICATE = 1
MALFORMED = 2

_DUPLICATE_DELAY = (2, 50)  # a later duplicate comes this many blocks after its original
_MAX_PENDING = 1_000
_GARBAGE_CHARS = string.ascii_letters + string.digits + string.punctuation + "    "
#: (service, ((event_type, message prefix) x 4)) by service index.
_SERVICE_TABLE: tuple[tuple[str, tuple[tuple[str, str], ...]], ...] = tuple(
    (svc, tuple((et, vocab.MESSAGES[et]) for et in types))
    for svc, types in zip(vocab.SERVICES, vocab.EVENT_TYPES, strict=True)
)


def file_blocks(
    spec: GenerateSpec,
    day: date,
    created: Sequence[int],
    file_index: int,
    rng: random.Random,
) -> Iterator[tuple[str, int]]:
    """Yield the blocks of one log file of ``day`` with malformed blocks and duplicates.

    The file covers the tickets whose sequence number is ``file_index`` modulo
    ``spec.log_files_per_day``. A duplicate is an exact copy of an event, written right
    after it or 2..50 blocks later in the same file.
    """
    pending: list[tuple[int, int, str]] = []
    written = 0
    for block in _events(spec, day, created, file_index, rng):
        if rng.random() < spec.malformed_block:
            yield malform(rng, block), MALFORMED
            written += 1
        else:
            yield block, EVENT
            written += 1
            if rng.random() < spec.duplicate_event:
                if rng.random() < 0.5 or len(pending) >= _MAX_PENDING:
                    yield block, DUPLICATE
                    written += 1
                else:
                    due = written + rng.randint(*_DUPLICATE_DELAY)
                    heapq.heappush(pending, (due, written, block))
        while pending and pending[0][0] <= written:
            yield heapq.heappop(pending)[2], DUPLICATE
            written += 1
    while pending:
        yield heapq.heappop(pending)[2], DUPLICATE


def _events(
    spec: GenerateSpec, day: date, created: Sequence[int], file_index: int, rng: random.Random
) -> Iterator[str]:
    """Yield well-formed event blocks for this file's tickets (the hot loop)."""
    head = day.isoformat() + " "
    hms = hms_table()
    prefix = ticket_prefix(day)
    unknown_prefix = f"TCK99{day.day:02d}"  # month 99: never an existing ticket
    rand, bits_of = rng.random, rng.getrandbits
    span = 2.0 * spec.events_per_ticket
    for seq in range(file_index, len(created), max(spec.log_files_per_day, 1)):
        real_id, first = f"{prefix}{seq:03d}", created[seq]
        ip = _ip(bits_of(32))
        agent = vocab.USER_AGENTS[bits_of(3)]
        for _ in range(int(rand() * span + rand())):
            tid, second = real_id, first + int(rand() * (SECONDS_PER_DAY - first))
            if rand() < spec.unknown_ticket_event:
                tid = f"{unknown_prefix}{bits_of(10) % 1000:03d}"
                second = int(rand() * SECONDS_PER_DAY)
            bits = bits_of(40)
            level = vocab.LEVELS[bits & 15]
            service, types = _SERVICE_TABLE[(bits >> 4) & 7]
            event_type, text = types[(bits >> 7) & 3]
            debug = vocab.DEBUG_ASCII[(bits >> 9) & 7]
            message = f"{text} for {tid}"
            error = "true" if rand() < vocab.ERROR_TRUE_RATE[level] else "false"
            response = _response_ms((bits >> 12) & 3, (bits >> 14) & 0xFFF)
            cents = 100 + ((bits >> 26) & 0x3FFF) * 9_900 // 16_384
            if rand() < spec.dirty_level:
                level = vocab.DIRTY_LEVELS[level][bits_of(2)]
            if rand() < spec.negative_response:
                response = -response
            trace = "None" if rand() < spec.trace_none else _trace_id(bits_of(128))
            if rand() < spec.non_ascii:
                choice = bits_of(5)
                if choice & 1:
                    message = f"{vocab.MESSAGES_NON_ASCII[(choice >> 2) & 7]} for {tid}"
                if not choice & 1 or choice & 2:
                    debug = vocab.DEBUG_NON_ASCII[(choice >> 2) & 7]
            yield (
                f"{head}{hms[second]} [{level}] {service} - TicketID={tid} SessionID=sess_{tid}\n"
                f"IP={ip} | ResponseTime={response}ms | CPU={cents // 100}.{cents % 100:02d}% | "
                f"EventType={event_type} | Error={error}\n"
                f'UserAgent="{agent}"\nMessage="{message}"\nDebug="{debug}"\nTraceID={trace}\n'
            )


def _ip(bits: int) -> str:
    """Return a dotted IPv4 address with octets in 1..254 cut from 32 random bits."""
    octets = [1 + (bits >> shift & 255) % 254 for shift in (24, 16, 8, 0)]
    return f"{octets[0]}.{octets[1]}.{octets[2]}.{octets[3]}"


def _response_ms(bucket: int, raw: int) -> int:
    """Return a response time: buckets 0-1 fast (20..499), 2 normal (<1000), 3 slow."""
    if bucket < 2:
        return 20 + raw % 480
    if bucket == 2:
        return 500 + raw % 500
    return 1_000 + raw * 4_001 // 4_096


def _trace_id(bits: int) -> str:
    """Return a uuid-like trace id (8-4-4-4-12 lowercase hex) from 128 random bits."""
    h = f"{bits:032x}"
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"


def malform(rng: random.Random, block: str) -> str:
    """Return a broken version of ``block``: a line missing or extra, truncated, or garbage.

    The result is never empty and never contains a ``---`` line.
    """
    lines = block.split("\n")[:-1]
    kind = rng.randrange(4)
    if kind == 0:
        del lines[rng.randrange(1, len(lines))]
    elif kind == 1:
        lines.insert(rng.randint(1, len(lines)), rng.choice(vocab.EXTRA_LINES))
    elif kind == 2:
        lines = lines[: rng.randint(1, len(lines) - 1)]
        lines[-1] = lines[-1][: rng.randint(1, len(lines[-1]) - 1)]
    else:
        lines = [_garbage_line(rng) for _ in range(rng.randint(1, 4))]
    return "\n".join(lines) + "\n"


def _garbage_line(rng: random.Random) -> str:
    rest = "".join(rng.choices(_GARBAGE_CHARS, k=rng.randint(4, 80)))
    return rng.choice(string.ascii_letters) + rest.rstrip()
