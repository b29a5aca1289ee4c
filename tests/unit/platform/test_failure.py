"""Unexpected errors: one paragraph (what, where, the exception, a hint), an exit code by class, a trace file."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

from careplus_spark.lakehouse.run import new_run_id
from careplus_spark.platform import failure
from careplus_spark.platform.config import AppConfig, load_config
from careplus_spark.platform.secrets import Secret
from tests.conftest import CONF_DIR

FRAMES = "\n".join(f"\tat org.apache.spark.Some.method{i}(Some.scala:{i})" for i in range(20_000))


class FakeJavaError(Exception):
    """Looks like py4j's Py4JJavaError: a ``java_exception`` and a ``str`` holding the JVM stack trace."""

    def __init__(self, text: str, errmsg: str = "An error occurred while calling o42.save") -> None:
        super().__init__(errmsg)
        self.errmsg = errmsg
        self.java_exception = object()
        self._text = text

    def __str__(self) -> str:
        return self._text


class DeadJvmError(FakeJavaError):
    """A Py4J error whose ``str`` needs a JVM that is gone."""

    def __str__(self) -> str:
        raise ConnectionRefusedError("py4j gateway is gone")


class FakeCaptured(Exception):
    """Looks like pyspark's CapturedException: the JVM trace in ``_stackTrace``."""

    def __init__(self, desc: str, stack: str) -> None:
        super().__init__(desc)
        self._stackTrace = stack


def concurrent_append() -> FakeJavaError:
    return FakeJavaError(
        "An error occurred while calling o42.save.\n"
        ": org.apache.spark.SparkException: Job aborted due to a commit conflict\n"
        f"{FRAMES}\n"
        "Caused by: io.delta.exceptions.ConcurrentAppendException: Files were added to the root of the table "
        "by a concurrent update. Please try the operation again.\n"
        "\tat io.delta.Foo.bar(Foo.scala:1)\n"
    )


@pytest.fixture
def cfg(tmp_path: Path) -> AppConfig:
    return load_config("test", overrides=[f"lakehouse.root={tmp_path / 'lake'}"], conf_dir=CONF_DIR, environ={})


def raised_in_package() -> AttributeError:
    """An exception whose traceback passes through careplus_spark/lakehouse/run.py."""
    try:
        new_run_id("not a datetime")  # type: ignore[arg-type]
    except AttributeError as exc:
        return exc
    raise AssertionError("new_run_id accepted a string")


def test_a_java_concurrent_append_is_one_line_with_the_java_class_hint_and_exit_6(cfg: AppConfig) -> None:
    exc = concurrent_append()
    failure.note_step(exc, "silver_logs", "20250701T020000Z-1a2b3c4d")
    found, text = failure.report(exc, "careplus run", cfg, "run")
    paragraph = found.paragraph()
    assert "\n" not in paragraph and len(paragraph) < 1500
    assert paragraph.startswith("careplus: error: careplus run failed in step silver_logs (run 20250701T020000Z-1a2b")
    assert "org.apache.spark.SparkException: Job aborted due to a commit conflict" in paragraph
    assert "(caused by io.delta.exceptions.ConcurrentAppendException: Files were added" in paragraph
    assert "another writer changed the table; is another run active? See the run lock" in paragraph
    assert found.exit_code == 6
    assert found.trace_path == Path(cfg.lakehouse.root) / "_logs" / "errors" / "20250701T020000Z-1a2b3c4d-run.log"
    assert f"Full trace: {found.trace_path} (exit code 6)" in paragraph
    written = found.trace_path.read_text(encoding="utf-8")
    assert written == text and "Some.method19999(Some.scala:19999)" in written
    assert "exception: org.apache.spark.SparkException" in written


@pytest.mark.parametrize(
    ("exc", "code", "hint"),
    [
        (OSError(28, "No space left on device"), 4, "no space left on device: free space on the file system of"),
        (FakeJavaError(": java.lang.OutOfMemoryError: Java heap space"), 1, "raise spark.driver_memory (now 2g)"),
        (FakeJavaError(": java.nio.file.AccessDeniedException: /lake/x"), 4, "permission denied"),
        (FakeJavaError(": java.io.FileNotFoundException: /lake/x (No such file)"), 4, "a file or folder is missing"),
        (FakeJavaError(": java.lang.ClassNotFoundException: io.delta.Foo"), 3, "run careplus setup"),
        (FakeJavaError(": org.apache.spark.SparkException: Job aborted\nCaused by: "
                       "com.mysql.cj.jdbc.exceptions.CommunicationsException: Communications link failure"),
         4, "a server did not answer: the tickets database jdbc:sqlite:"),
        (FakeJavaError(": org.apache.hadoop.fs.s3a.AWSClientIOException: getFileStatus on s3a://b/x: "
                       "Unable to execute HTTP request: Connection refused"),
         4, "a server did not answer: the S3 endpoint"),
        (ZeroDivisionError("division by zero"), 1, "run with --debug"),
    ],
)
def test_exit_code_and_hint_by_class(cfg: AppConfig, exc: BaseException, code: int, hint: str) -> None:
    found = failure.analyse(exc, "careplus run", failure.places_of(cfg))
    assert found.exit_code == code
    assert hint in found.hint


