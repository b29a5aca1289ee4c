"""Real Spark failures answered in one paragraph: the Java class and message, a hint, the trace in a file."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from py4j.protocol import Py4JJavaError

from careplus_spark.platform import failure
from careplus_spark.platform.config import AppConfig


@pytest.fixture
def local_cfg(lakehouse: AppConfig, tmp_path: Path) -> AppConfig:
    return replace(lakehouse, lakehouse=replace(lakehouse.lakehouse, root=str(tmp_path / "lake")))


def test_a_py4j_java_error_shows_the_java_class_and_message_and_keeps_the_frames_in_the_file(
    spark: Any, local_cfg: AppConfig, tmp_path: Path
) -> None:
    missing = tmp_path / "no-such-folder" / "x.bin"
    with pytest.raises(Py4JJavaError) as caught:
        spark._jvm.java.io.FileInputStream(str(missing))
    found, text = failure.report(caught.value, "careplus run", local_cfg, "run")
    paragraph = found.paragraph()
    assert "\n" not in paragraph
    assert f"java.io.FileNotFoundException: {missing} (No such file or directory)" in paragraph
    assert "a file or folder is missing" in paragraph and found.exit_code == 4
    assert found.trace_path is not None and found.trace_path.is_relative_to(tmp_path / "lake" / "_logs" / "errors")
    written = found.trace_path.read_text(encoding="utf-8")
    assert written == text
    assert "at java.base/java.io.FileInputStream" in written


def test_a_captured_analysis_exception_shows_the_java_class(spark: Any, local_cfg: AppConfig, tmp_path: Path) -> None:
    with pytest.raises(Exception) as caught:
        spark.read.format("delta").load(str(tmp_path / "no-table")).collect()
    found, text = failure.report(caught.value, "careplus sql", local_cfg, "sql")
    assert str(found.headline).startswith("org.apache.spark.sql.AnalysisException: [PATH_NOT_FOUND]")
    assert found.exit_code == 4
    assert "JVM stack trace of" in text
