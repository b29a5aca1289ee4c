"""The run lock's lease on a local folder: acquire, refuse, expire, renew, release, races (no Spark)."""

from __future__ import annotations

import multiprocessing
import os
import socket
import threading
import time
from dataclasses import replace
from pathlib import Path

import pytest

from careplus_spark.errors import ConfigError, LockHeldError
from careplus_spark.lakehouse import lock as run_lock
from careplus_spark.lakehouse.lock import Owner, RunLock
from careplus_spark.lakehouse.lock_store import LocalStore, S3Store, store_for
from careplus_spark.platform.config import AppConfig

WAIT_S = 60.0  # upper bound of the waits below (never reached when the code works)


def make_lock(folder: Path, run_id: str, clock: float = 0.0, expiry_s: float = 300.0,
              heartbeat_s: float = 30.0) -> RunLock:
    """A lock of ``run_id`` on ``folder``; ``clock`` shifts its wall clock (seconds)."""
    return RunLock(LocalStore(folder), Owner.current(run_id), expiry_s=expiry_s, heartbeat_s=heartbeat_s,
                   clock=lambda: time.time() + clock)


def records(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.name.startswith("lease-"))


def test_a_free_lock_is_acquired_and_the_lease_names_its_owner(tmp_path: Path) -> None:
    lock = make_lock(tmp_path, "r1")
    assert lock.try_acquire()
    lease = lock.current()
    assert lease is not None and lease.token == lock.token and lease.state == "held"
    assert (lease.owner.run_id, lease.owner.host, lease.owner.pid) == ("r1", socket.gethostname(), os.getpid())
    assert lease.expires_at == lease.heartbeat_at + 300 and lease.acquired_at == lease.heartbeat_at
    assert lock.previous is None and not lock.took_over
    assert records(tmp_path) == ["lease-000000000001.json"]


def test_a_second_run_is_refused_with_one_line_naming_the_holder(tmp_path: Path) -> None:
    first, second = make_lock(tmp_path, "r1"), make_lock(tmp_path, "r2")
    first.acquire()
    assert not second.try_acquire()
    with pytest.raises(LockHeldError) as caught:
        second.acquire(wait_s=0)
    message = str(caught.value)
    assert "\n" not in message
    lease = first.lease
    assert lease is not None
    for part in ("run r1", f"host {socket.gethostname()}", f"pid {os.getpid()}", "since ", "lease until ",
                 "--wait-lock"):
        assert part in message
    assert caught.value.exit_code == 6
    assert first.current() == lease  # the refused run changed nothing


def test_an_expired_lease_is_taken_over_and_its_holder_learns_it(tmp_path: Path) -> None:
    dead = make_lock(tmp_path, "dead")
    dead.acquire()
    taker = make_lock(tmp_path, "taker", clock=301.0)  # 301 s later: no heartbeat for longer than expiry_s
    assert taker.try_acquire()
    assert taker.took_over and taker.previous is not None and taker.previous.owner.run_id == "dead"
    assert not dead.renew()
    assert dead.lost_to is not None and dead.lost_to.owner.run_id == "taker"
    with pytest.raises(LockHeldError, match=r"run dead lost the run lock .* run taker"):
        dead.check("the next step")
    current = taker.current()
    assert current is not None and current.owner.run_id == "taker"


def test_check_notices_a_takeover_before_any_heartbeat(tmp_path: Path) -> None:
    holder = make_lock(tmp_path, "slow")
    holder.acquire()
    holder.check("step one")  # still the holder: nothing raised
    assert make_lock(tmp_path, "taker", clock=301.0).try_acquire()
    with pytest.raises(LockHeldError, match=r"run slow lost the run lock .* run taker .*: step two not done"):
        holder.check("step two")
    holder.release()  # a lost lease is not released over the taker's
    current = holder.current()
    assert current is not None and current.owner.run_id == "taker" and current.state == "held"


def _acquire_and_die(folder: str) -> None:
    make_lock(Path(folder), "killed").acquire()
    os._exit(0)  # no release, no cleanup: as if killed


