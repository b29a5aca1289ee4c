"""Unexpected errors answered in one paragraph, with the full trace in a log file.

An exception that is not a :class:`~careplus_spark.errors.CarePlusError` is a bug or a fault
nobody anticipated (a server gone, a full disk, a concurrent writer). The ``careplus``
command and the ``jobs/`` entry points answer it with one paragraph::

    careplus: error: careplus run failed in step silver_logs (run 20250701T020000Z-1a2b3c4d)
    at careplus_spark/lakehouse/delta.py:88 (run_merge): io.delta.exceptions.ConcurrentAppendException:
    Files were added to the root of the table by a concurrent update. Hint: another writer changed the
    table; is another run active? See the run lock (lakehouse.lock, careplus status). Full trace:
    /lake/_logs/errors/20250701T020000Z-1a2b3c4d-run.log (exit code 6)

(on one line): what failed (the command and the step), where (the innermost frame of this
package), the exception (for Java exceptions the Java class and message, not its frames),
a hint and an exit code chosen by the exception's class
(:data:`careplus_spark.platform.failure_rules.RULES`), and the trace
file. The trace file holds the Python traceback and the JVM stack trace, redacted; it is
written to ``<lakehouse.root>/_logs/errors/`` when the root is a local folder, else (an
``s3a://`` root, or a local one that cannot be written, e.g. a full disk) to
``~/.careplus/logs/errors/`` (or ``<tmp>/careplus-logs/errors/`` without a writable home).
"""

from __future__ import annotations

import contextlib
import dataclasses
import datetime as dt
import os
import re
import tempfile
import traceback
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from careplus_spark.platform import secrets
from careplus_spark.platform.failure_rules import UNKNOWN_HINT, classify
from careplus_spark.platform.secrets import Secret

if TYPE_CHECKING:
    from careplus_spark.platform.config import AppConfig

_NOTE = "careplus: step "
_NOTE_RE = re.compile(r"^careplus: step (?P<step>\S+) of run (?P<run>\S+)$")
_PACKAGE_DIR = Path(__file__).resolve().parents[1]
_MESSAGE_CHARS = 300
_CHAIN_LIMIT = 10
#: A Java exception's headline: ``[: |Caused by: ]org.pkg.SomeException[: message]``.
_JAVA_HEAD = re.compile(
    r"^(?:: |Caused by: )?((?:[A-Za-z_$][\w$]*\.)+[A-Z][\w$]*(?:Exception|Error|Throwable))(?::\s*(.*))?$"
)


def note_step(exc: BaseException, step: str, run_id: str) -> None:
    """Records on ``exc`` that it escaped pipeline step ``step`` of run ``run_id`` (a note, once).

    Example:
        >>> exc = RuntimeError("boom"); note_step(exc, "silver_logs", "r1"); step_of(exc)
        ('silver_logs', 'r1')
    """
    if step_of(exc) == (None, None):
        exc.add_note(f"{_NOTE}{step} of run {run_id}")


def step_of(exc: BaseException) -> tuple[str | None, str | None]:
    """The (step, run id) :func:`note_step` recorded on ``exc``, or (None, None)."""
    for note in getattr(exc, "__notes__", ()):
        match = _NOTE_RE.match(str(note))
        if match:
            return match["step"], match["run"]
    return None, None


@dataclass(frozen=True)
class Headline:
    """One exception of a chain: its (Java or Python) class and the first line of its message."""

    cls: str
    message: str

    def __str__(self) -> str:
        return f"{self.cls}: {self.message}" if self.message else self.cls


@dataclass(frozen=True)
class Failure:
    """What one unexpected exception means for the user: the paragraph, the exit code, the trace file."""

    command: str
    step: str | None
    run_id: str | None
    where: str | None
    headline: Headline
    cause: Headline | None
    hint: str
    exit_code: int
    trace_path: Path | None = None

    def summary(self) -> list[str]:
        """The trace file's header: one ``field: value`` line each."""
        return [
            f"command: {self.command}", f"step: {self.step or '-'}", f"run: {self.run_id or '-'}",
            f"where: {self.where or '-'}", f"exception: {self.headline}", f"cause: {self.cause or '-'}",
            f"hint: {self.hint}", f"exit code: {self.exit_code}",
        ]

    def paragraph(self) -> str:
        """The one paragraph (one line) printed to stderr; see the module docstring."""
        text = f"careplus: error: {self.command} failed"
        if self.step:
            text += f" in step {self.step} (run {self.run_id})"
        if self.where:
            text += f" at {self.where}"
        text += f": {self.headline}"
        if self.cause is not None:
            text += f" (caused by {self.cause})"
        text += f". Hint: {self.hint}."
        text += f" Full trace: {self.trace_path}" if self.trace_path else " The trace could not be written"
        return f"{text} (exit code {self.exit_code})"


