"""The delete-reconciliation guard and its settings (pure functions, no Spark)."""

from __future__ import annotations

import pytest

from careplus_spark.bronze.reconcile import KeyComparison, check_deletes
from careplus_spark.errors import ConfigError, DataError
from careplus_spark.platform.config import TicketsSourceConfig
from careplus_spark.platform.secrets import Secret


def source(**settings: object) -> TicketsSourceConfig:
    return TicketsSourceConfig(url="jdbc:mysql://h:3306/db?password=x", table="support_tickets", user="u",
                               password=Secret.empty(), **settings)  # type: ignore[arg-type]


def found(source_keys: int, live: int, gone: int) -> KeyComparison:
    return KeyComparison(source_keys, live, None, gone, 0.0)


def test_reconciliation_runs_on_every_ingest_by_default_with_a_guard_at_half() -> None:
    assert (source().reconcile_every_runs, source().reconcile_max_delete_fraction) == (1, 0.5)


def test_a_source_without_keys_is_refused_naming_the_table_and_the_way_out() -> None:
    with pytest.raises(DataError, match=r"support_tickets at jdbc:mysql://h:3306/db returned no keys while "
                                        r"bronze\.tickets has 4 live rows.*reconcile_max_delete_fraction=1"):
        check_deletes(found(0, 4, 4), source())


def test_more_deletes_than_the_fraction_are_refused_with_the_counts() -> None:
    with pytest.raises(DataError, match=r"would soft-delete 3 of the 8 live rows of bronze\.tickets \(37\.5%\), "
                                        r"more than sources\.tickets\.reconcile_max_delete_fraction=0\.25"):
        check_deletes(found(5, 8, 3), source(reconcile_max_delete_fraction=0.25))


@pytest.mark.parametrize(
    ("comparison", "fraction"),
    [(found(6, 8, 2), 0.25), (found(4, 8, 4), 0.5), (found(0, 4, 4), 1.0), (found(0, 0, 0), 0.5),
     (found(9, 8, 0), 0.0)],
)
def test_deletes_within_the_fraction_pass(comparison: KeyComparison, fraction: float) -> None:
    check_deletes(comparison, source(reconcile_max_delete_fraction=fraction))


@pytest.mark.parametrize(
    ("setting", "value"), [("reconcile_max_delete_fraction", 1.5), ("reconcile_max_delete_fraction", -0.1),
                           ("reconcile_every_runs", -1)],
)
def test_reconcile_settings_out_of_range_are_config_errors(setting: str, value: object) -> None:
    with pytest.raises(ConfigError, match=f"sources.tickets.{setting} must be"):
        source(**{setting: value})
