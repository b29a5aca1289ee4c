"""The analyst views, rendered for Spark SQL, Athena and Redshift (careplus_spark.exposure.views).

Every view in every dialect is compared with ``tests/data/ddl/views/<dialect>/<view>.sql``.
After an intended change, regenerate with

    CAREPLUS_UPDATE_GOLDEN=1 .venv/bin/python -m pytest tests/unit/exposure -q

and review ``git diff tests/data/ddl``.
"""

from __future__ import annotations

import pytest

from careplus_spark.errors import ExposureError
from careplus_spark.exposure import views
from careplus_spark.platform.config_deploy import ExposureConfig, GlueCatalogSyncConfig
from tests.unit.exposure import golden

#: How each dialect names the lakehouse's gold database, and where its views go.
NAMES = {"spark": {"gold": "gold"}, "athena": {"gold": "careplus_gold"}, "redshift": {"gold": "careplus"}}
VIEW_SCHEMA = {"spark": None, "athena": None, "redshift": "careplus_views"}
ALL_TABLES = {"gold.fct_tickets", "gold.kpi_tickets_daily", "gold.kpi_agents_daily", "gold.kpi_service_hourly"}


def render(v: views.View, dialect: str) -> str:
    return views.render(v, dialect, NAMES[dialect], view_schema=VIEW_SCHEMA[dialect])


@pytest.mark.parametrize("dialect", sorted(NAMES))
@pytest.mark.parametrize("name", [v.name for v in views.VIEWS])
def test_view_matches_the_golden_file(dialect: str, name: str) -> None:
    golden.check(f"views/{dialect}/{name}.sql", render(views.view(name), dialect))


def test_the_views_are_the_seeds_dashboard_queries() -> None:
    assert [v.name for v in views.VIEWS] == [
        "v_tickets_enriched",
        "v_top_issue_categories",
        "v_weekly_open_vs_resolved",
        "v_agent_leaderboard",
        "v_service_health_hourly",
    ]


@pytest.mark.parametrize(
    ("dialect", "expected"),
    [
        ("spark", "datediff(current_date(), created_date)"),
        ("athena", "date_diff('day', created_date, CAST(current_timestamp AT TIME ZONE 'UTC' AS date))"),
        ("redshift", "DATEDIFF(day, created_date, CAST(GETDATE() AS DATE))"),
    ],
)
def test_date_arithmetic_comes_from_the_dialect(dialect: str, expected: str) -> None:
    assert expected in render(views.view("v_tickets_enriched"), dialect)


def test_redshift_views_are_late_binding_and_qualify_the_external_schema() -> None:
    text = render(views.view("v_weekly_open_vs_resolved"), "redshift")
    assert text.startswith('CREATE OR REPLACE VIEW "careplus_views"."v_weekly_open_vs_resolved" AS\n')
    assert 'FROM "careplus"."kpi_tickets_daily"' in text
    assert text.endswith("\nWITH NO SCHEMA BINDING;\n")


def test_redshift_needs_a_local_view_schema() -> None:
    with pytest.raises(ExposureError, match="view_schema"):
        views.render(views.view("v_tickets_enriched"), "redshift", {"gold": "careplus"})


def test_a_table_can_be_mapped_on_its_own_to_a_dotted_name() -> None:
    names = {"gold": "careplus_gold", "gold.kpi_service_hourly": "awsdatacatalog.other_db.service_kpis"}
    text = views.render(views.view("v_service_health_hourly"), "athena", names)
    assert 'FROM "awsdatacatalog"."other_db"."service_kpis"' in text
    assert text.startswith('CREATE OR REPLACE VIEW "careplus_gold"."v_service_health_hourly" AS')


def test_a_database_without_a_name_is_refused() -> None:
    with pytest.raises(ExposureError, match=r"no engine name for gold\.v_tickets_enriched"):
        views.render(views.view("v_tickets_enriched"), "athena", {"silver": "careplus_silver"})
    with pytest.raises(ExposureError, match=r"no engine name for gold\.fct_tickets"):
        views.render(views.view("v_tickets_enriched"), "athena", {"silver": "x"}, view_schema="careplus_gold")


@pytest.mark.parametrize(
    ("dialect", "names"),
    [
        ("athena", {"gold": 'careplus"gold'}),
        ("athena", {"gold": "careplus-gold"}),
        ("redshift", {"gold": "care\nplus"}),
        ("spark", {"gold": "go`ld"}),
    ],
)
def test_a_name_that_cannot_be_quoted_is_refused(dialect: str, names: dict[str, str]) -> None:
    with pytest.raises(ExposureError, match="cannot take"):
        views.render(views.view("v_agent_leaderboard"), dialect, names, view_schema=VIEW_SCHEMA[dialect])


def test_an_unknown_dialect_or_view_is_refused() -> None:
    with pytest.raises(ExposureError, match="unknown SQL dialect 'mysql'"):
        views.render(views.view("v_tickets_enriched"), "mysql", {"gold": "gold"})
    with pytest.raises(ExposureError, match="no analyst view 'v_nope'"):
        views.view("v_nope")


def test_spark_sql_names_the_local_gold_database_and_has_no_semicolon() -> None:
    text = views.spark_sql(views.view("v_top_issue_categories"))
    assert text.startswith("CREATE OR REPLACE VIEW `gold`.`v_top_issue_categories` AS\nSELECT")
    assert "FROM `gold`.`fct_tickets`" in text and not text.endswith(";")


def test_only_views_whose_inputs_are_all_available_are_offered() -> None:
    assert [v.name for v in views.available({"gold.fct_tickets"})] == ["v_tickets_enriched", "v_top_issue_categories"]
    assert views.available(set()) == ()


class RecordingSpark:
    """Stands in for a SparkSession: records the statements given to ``sql``."""

    def __init__(self) -> None:
        self.statements: list[str] = []

    def sql(self, statement: str) -> None:
        self.statements.append(statement)


def test_register_spark_views_creates_the_available_views() -> None:
    spark = RecordingSpark()
    assert views.register_spark_views(spark, {"gold.kpi_agents_daily"}) == 1  # type: ignore[arg-type]
    assert spark.statements == [views.spark_sql(views.view("v_agent_leaderboard"))]


def test_ddl_files_for_athena_use_the_glue_database() -> None:
    exposure = ExposureConfig(glue=GlueCatalogSyncConfig(database_prefix="cp_"))
    files = views.ddl_files("athena", ALL_TABLES, exposure)
    assert sorted(files) == sorted(f"gold.{v.name}.sql" for v in views.VIEWS)
    assert files["gold.v_tickets_enriched.sql"] == views.render(
        views.view("v_tickets_enriched"), "athena", {"gold": "cp_gold"}
    )
    assert views.ddl_files("athena-delta", ALL_TABLES, exposure) == files


def test_ddl_files_for_spectrum_create_the_view_schema_first() -> None:
    files = views.ddl_files("spectrum", {"gold.kpi_service_hourly"}, ExposureConfig(spectrum_schema="cp"))
    assert list(files) == ["gold.v_service_health_hourly.sql"]
    text = files["gold.v_service_health_hourly.sql"]
    assert text.startswith('CREATE SCHEMA IF NOT EXISTS "cp_views";\n\nCREATE OR REPLACE VIEW "cp_views".')
    assert 'FROM "cp"."kpi_service_hourly"' in text


def test_ddl_files_refuse_an_unknown_target() -> None:
    with pytest.raises(ExposureError, match="unknown DDL target"):
        views.ddl_files("bigquery", ALL_TABLES, ExposureConfig())
