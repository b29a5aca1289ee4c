"""``--debug``: tracebacks, debug logs, and Spark's whole log (INFO, nothing silenced)."""

from __future__ import annotations

import pytest

from careplus_spark import cli
from careplus_spark.errors import ConfigError
from careplus_spark.platform.config import load_config


def _overrides(*argv: str) -> list[str]:
    return cli._overrides(cli.build_parser().parse_args(["status", *argv]))


def test_debug_turns_spark_logging_to_info_unless_set_explicitly() -> None:
    assert _overrides() == []
    assert _overrides("--debug") == ["spark.log_level=INFO"]
    assert _overrides("--debug", "--set", "spark.log_level=DEBUG") == ["spark.log_level=DEBUG"]
    assert _overrides("--set", "a.b=c") == ["a.b=c"]


def test_spark_log_level_is_checked() -> None:
    assert load_config("test", ["spark.log_level=INFO"]).spark.log_level == "INFO"
    with pytest.raises(ConfigError, match=r"spark\.log_level"):
        load_config("test", ["spark.log_level=LOUD"])
