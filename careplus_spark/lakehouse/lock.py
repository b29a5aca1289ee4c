"""The run lock: one pipeline run per lakehouse at a time, as a lease stored in the lakehouse.

The lease lives under ``<lakehouse.root>/_lock/`` as a log of numbered records,
``lease-000000000007.json``; the highest number is the lease. Every change (acquire,
heartbeat, takeover, release) writes the next number with an atomic create-if-absent:
``os.link`` of a complete temporary file on a local folder, a conditional PUT
(``If-None-Match: *``) on S3. Two runs that change the lease at once both try to create the
same number and exactly one succeeds; the other reads the lease again. Records below the
highest are deleted, the highest never is, so a run acting on an old view creates a number
below the highest, sees that when it lists the folder again, and gives up.

A record names its owner (run id, host, pid, user, command) and holds ``acquired_at``,
``heartbeat_at`` and ``expires_at``. The holder renews it every ``lakehouse.lock.heartbeat_s``
from a daemon thread; a lease whose heartbeat is older than ``lakehouse.lock.expiry_s`` (the
taker's setting) belongs to a dead run and is taken over; so is, at once, the lease of a run
whose process is gone from this machine (a run killed here). Hosts' clocks must agree to well
within the expiry. :func:`hold` takes the lock for a run (re-entrant for one run id in
one process) and releases it on exit, also on failure.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import getpass
import json
import logging
import os
import socket
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, replace
from pathlib import Path

from careplus_spark.errors import LockHeldError
from careplus_spark.lakehouse.lock_store import LeaseStore, store_for
from careplus_spark.platform.config import AppConfig

log = logging.getLogger(__name__)

_PREFIX, _SUFFIX, _DIGITS = "lease-", ".json", 12
HELD, RELEASED = "held", "released"
#: Longest pause between two looks at a held lock while waiting for it.
POLL_S = 2.0
#: Attempts at one change of the lease before giving up (each loses only to another run's change).
_ATTEMPTS = 20


@dataclass(frozen=True)
class Owner:
    """Who holds a lease: the run and its process."""

    run_id: str
    host: str
    pid: int
    user: str
    command: str
    #: ``boot id:pid namespace:start time`` of the process (Linux; empty elsewhere): see :meth:`Lease.owner_gone`
    process: str = ""

    @classmethod
    def current(cls, run_id: str) -> Owner:
        """This process as the owner of ``run_id`` (the command up to its first option: no values leak)."""
        program = Path(sys.argv[0]) if sys.argv and sys.argv[0] else Path("python")
        words = [program.parent.name if program.name == "__main__.py" else program.name]
        for arg in sys.argv[1:7]:
            if arg.startswith("-"):
                break
            words.append(arg)
        try:
            user = getpass.getuser()
        except (KeyError, OSError):
            user = "?"
        return cls(run_id, socket.gethostname(), os.getpid(), user, " ".join(words), _process(os.getpid()))


def _process(pid: int) -> str:
    """``boot id:pid namespace:start time`` of a live process of this machine; empty when gone or unknown."""
    try:
        boot = Path("/proc/sys/kernel/random/boot_id").read_text().strip()
        namespace = os.stat("/proc/self/ns/pid").st_ino
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return ""
    if len(fields) < 20 or fields[0] in ("Z", "X"):  # a zombie is as dead as a reaped process
        return ""
    return f"{boot}:{namespace}:{fields[19]}"  # field 22 of stat: start time, in clock ticks since boot


@dataclass(frozen=True)
class Lease:
    """One record of the lease log; times are seconds since the epoch."""

    generation: int
    token: str
    state: str
    owner: Owner
    acquired_at: float
    heartbeat_at: float
    expires_at: float

    def free(self, now: float, expiry_s: float) -> bool:
        """True when the lease can be taken: released, or no heartbeat for longer than ``expiry_s``."""
        return self.state == RELEASED or now - self.heartbeat_at > expiry_s

    def owner_gone(self) -> bool:
        """True when the holder ran on this machine (same boot and pid namespace) and its process is gone.

        Such a lease (a run killed here) is taken over at once, without waiting for its expiry.
        """
        recorded = self.owner.process
        here = _process(os.getpid())
        if self.state != HELD or not recorded or not here or recorded.rsplit(":", 1)[0] != here.rsplit(":", 1)[0]:
            return False
        return _process(self.owner.pid) != recorded

    def describe(self) -> str:
        """``run R (host H, pid P, user U: careplus run) since T, lease until T``."""
        o = self.owner
        return (f"run {o.run_id} (host {o.host}, pid {o.pid}, user {o.user}: {o.command}) since "
                f"{_utc(self.acquired_at)}, lease until {_utc(self.expires_at)} "
                f"(last heartbeat {_utc(self.heartbeat_at)})")

    def to_bytes(self) -> bytes:
        data = asdict(self)
        data.update({f"{k}_utc": _utc(getattr(self, k)) for k in ("acquired_at", "heartbeat_at", "expires_at")})
        return json.dumps(data, sort_keys=True).encode()

    @classmethod
    def from_bytes(cls, generation: int, data: bytes) -> Lease:
        """The record of ``generation``; an unreadable one counts as a lease that expired long ago."""
        try:
            raw = json.loads(data)
            return cls(generation, str(raw["token"]), str(raw["state"]), Owner(**raw["owner"]),
                       float(raw["acquired_at"]), float(raw["heartbeat_at"]), float(raw["expires_at"]))
        except (ValueError, KeyError, TypeError):
            return cls(generation, "?", HELD, Owner("?", "?", 0, "?", "unreadable lease record"), 0.0, 0.0, 0.0)


def _utc(seconds: float) -> str:
    return dt.datetime.fromtimestamp(seconds, dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _name(generation: int) -> str:
    return f"{_PREFIX}{generation:0{_DIGITS}d}{_SUFFIX}"


def _generation(name: str) -> int | None:
    digits = name[len(_PREFIX):-len(_SUFFIX)] if name.startswith(_PREFIX) and name.endswith(_SUFFIX) else ""
    return int(digits) if digits.isdigit() else None


class RunLock:
    """The lease of one run on one lakehouse: acquire, renew (heartbeat), release.

    Example:
        >>> lock = RunLock(store_for(cfg), Owner.current(run_id), expiry_s=300, heartbeat_s=30)  # doctest: +SKIP
        >>> lock.acquire(wait_s=0)  # doctest: +SKIP
    """

    def __init__(self, store: LeaseStore, owner: Owner, *, expiry_s: float, heartbeat_s: float,
                 clock: Callable[[], float] = time.time) -> None:
        self.store, self.owner, self.clock = store, owner, clock
        self.expiry_s, self.heartbeat_s = float(expiry_s), float(heartbeat_s)
        self.token = uuid.uuid4().hex
        self.lease: Lease | None = None
        #: the record found when acquiring: None (no lease yet), released, or expired (taken over)
        self.previous: Lease | None = None
        #: True once this run learnt that its lease is gone (a failed renewal, or :meth:`check`)
        self.lost = False
        #: the lease of whoever took the lock from this run (None: nobody, its record is gone)
        self.lost_to: Lease | None = None
        self._mutex = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    @property
    def took_over(self) -> bool:
        """True when this run acquired the lock by taking over another run's expired lease."""
        return self.previous is not None and self.previous.state == HELD

    def current(self) -> Lease | None:
        """The lease as it is now (the highest record); None when the folder holds none.

        Raises:
            SourceUnavailableError: the lakehouse cannot be reached.
        """
        for _ in range(_ATTEMPTS):
            generations = self._generations()
            if not generations:
                return None
            data = self.store.read(_name(generations[-1]))
            if data is not None:  # else superseded and deleted since the listing: list again
                return Lease.from_bytes(generations[-1], data)
        return None

    def try_acquire(self) -> bool:
        """Takes the lock when it is free (no lease, released or expired); False when another run holds it.

        Raises:
            SourceUnavailableError: the lakehouse cannot be reached.
        """
        for _ in range(_ATTEMPTS):
            found = self.current()
            now = self.clock()
            if found is not None and not found.free(now, self.expiry_s) and not found.owner_gone():
                if found.token == self.token:  # a retried write of ours that did succeed
                    self.lease = found
                    return True
                return False
            lease = Lease((found.generation if found else 0) + 1, self.token, HELD, self.owner,
                          now, now, now + self.expiry_s)
            if self._write(lease):
                self.lease, self.previous, self.lost, self.lost_to = lease, found, False, None
                return True
        return False

    def acquire(self, wait_s: float = 0.0, say: Callable[[str], None] | None = None) -> None:
        """Takes the lock, waiting up to ``wait_s`` seconds for another run to release it.

        Raises:
            LockHeldError: another run still holds it after ``wait_s`` (one line: who, since when, until when).
            SourceUnavailableError: the lakehouse cannot be reached.
        """
        deadline = time.monotonic() + max(0.0, wait_s)
        announced = False
        for _ in range(int(max(0.0, wait_s) / 0.1) + 2):  # polls are >= 0.1 s apart
            if self.try_acquire():
                return
            holder = self.current()
            left = deadline - time.monotonic()
            if left <= 0 or holder is None:
                break
            if not announced and say is not None:
                say(f"waiting up to {wait_s:.0f} s for the run lock of {self.store.where}, held by "
                    f"{holder.describe()}")
                announced = True
            time.sleep(min(POLL_S, max(0.1, left)))
        holder = self.current()
        who = holder.describe() if holder is not None else "another run (it changed hands while we looked)"
        raise LockHeldError(
            f"the run lock of {self.store.where} is held by {who}; waited {max(0.0, wait_s):.0f} s. "
            f"Wait for it with --wait-lock SECONDS (lakehouse.lock.wait_s); a run that died loses its lease "
            f"{self.expiry_s:.0f} s after its last heartbeat (lakehouse.lock.expiry_s), at once if it ran "
            "on this machine")

    def renew(self) -> bool:
        """Extends the lease (a heartbeat); False when another run has taken it (see :attr:`lost_to`).

        Raises:
            SourceUnavailableError: the lakehouse cannot be reached.
        """
        with self._mutex:
            if self.lease is None or self.lost:
                return False
            now = self.clock()
            renewed = replace(self.lease, generation=self.lease.generation + 1, heartbeat_at=now,
                              expires_at=now + self.expiry_s)
            if self._write(renewed):
                self.lease = renewed
                return True
            self.lost, self.lost_to = True, self.current()
            return False

    def release(self) -> None:
        """Stops the heartbeat and marks the lease released (when this run still holds it).

        Raises:
            SourceUnavailableError: the lakehouse cannot be reached.
        """
        self.stop_heartbeat()
        with self._mutex:
            if self.lease is None or self.lost:
                return
            released = replace(self.lease, generation=self.lease.generation + 1, state=RELEASED,
                               heartbeat_at=self.clock())
            if self._write(released):
                self.lease = None

    def check(self, what: str) -> None:
        """Raises when this run no longer holds its lease (taken over, gone, or not renewed for ``expiry_s``).

        Reads the lease (one listing and one read), so a takeover is noticed before the next
        heartbeat would notice it.

        Raises:
            LockHeldError: naming the run that holds the lock now, and ``what`` was not done.
            SourceUnavailableError: the lakehouse cannot be reached.
        """
        with self._mutex:
            if self.lease is not None and not self.lost:
                current = self.current()
                if current is None or current.token != self.token:
                    self.lost, self.lost_to = True, current
        overdue = self.lease is not None and self.clock() - self.lease.heartbeat_at > self.expiry_s
        if not self.lost and not overdue:
            return
        who = (self.lost_to.describe() if self.lost_to is not None else
               "nobody: its lease record is gone" if self.lost else
               "nobody yet: its heartbeats failed for longer than lakehouse.lock.expiry_s")
        raise LockHeldError(f"run {self.owner.run_id} lost the run lock of {self.store.where}, now held by "
                            f"{who}: {what} not done")

    def start_heartbeat(self) -> None:
        """Renews the lease every ``heartbeat_s`` in a daemon thread until :meth:`stop_heartbeat` or a loss."""
        if self._thread is None:
            self._stop.clear()
            self._thread = threading.Thread(target=self._beat, name="careplus-run-lock", daemon=True)
            self._thread.start()

    def stop_heartbeat(self) -> None:
        """Stops the heartbeat thread (waits for a renewal under way)."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=self.heartbeat_s + 60)
            self._thread = None

    def _beat(self) -> None:
        while not self._stop.wait(self.heartbeat_s):
            try:
                if not self.renew():
                    log.error("run %s lost the run lock of %s to %s", self.owner.run_id, self.store.where,
                              self.lost_to.describe() if self.lost_to else "another run")
                    return
            except Exception as exc:  # noqa: BLE001 - a missed heartbeat is retried; check() tells the run
                log.warning("run lock heartbeat of %s failed: %s", self.store.where, exc)

    def _generations(self) -> list[int]:
        return sorted(g for g in map(_generation, self.store.names(_PREFIX)) if g is not None)

    def _write(self, lease: Lease) -> bool:
        """Creates ``lease``'s record if absent and checks that it is the highest; deletes the older ones."""
        name = _name(lease.generation)
        if not self.store.create(name, lease.to_bytes()):
            found = self.current()  # a retried PUT of ours may have succeeded the first time
            return found is not None and found.token == lease.token and found.generation == lease.generation
        generations = self._generations()
        if generations and generations[-1] != lease.generation:  # created a gap left by a deleted record
            self.store.delete(name)
            return False
        for older in generations[:-1]:
            self.store.delete(_name(older))
        return True


