"""The test harness (tests/services.py) without a server: port waits, errors, a missing binary."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from tests import services
from tests.services import S3Server, ServiceError, ServiceNotInstalledError, find_free_port, wait_for_port


def test_wait_for_port_times_out_on_closed_port() -> None:
    port = find_free_port()
    started = time.monotonic()
    with pytest.raises(TimeoutError):
        wait_for_port("127.0.0.1", port, timeout_s=0.6, interval_s=0.1)
    assert time.monotonic() - started < 3.0


def test_service_error_is_a_runtime_error() -> None:
    assert issubclass(ServiceNotInstalledError, ServiceError)
    assert issubclass(ServiceError, RuntimeError)


def test_missing_versitygw_is_reported(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(services.ENV_S3_ENDPOINT, raising=False)
    monkeypatch.setenv(services.ENV_VERSITYGW, str(tmp_path / "absent"))
    with pytest.raises(ServiceNotInstalledError, match="CAREPLUS_VERSITYGW"):
        S3Server.start_or_reuse()
