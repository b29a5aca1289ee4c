"""``careplus``: an unexpected exception is one paragraph on stderr, the trace in a file (on stderr with --debug)."""

from __future__ import annotations

import argparse
from pathlib import Path

import pytest

from careplus_spark import cli
from tests.conftest import CONF_DIR
from tests.unit.platform.test_failure import concurrent_append


@pytest.fixture
def failing_jars(monkeypatch: pytest.MonkeyPatch) -> None:
    def handler(args: argparse.Namespace) -> int:
        raise concurrent_append()

    monkeypatch.setattr(cli, "_cmd_jars", handler)


def jars(tmp_path: Path, *extra: str) -> list[str]:
    return ["jars", "--env", "test", "--conf-dir", str(CONF_DIR), "--set", f"lakehouse.root={tmp_path / 'lake'}",
            *extra]


@pytest.mark.usefixtures("failing_jars")
def test_an_unexpected_java_error_is_one_paragraph_with_the_trace_in_a_file(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code = cli.main(jars(tmp_path))
    err = capsys.readouterr().err
    assert code == 6
    assert err.count("\n") == 1 and "Traceback" not in err and "\tat " not in err
    assert err.startswith("careplus: error: careplus jars failed at careplus_spark/cli.py")
    assert "io.delta.exceptions.ConcurrentAppendException" in err and "is another run active?" in err
    trace = Path(err.split("Full trace: ")[1].split(" (exit code")[0])
    assert trace.parent == tmp_path / "lake" / "_logs" / "errors"
    assert "Some.method19999" in trace.read_text(encoding="utf-8")


@pytest.mark.usefixtures("failing_jars")
def test_debug_shows_the_trace_on_the_console_too(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code = cli.main(jars(tmp_path, "--debug"))
    err = capsys.readouterr().err
    assert code == 6
    assert "Python traceback:" in err and "Some.method19999" in err
    assert err.rstrip().splitlines()[-1].startswith("careplus: error: careplus jars failed")