def test_the_lease_of_a_process_gone_from_this_machine_is_taken_over_at_once(tmp_path: Path) -> None:
    child = multiprocessing.get_context("spawn").Process(target=_acquire_and_die, args=(str(tmp_path),))
    child.start()
    child.join(WAIT_S)
    lease = make_lock(tmp_path, "reader").current()
    assert lease is not None and lease.owner.pid == child.pid and lease.owner_gone()
    taker = make_lock(tmp_path, "taker")  # no clock shift: the lease has not expired
    assert taker.try_acquire() and taker.took_over and taker.previous == lease
    assert not taker.current().owner_gone()  # type: ignore[union-attr] - this process is alive


def test_a_lease_from_another_machine_is_not_judged_by_local_processes(tmp_path: Path) -> None:
    holder = make_lock(tmp_path, "elsewhere")
    holder.owner = replace(holder.owner, pid=2**22 + 7, process="another-boot-id:1:1")
    holder.acquire()
    assert not make_lock(tmp_path, "taker").try_acquire()


def test_a_lease_within_its_expiry_is_not_taken_over(tmp_path: Path) -> None:
    make_lock(tmp_path, "alive").acquire()
    assert not make_lock(tmp_path, "taker", clock=299.0).try_acquire()


def test_a_heartbeat_extends_the_lease_and_keeps_one_record(tmp_path: Path) -> None:
    offset = [0.0]
    lock = RunLock(LocalStore(tmp_path), Owner.current("r1"), expiry_s=300, heartbeat_s=30,
                   clock=lambda: time.time() + offset[0])
    lock.acquire()
    before = lock.current()
    offset[0] = 200.0
    assert lock.renew()
    after = lock.current()
    assert before is not None and after is not None
    assert after.generation == before.generation + 1 and after.acquired_at == before.acquired_at
    assert after.heartbeat_at >= before.heartbeat_at + 200 and after.expires_at == after.heartbeat_at + 300
    assert records(tmp_path) == ["lease-000000000002.json"]
    # 301 s after the first heartbeat the lease would be gone; after the renewal it is not
    assert not make_lock(tmp_path, "taker", clock=301.0).try_acquire()


def test_the_heartbeat_thread_renews_until_stopped(tmp_path: Path) -> None:
    lock = make_lock(tmp_path, "r1", heartbeat_s=0.05)
    lock.acquire()
    lock.start_heartbeat()
    deadline = time.monotonic() + WAIT_S
    while (lock.lease is None or lock.lease.generation < 3) and time.monotonic() < deadline:
        time.sleep(0.05)
    lock.stop_heartbeat()
    assert lock.lease is not None and lock.lease.generation >= 3
    stopped_at = lock.lease.generation
    time.sleep(0.3)
    assert lock.current() is not None and lock.current().generation == stopped_at  # type: ignore[union-attr]


def test_release_frees_the_lock_for_the_next_run(tmp_path: Path) -> None:
    first = make_lock(tmp_path, "r1")
    first.acquire()
    first.release()
    lease = first.current()
    assert lease is not None and lease.state == "released"
    second = make_lock(tmp_path, "r2")
    assert second.try_acquire() and not second.took_over
    assert second.previous is not None and second.previous.owner.run_id == "r1"


def test_waiting_gets_the_lock_when_the_holder_releases_it(tmp_path: Path) -> None:
    holder, waiter = make_lock(tmp_path, "r1"), make_lock(tmp_path, "r2")
    holder.acquire()
    said: list[str] = []
    releaser = threading.Thread(target=lambda: (_wait_for(lambda: bool(said)), holder.release()))
    releaser.start()
    waiter.acquire(wait_s=WAIT_S, say=said.append)
    releaser.join(WAIT_S)
    assert waiter.lease is not None and waiter.current() == waiter.lease
    assert said[0].startswith("waiting up to 60 s for the run lock") and "run r1" in said[0]


def _wait_for(condition: object) -> None:
    deadline = time.monotonic() + WAIT_S
    while not condition() and time.monotonic() < deadline:  # type: ignore[operator]
        time.sleep(0.02)


