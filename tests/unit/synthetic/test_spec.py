"""GenerateSpec validation: each bad field is named; the period stays inside one year."""

from __future__ import annotations

from datetime import date, datetime

import pytest

from careplus_spark.synthetic import GenerateSpec


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("seed", "42"),
        ("start_date", datetime(2025, 7, 1)),
        ("days", 0),
        ("tickets_per_day", -1),
        ("log_files_per_day", 1.5),
        ("delete_per_day", -2),
        ("empty_file_per_day", 2),
        ("events_per_ticket", float("nan")),
        ("dirty_level", 1.5),
        ("trace_none", -0.1),
        ("gzip_file", "0.2"),
    ],
)
def test_spec_validation_names_the_field(field: str, value: object) -> None:
    with pytest.raises(ValueError, match=field):
        GenerateSpec(**{field: value}).validate()  # type: ignore[arg-type]


def test_a_period_up_to_the_end_of_the_year_is_valid() -> None:
    GenerateSpec(start_date=date(2025, 12, 29), days=3).validate()


def test_spec_rejects_a_period_across_years() -> None:
    with pytest.raises(ValueError, match="year"):
        GenerateSpec(start_date=date(2025, 12, 29), days=4).validate()


def test_with_rates_sets_a_known_rate() -> None:
    assert GenerateSpec().with_rates({"dirty_level": 0.5}).dirty_level == 0.5


def test_with_rates_refuses_an_unknown_rate() -> None:
    with pytest.raises(ValueError, match="dirty_levle"):
        GenerateSpec().with_rates({"dirty_levle": 0.1})
