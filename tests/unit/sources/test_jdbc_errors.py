"""A missing source table is a clear error at once, not a retried or raw driver error."""

from __future__ import annotations

import pytest

from careplus_spark.errors import SourceUnavailableError
from careplus_spark.sources.jdbc import with_retries


@pytest.mark.parametrize("driver_text", [
    "[SQLITE_ERROR] SQL error or missing database (no such table: support_tickets)",
    "java.sql.SQLSyntaxErrorException: Table 'careplus.support_tickets' doesn't exist",
])
def test_missing_table_fails_once_with_its_name(driver_text: str) -> None:
    calls = []

    def read() -> None:
        calls.append(1)
        raise RuntimeError(driver_text)

    with pytest.raises(SourceUnavailableError, match=r"source table does not exist .*support_tickets"):
        with_retries(read, "jdbc:sqlite:x.db", attempts=3, backoff_s=0.0)
    assert calls == [1]


def test_other_errors_pass_through_unchanged() -> None:
    with pytest.raises(ValueError, match="boom"):
        with_retries(lambda: (_ for _ in ()).throw(ValueError("boom")), "src", attempts=2, backoff_s=0.0)