def test_the_disk_full_hint_names_the_lakehouse_root(cfg: AppConfig) -> None:
    found = failure.analyse(OSError(28, "No space left on device"), "careplus run", failure.places_of(cfg))
    assert cfg.lakehouse.root in found.paragraph()
    assert "[Errno 28] No space left on device" in found.paragraph()


def test_where_is_the_innermost_frame_of_the_package(cfg: AppConfig) -> None:
    found = failure.analyse(raised_in_package(), "careplus run", failure.places_of(cfg))
    assert found.where is not None
    assert found.where.startswith("careplus_spark/lakehouse/run.py:") and found.where.endswith("(new_run_id)")
    assert " at careplus_spark/lakehouse/run.py:" in found.paragraph()


def test_a_captured_spark_exception_shows_the_java_class_from_its_stack_trace() -> None:
    exc = FakeCaptured("[PATH_NOT_FOUND] Path does not exist: /x.", "org.apache.spark.sql.AnalysisException: "
                       "[PATH_NOT_FOUND] Path does not exist: /x.\n\tat a.B.c(B.scala:1)")
    found = failure.analyse(exc, "careplus run", {})
    assert str(found.headline) == "org.apache.spark.sql.AnalysisException: [PATH_NOT_FOUND] Path does not exist: /x."
    assert found.exit_code == 4


def test_a_py4j_error_whose_jvm_is_gone_still_gets_its_paragraph(cfg: AppConfig) -> None:
    found, text = failure.report(DeadJvmError(""), "careplus run", cfg, "run")
    assert "An error occurred while calling o42.save" in found.paragraph()
    assert found.trace_path is not None and "DeadJvmError" in text


def test_no_step_no_run_id_names_the_file_after_the_time_and_command(cfg: AppConfig) -> None:
    found, _ = failure.report(ZeroDivisionError("x"), "careplus sql", cfg, "sql")
    assert found.paragraph().startswith("careplus: error: careplus sql failed: ZeroDivisionError: x. Hint:")
    assert found.trace_path is not None and found.trace_path.name.endswith("-sql.log")


def test_the_trace_file_holds_no_secret_value(cfg: AppConfig) -> None:
    tickets = replace(cfg.sources.tickets, password=Secret("Hunter2-Sekrit", "env:CAREPLUS_MYSQL_PASSWORD"))
    cfg = replace(cfg, sources=replace(cfg.sources, tickets=tickets))
    exc = FakeJavaError(": java.sql.SQLException: Access denied for jdbc:mysql://app:pw-in-url@db/x "
                        "with Hunter2-Sekrit\n\tat x.Y(Y.java:1)")
    found, _text = failure.report(exc, "careplus run", cfg, "run")
    assert found.trace_path is not None
    written = found.trace_path.read_text(encoding="utf-8")
    for leaked in ("Hunter2-Sekrit", "pw-in-url"):
        assert leaked not in written and leaked not in found.paragraph()


def test_an_s3_root_puts_the_trace_under_the_home_folder(
    cfg: AppConfig, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    cfg = replace(cfg, lakehouse=replace(cfg.lakehouse, root="s3a://bucket/lake"))
    found, _ = failure.report(ZeroDivisionError("x"), "careplus run", cfg, "run")
    assert found.trace_path is not None
    assert found.trace_path.parent == tmp_path / "home" / ".careplus" / "logs" / "errors"


def test_an_unwritable_lakehouse_falls_back_to_the_home_folder(
    cfg: AppConfig, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    Path(cfg.lakehouse.root).mkdir(parents=True)
    (Path(cfg.lakehouse.root) / "_logs").write_text("a file where the folder should be", encoding="utf-8")
    found, _ = failure.report(ZeroDivisionError("x"), "careplus run", cfg, "run")
    assert found.trace_path is not None and found.trace_path.is_relative_to(tmp_path / "home")


@pytest.mark.parametrize(
    ("root", "first"),
    [("/lake", "/lake/_logs/errors"), ("file:/lake", "/lake/_logs/errors"), ("file:///lake", "/lake/_logs/errors")],
)
def test_trace_dirs_of_local_roots(root: str, first: str) -> None:
    assert failure.trace_dirs(root)[0].as_posix() == first


def test_note_step_is_kept_once_and_read_back() -> None:
    exc = RuntimeError("boom")
    failure.note_step(exc, "gold_kpis", "r1")
    failure.note_step(exc, "outer", "r2")
    assert failure.step_of(exc) == ("gold_kpis", "r1")
    assert failure.step_of(RuntimeError("plain")) == (None, None)