#: Locks held by this process, by (lakehouse root, run id): :func:`hold` is re-entrant.
_HELD: dict[tuple[str, str], RunLock] = {}


@contextlib.contextmanager
def hold(cfg: AppConfig, run_id: str, *, wait_s: float | None = None,
         say: Callable[[str], None] | None = None) -> Iterator[RunLock | None]:
    """Holds the run lock of ``cfg``'s lakehouse for ``run_id`` inside the block (None when disabled).

    Re-entrant: inside a block of the same run and lakehouse it yields the held lock again. The
    heartbeat runs while the block lasts; the lease is released when the outer block exits, also
    on an exception.

    Example:
        >>> with hold(cfg, ctx.run_id, wait_s=60, say=print) as lock:  # doctest: +SKIP
        ...     run_the_steps()

    Raises:
        LockHeldError: another run holds the lock after ``wait_s`` (default ``lakehouse.lock.wait_s``).
        ConfigError: a lakehouse root the lock cannot use (neither a local folder nor S3).
        SourceUnavailableError: the lakehouse cannot be reached.
    """
    settings = cfg.lakehouse.lock
    key = (cfg.lakehouse.root, run_id)
    if not settings.enabled or key in _HELD:
        yield _HELD.get(key)
        return
    lock = RunLock(store_for(cfg), Owner.current(run_id), expiry_s=settings.expiry_s,
                   heartbeat_s=settings.heartbeat_s)
    lock.acquire(settings.wait_s if wait_s is None else wait_s, say)
    if lock.took_over and lock.previous is not None and say is not None:
        why = "its process is gone" if lock.previous.owner_gone() else "its lease expired"
        say(f"took over the run lock of {lock.store.where} from {lock.previous.describe()}: {why}")
    _HELD[key] = lock
    lock.start_heartbeat()
    try:
        yield lock
    finally:
        del _HELD[key]
        try:
            lock.release()
        except Exception as exc:  # noqa: BLE001 - the block's own error matters more; the lease expires
            log.warning("could not release the run lock of %s (it expires on its own): %s", lock.store.where, exc)