def _first_line(text: str) -> str:
    line = next((s.strip() for s in text.splitlines() if s.strip()), "")
    return line if len(line) <= _MESSAGE_CHARS else line[: _MESSAGE_CHARS - 3] + "..."


def _safe_str(exc: BaseException) -> str:
    """``str(exc)``; a Py4J error's ``str`` asks the JVM, which may be gone: then its local message."""
    try:
        return str(exc)
    except Exception:  # noqa: BLE001 - the JVM may be dead; fall back to what Python holds
        local = getattr(exc, "errmsg", "") or (exc.args[0] if exc.args else "")
        return str(local) or type(exc).__name__


def java_text(exc: BaseException) -> str | None:
    """The JVM's text of ``exc`` (its stack trace with ``Caused by:`` lines), None for a Python exception."""
    stack = getattr(exc, "_stackTrace", None)  # pyspark's CapturedException (AnalysisException, ...)
    if isinstance(stack, str) and stack:
        return stack
    if hasattr(exc, "java_exception"):  # py4j's Py4JJavaError: str() = call + Java stack trace
        return _safe_str(exc)
    return None


def _chain(exc: BaseException) -> Iterator[BaseException]:
    seen: set[int] = set()
    current: BaseException | None = exc
    for _ in range(_CHAIN_LIMIT):
        if current is None or id(current) in seen:
            return
        seen.add(id(current))
        yield current
        current = current.__cause__ or (None if current.__suppress_context__ else current.__context__)


def headlines(exc: BaseException) -> list[Headline]:
    """Every exception of ``exc``'s chain, outermost first: Python ones, and each Java one of a Py4J error.

    Example:
        >>> headlines(RuntimeError("An error occurred\\n: java.io.IOException: disk\\n\\tat x.Y(Y.java:1)"))
        [Headline(cls='RuntimeError', message='An error occurred')]
    """
    found: list[Headline] = []
    for item in _chain(exc):
        text = java_text(item)
        java = [Headline(m[1], _first_line(m[2] or "")) for m in map(_JAVA_HEAD.match, (text or "").splitlines())
                if m] if text else []
        found.extend(java or [Headline(_python_class(item), _first_line(_safe_str(item)))])
    return found


def _python_class(exc: BaseException) -> str:
    module = type(exc).__module__
    return type(exc).__name__ if module in ("builtins", "__main__") else f"{module}.{type(exc).__name__}"


def innermost_frame(exc: BaseException) -> str | None:
    """``careplus_spark/x/y.py:88 (function)``: the deepest frame of this package in ``exc``'s traceback."""
    ours = [f for f in traceback.extract_tb(exc.__traceback__) if _is_ours(f.filename)]
    if not ours:
        return None
    frame = ours[-1]
    relative = Path(frame.filename).resolve().relative_to(_PACKAGE_DIR.parent).as_posix()
    return f"{relative}:{frame.lineno} ({frame.name})"


def _is_ours(filename: str) -> bool:
    try:
        return Path(filename).resolve().is_relative_to(_PACKAGE_DIR)
    except (OSError, ValueError):
        return False


def places_of(cfg: AppConfig | None) -> dict[str, str]:
    """The settings hints name (lakehouse.root, s3.endpoint, ...), redacted; empty without a config."""
    if cfg is None:
        return {}
    return {
        "lakehouse.root": cfg.lakehouse.root,
        "s3.endpoint": cfg.s3.endpoint,
        "sources.tickets.url": redact(cfg.sources.tickets.url),
        "sources.logs.path": cfg.sources.logs.path,
        "spark.driver_memory": cfg.spark.driver_memory,
    }


def analyse(exc: BaseException, command: str, places: Mapping[str, str]) -> Failure:
    """The :class:`Failure` of ``exc`` (without its trace file) for the ``command`` that failed."""
    found = headlines(exc)
    rule, matched = classify(found)
    step, run_id = step_of(exc)
    headline = found[0]
    cause = matched if matched not in (None, headline) else (found[-1] if rule is None and len(found) > 1 else None)
    text = "\n".join(map(str, found))
    return Failure(
        command=command, step=step, run_id=run_id, where=innermost_frame(exc), headline=headline,
        cause=cause if cause != headline else None, hint=rule.hint(places, text) if rule else UNKNOWN_HINT,
        exit_code=rule.exit_code if rule else 1,
    )


