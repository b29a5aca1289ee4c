"""The run lock's lease on an S3 root (``s3a://``) of the real S3 server: conditional PUTs (no Spark)."""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import replace

import pytest

from careplus_spark.errors import LockHeldError
from careplus_spark.lakehouse import lock as run_lock
from careplus_spark.lakehouse.lock import Owner, RunLock
from careplus_spark.lakehouse.lock_store import S3Store, store_for
from careplus_spark.platform.config import AppConfig
from tests.conftest import s3_config

WAIT_S = 60.0


@pytest.fixture(scope="module")
def lock_bucket(s3: object) -> Iterator[str]:
    bucket = s3.create_bucket("careplus-lock")  # type: ignore[attr-defined]
    yield bucket
    s3.delete_bucket(bucket)  # type: ignore[attr-defined]


@pytest.fixture
def s3_cfg(lakehouse: AppConfig, s3: object, lock_bucket: str) -> AppConfig:
    """The test config with an ``s3a://`` lakehouse root of this test's own on the S3 server."""
    cfg = s3_config(lakehouse, s3)
    return replace(cfg, lakehouse=replace(cfg.lakehouse, root=f"s3a://{lock_bucket}/lake-{uuid.uuid4().hex[:8]}"))


def make_lock(cfg: AppConfig, run_id: str, clock: float = 0.0) -> RunLock:
    return RunLock(store_for(cfg), Owner.current(run_id), expiry_s=300, heartbeat_s=30,
                   clock=lambda: time.time() + clock)


def keys(s3: object, bucket: str, cfg: AppConfig) -> list[str]:
    prefix = cfg.lakehouse.root.split(f"{bucket}/", 1)[1] + "/_lock/"
    page = s3.client().list_objects_v2(Bucket=bucket, Prefix=prefix)  # type: ignore[attr-defined]
    return sorted(obj["Key"].rsplit("/", 1)[-1] for obj in page.get("Contents", []))


def test_the_lease_lives_under_the_root_on_s3(s3_cfg: AppConfig, s3: object, lock_bucket: str) -> None:
    first = make_lock(s3_cfg, "r1")
    assert isinstance(first.store, S3Store)
    first.acquire()
    assert keys(s3, lock_bucket, s3_cfg) == ["lease-000000000001.json"]
    with pytest.raises(LockHeldError, match=rf"run lock of s3://{lock_bucket}/lake-\w+/_lock is held by run r1"):
        make_lock(s3_cfg, "r2").acquire(wait_s=0)
    assert first.renew()
    assert keys(s3, lock_bucket, s3_cfg) == ["lease-000000000002.json"]
    taker = make_lock(s3_cfg, "taker", clock=301.0)
    assert taker.try_acquire() and taker.took_over
    assert not first.renew() and first.lost_to is not None and first.lost_to.owner.run_id == "taker"
    taker.release()
    current = taker.current()
    assert current is not None and current.state == "released"
    assert keys(s3, lock_bucket, s3_cfg) == ["lease-000000000004.json"]


def _race(locks: list[RunLock], i: int, barrier: threading.Barrier, won: list[bool]) -> None:
    barrier.wait(WAIT_S)
    won[i] = locks[i].try_acquire()


@pytest.mark.parametrize("expired", [False, True], ids=["free", "expired"])
def test_runs_racing_for_one_s3_lease_exactly_one_wins(s3_cfg: AppConfig, expired: bool) -> None:
    for round_ in range(5):
        cfg = replace(s3_cfg, lakehouse=replace(s3_cfg.lakehouse, root=f"{s3_cfg.lakehouse.root}/{round_}"))
        if expired:
            make_lock(cfg, "dead").acquire()
        locks = [make_lock(cfg, f"r{i}", clock=1000.0) for i in range(4)]
        barrier, won = threading.Barrier(len(locks)), [False] * len(locks)
        threads = [threading.Thread(target=_race, args=(locks, i, barrier, won)) for i in range(len(locks))]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(WAIT_S)
        assert sum(won) == 1, (round_, won)
        winner = locks[won.index(True)]
        assert winner.current() == winner.lease


def test_hold_on_s3_releases_on_failure(s3_cfg: AppConfig) -> None:
    with pytest.raises(RuntimeError, match="boom"), run_lock.hold(s3_cfg, "r1") as lock:
        assert lock is not None and lock.current() == lock.lease
        raise RuntimeError("boom")
    with run_lock.hold(s3_cfg, "r2") as lock:
        assert lock is not None and lock.previous is not None and lock.previous.state == "released"
