"""The jobs (spark-submit, EMR, Glue): an unexpected exception is one logged paragraph and an exit code by class."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from careplus_spark.pipeline import entry
from tests.unit.pipeline.test_entry import CONF_DIR
from tests.unit.platform.test_failure import concurrent_append


def test_an_unexpected_java_error_is_one_paragraph_with_exit_code_by_class(
    caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    def failing_session(*_args: object, **_kwargs: object) -> None:
        raise concurrent_append()

    monkeypatch.setenv("CAREPLUS_CONF_DIR", str(CONF_DIR))
    monkeypatch.setattr(entry, "open_lakehouse", failing_session)
    caplog.set_level(logging.INFO, logger="careplus.job")
    code = entry.run_job(["ingest_tickets"], ["--env", "test", "--set", f"lakehouse.root={tmp_path / 'lake'}"])
    assert code == 6
    errors = [r.getMessage() for r in caplog.records if r.levelno == logging.ERROR]
    assert len(errors) == 1 and "\n" not in errors[0]
    assert errors[0].startswith("careplus: error: job ingest_tickets failed at careplus_spark/pipeline/entry.py")
    assert "io.delta.exceptions.ConcurrentAppendException" in errors[0]
    trace = Path(errors[0].split("Full trace: ")[1].split(" (exit code")[0])
    assert trace.parent == tmp_path / "lake" / "_logs" / "errors" and trace.name.endswith("-ingest_tickets.log")