def test_a_writer_with_an_old_view_cannot_fill_a_deleted_gap(tmp_path: Path) -> None:
    holder = make_lock(tmp_path, "r1")
    holder.acquire()
    for _ in range(3):
        assert holder.renew()
    assert records(tmp_path) == ["lease-000000000004.json"]
    stale = make_lock(tmp_path, "stale", clock=1000.0)
    lease = replace(holder.lease, generation=2, token=stale.token, owner=stale.owner)  # type: ignore[type-var]
    assert not stale._write(lease)  # noqa: SLF001 - the guard against an old view, directly
    assert records(tmp_path) == ["lease-000000000004.json"]


def _race(folder: str, run_id: str, clock: float, start: object, results: object, done: object) -> None:
    lock = make_lock(Path(folder), run_id, clock=clock)
    start.wait()  # type: ignore[attr-defined]
    results.put((run_id, lock.try_acquire()))  # type: ignore[attr-defined]
    done.wait(WAIT_S)  # type: ignore[attr-defined] - alive until all raced: a dead winner's lease is free


@pytest.mark.parametrize("expired", [False, True], ids=["free", "expired"])
def test_processes_racing_for_one_lease_exactly_one_wins(tmp_path: Path, expired: bool) -> None:
    if expired:
        make_lock(tmp_path, "dead").acquire()
    context = multiprocessing.get_context("spawn")
    start, results, done = context.Event(), context.Queue(), context.Event()
    racers = [context.Process(target=_race, args=(str(tmp_path), f"r{i}", 1000.0, start, results, done))
              for i in range(4)]
    for racer in racers:
        racer.start()
    start.set()
    outcomes = dict(results.get(timeout=WAIT_S) for _ in racers)
    done.set()
    for racer in racers:
        racer.join(WAIT_S)
    winners = [run for run, won in outcomes.items() if won]
    assert len(winners) == 1, outcomes
    current = make_lock(tmp_path, "reader").current()
    assert current is not None and current.owner.run_id == winners[0]


def _race_thread(locks: list[RunLock], i: int, barrier: threading.Barrier, won: list[bool]) -> None:
    barrier.wait(WAIT_S)
    won[i] = locks[i].try_acquire()


def test_threads_racing_round_after_round_exactly_one_wins_each(tmp_path: Path) -> None:
    for round_ in range(15):
        folder = tmp_path / str(round_)
        locks = [make_lock(folder, f"r{i}") for i in range(6)]
        barrier = threading.Barrier(len(locks))
        won: list[bool] = [False] * len(locks)

        threads = [threading.Thread(target=_race_thread, args=(locks, i, barrier, won)) for i in range(len(locks))]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(WAIT_S)
        assert sum(won) == 1, (round_, won)


def test_hold_is_reentrant_and_releases_on_failure(lakehouse: AppConfig) -> None:
    with pytest.raises(RuntimeError, match="boom"), run_lock.hold(lakehouse, "r1") as outer:
        with run_lock.hold(lakehouse, "r1") as inner:
            assert inner is outer and outer is not None
        with pytest.raises(LockHeldError, match="held by run r1"), run_lock.hold(lakehouse, "r2"):
            pass
        raise RuntimeError("boom")
    with run_lock.hold(lakehouse, "r2") as lock:
        assert lock is not None and not lock.took_over
        assert lock.previous is not None and lock.previous.state == "released"


def test_hold_does_nothing_when_the_lock_is_disabled(lakehouse: AppConfig) -> None:
    disabled = replace(lakehouse, lakehouse=replace(
        lakehouse.lakehouse, lock=replace(lakehouse.lakehouse.lock, enabled=False)))
    with run_lock.hold(disabled, "r1") as lock:
        assert lock is None
    assert not (Path(disabled.lakehouse.root) / "_lock").exists()


def test_the_lock_folder_follows_the_root(lakehouse: AppConfig) -> None:
    def at(root: str) -> AppConfig:
        return replace(lakehouse, lakehouse=replace(lakehouse.lakehouse, root=root))

    assert store_for(at("/data/lake")).where == "/data/lake/_lock"
    assert store_for(at("file:///data/lake")).where == "/data/lake/_lock"
    s3 = store_for(at("s3a://bucket/some/lake"))
    assert isinstance(s3, S3Store) and s3.where == "s3://bucket/some/lake/_lock"
    with pytest.raises(ConfigError, match=r"lakehouse\.lock\.enabled=false"):
        store_for(at("hdfs://nn/lake"))
