"""Names and locations that may reach the catalog (issue 14, finding 1); Spark-side tests:
tests/integration/lakehouse/test_injection.py."""

from __future__ import annotations

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