def redact(text: str, values: Iterable[str] = ()) -> str:
    """``text`` through :func:`careplus_spark.platform.secrets.redact`, and the given secret ``values`` masked.

    Example:
        >>> redact("jdbc:mysql://app:hunter2@db/x?password=pw2 token abcd", ["abcd"])
        'jdbc:mysql://app:***@db/x?password=*** token ***'
    """
    text = secrets.redact(text)
    for value in sorted({v for v in values if len(v) >= 4}, key=len, reverse=True):
        text = text.replace(value, "***")
    return text


def _redacted(headline: Headline, values: Iterable[str]) -> Headline:
    return Headline(headline.cls, redact(headline.message, values))


def secret_values(cfg: AppConfig | None) -> list[str]:
    """The values of the configuration's secrets already in memory (environment ones; never fetched)."""
    found: list[str] = []

    def walk(value: object, depth: int) -> None:
        if isinstance(value, Secret):
            if value.source.startswith("env:") and value.is_set():
                found.append(value.reveal())
        elif dataclasses.is_dataclass(value) and not isinstance(value, type) and depth < 6:
            for item in dataclasses.fields(value):
                walk(getattr(value, item.name), depth + 1)

    walk(cfg, 0)
    return found


def trace_text(exc: BaseException, failure: Failure, values: Iterable[str] = ()) -> str:
    """The trace file's text: the paragraph, the Python traceback and the JVM stack trace, redacted."""
    try:
        python = "".join(traceback.format_exception(exc))
    except Exception:  # noqa: BLE001 - a Py4J error's str() needs the JVM
        python = "".join(traceback.format_tb(exc.__traceback__)) + f"{_python_class(exc)}: {_safe_str(exc)}\n"
    parts = [*failure.summary(), "", "Python traceback:", python]
    for item in _chain(exc):
        stack = getattr(item, "_stackTrace", None)
        if isinstance(stack, str) and stack:
            parts += [f"JVM stack trace of {_python_class(item)}:", stack]
    return redact("\n".join(parts), values) + "\n"


def trace_dirs(root: str | None) -> list[Path]:
    """Where a trace file may go, in order: the lakehouse's ``_logs/errors`` (local roots), the home's, the temp one.

    Example:
        >>> [p.as_posix() for p in trace_dirs("/lake")][0], len(trace_dirs("s3a://b/lake"))
        ('/lake/_logs/errors', 2)
    """
    local = _local_path(root)
    dirs = [Path(local) / "_logs" / "errors"] if local else []
    dirs.append(Path(os.path.expanduser("~")) / ".careplus" / "logs" / "errors")
    dirs.append(Path(tempfile.gettempdir()) / "careplus-logs" / "errors")
    return dirs


def _local_path(root: str | None) -> str | None:
    """The folder of a local lakehouse root (``/x``, ``file:/x``, ``file:///x``); None for ``s3a://`` and others."""
    if not root:
        return None
    if root.startswith("file:"):
        return "/" + root.removeprefix("file:").lstrip("/")
    return None if "://" in root else root


def write_trace(text: str, root: str | None, name: str) -> Path | None:
    """Writes ``text`` to ``<dir>/<name>.log`` in the first of :func:`trace_dirs` that takes it; None if none.

    A folder that fails (no permission, no space left) loses its partial file; the next one is tried.
    """
    for folder in trace_dirs(root):
        path = folder / f"{name}.log"
        try:
            folder.mkdir(parents=True, exist_ok=True)
            path.write_text(text, encoding="utf-8")
            return path
        except OSError:
            with contextlib.suppress(OSError):
                path.unlink(missing_ok=True)
    return None


def report(exc: BaseException, command: str, cfg: AppConfig | None, name: str) -> tuple[Failure, str]:
    """Analyses ``exc``, writes its trace file and returns the :class:`Failure` and the trace text.

    ``name`` names the file after the command (``run``, ``ingest_tickets``); the run id (or the
    UTC time and the process id) comes first. Never raises for a failure to write the file.
    """
    values = secret_values(cfg)
    failure = analyse(exc, command, places_of(cfg))
    failure = dataclasses.replace(
        failure, headline=_redacted(failure.headline, values), cause=failure.cause and _redacted(failure.cause, values)
    )
    stamp = failure.run_id or f"{dt.datetime.now(dt.UTC):%Y%m%dT%H%M%SZ}-{os.getpid()}"
    text = trace_text(exc, failure, values)
    path = write_trace(text, cfg.lakehouse.root if cfg else None, f"{stamp}-{name}")
    failure = dataclasses.replace(failure, trace_path=path)
    return failure, text
