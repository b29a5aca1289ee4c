"""Names and locations that may reach the catalog (issue 14, finding 1); Spark-side tests:
tests/integration/lakehouse/test_injection.py."""

from __future__ import annotations

import threading
import time

import pytest

from careplus_spark.errors import ConfigError
from careplus_spark.lakehouse import registry


@pytest.mark.parametrize("name", ["fct_tickets", "_private", "T2"])
def test_valid_catalog_names_pass(name: str) -> None:
    assert registry.check_name(name) == name


@pytest.mark.parametrize("name", ["", "2x", "x y", "x`y", "bad' OR 1=1 --", "a.b", "x\n"])
def test_other_catalog_names_are_refused(name: str) -> None:
    with pytest.raises(ConfigError, match="only letters, digits and _"):
        registry.check_name(name)


@pytest.mark.parametrize("location", ["/lake/x'y/bronze", "/lake/x\\\\y/bronze", "/lake/x\ny/bronze"])
def test_a_database_location_that_would_need_escaping_is_refused_before_any_sql(location: str) -> None:
    with pytest.raises(ConfigError, match="holds a quote, a backslash or a control character"):
        registry.create_database(None, "bronze", location)  # type: ignore[arg-type]  # refused before Spark


def test_a_database_name_that_is_no_identifier_is_refused_before_any_sql() -> None:
    with pytest.raises(ConfigError, match="cannot register the database name"):
        registry.create_database(None, "bronze; DROP DATABASE x", "/lake/bronze")  # type: ignore[arg-type]


def test_background_work_is_waited_for_and_its_error_raised_once_in_the_caller() -> None:
    done = threading.Event()

    def slow() -> None:
        time.sleep(0.2)
        registry.wait_attached()  # the work itself never waits for itself
        done.set()

    registry.in_background(slow)
    registry.wait_attached()
    assert done.is_set()
    registry.wait_attached()  # nothing pending: returns at once

    def failing() -> None:
        raise RuntimeError("metastore locked by another process")

    registry.in_background(failing)
    with pytest.raises(RuntimeError, match="metastore locked"):
        registry.wait_attached()
    registry.wait_attached()  # raised once


def test_a_background_attach_that_hangs_is_a_timeout_not_a_hang() -> None:
    release = threading.Event()
    registry.in_background(lambda: release.wait(5))
    with pytest.raises(TimeoutError, match="not ready after 0 s"):
        registry.wait_attached(timeout_s=0.1)
    release.set()
    registry.wait_attached()
