"""Alarm thresholds and actions: configuration, evaluation, the error of a failing alarm."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

from careplus_spark.errors import ConfigError, DataError, DataQualityError
from careplus_spark.lakehouse.run import RuleShare, StepResult
from careplus_spark.pipeline.steps import check_config, checked_rules, progress_lines
from careplus_spark.platform.config import AlarmsConfig, AlarmThresholds, AppConfig, load_config
from careplus_spark.quality.alarms import check_overrides, evaluate, raise_on_failure, threshold

CONF_DIR = Path(__file__).resolve().parents[3] / "conf"


def config(*overrides: str) -> AppConfig:
    return load_config("test", overrides=list(overrides), conf_dir=CONF_DIR, environ={})


def with_rules(cfg: AppConfig, rules: dict[str, float | None]) -> AppConfig:
    return replace(cfg, quality=replace(cfg.quality, alarms=AlarmsConfig(rules=rules)))


def count(rule: str, checked: int, failed: int, severity: str = "block") -> RuleShare:
    return RuleShare("silver.tickets", rule, "timestamp", severity, checked, failed)


def test_defaults_warn_above_one_percent_for_blocking_and_five_for_other_rules() -> None:
    alarms = config().quality.alarms
    assert (alarms.action, alarms.default_threshold, dict(alarms.rules)) == ("warn", AlarmThresholds(0.01, 0.05), {})


def test_per_rule_thresholds_load_from_a_flow_mapping_on_the_command_line() -> None:
    alarms = config('quality.alarms.rules={"silver.tickets.unparseable_created_at": 0.05, "silver.logs.x": null}',
                    "quality.alarms.action=fail").quality.alarms
    assert dict(alarms.rules) == {"silver.tickets.unparseable_created_at": 0.05, "silver.logs.x": None}
    assert alarms.action == "fail"


@pytest.mark.parametrize(
    ("override", "message"),
    [
        ("quality.alarms.default_threshold.block=5", r"quality\.alarms\.default_threshold\.block \(set in --set\) "
         r"must be a share between 0 and 1 \(0\.01 is 1%\), found 5\.0"),
        ("quality.alarms.default_threshold.warn=-0.1", r"quality\.alarms\.default_threshold\.warn .*must be a share"),
        ('quality.alarms.rules={"silver.tickets.x": 1.5}', r"quality\.alarms\.rules\.silver\.tickets\.x .*must be "
         r"a share"),
        ('quality.alarms.rules={"tickets.x": 0.1}', r"quality\.alarms\.rules\.tickets\.x: name a rule as "
         r"<database>\.<table>\.<rule>"),
        ("quality.alarms.action=stop", r"quality\.alarms\.action \(set in --set\) must be one of \['warn', 'fail'\]"),
        ("quality.alarms.treshold=0.1", r"unknown configuration key 'quality\.alarms\.treshold'"),
    ],
)
def test_invalid_alarm_settings_name_the_key(override: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        config(override)


def test_a_rule_threshold_overrides_its_severity_default() -> None:
    alarms = AlarmsConfig(rules={"silver.tickets.a": 0.5, "silver.tickets.b": None})
    assert threshold(alarms, "silver.tickets", "a", "block") == 0.5
    assert threshold(alarms, "silver.tickets", "b", "block") is None
    assert threshold(alarms, "silver.tickets", "c", "block") == 0.01
    assert threshold(alarms, "silver.tickets", "c", "warn") == 0.05
    assert threshold(AlarmsConfig(default_threshold=AlarmThresholds(warn=None)), "silver.tickets", "c", "warn") is None


def test_only_a_share_above_the_threshold_alarms() -> None:
    shares = evaluate(AlarmsConfig(), [count("above", 50, 2), count("equal", 100, 1), count("below", 200, 1),
                                       count("nothing_checked", 0, 0), count("warn_level", 50, 2, "warn")])
    assert [(s.rule, s.share, s.threshold, s.alarm) for s in shares] == [
        ("above", 0.04, 0.01, "warn"), ("equal", 0.01, 0.01, None), ("below", 0.005, 0.01, None),
        ("nothing_checked", None, 0.01, None), ("warn_level", 0.04, 0.05, None),
    ]


def test_a_zero_threshold_alarms_on_any_failure_and_the_action_is_recorded() -> None:
    alarms = AlarmsConfig(action="fail", default_threshold=AlarmThresholds(block=0.0))
    assert [s.alarm for s in evaluate(alarms, [count("one", 1000, 1), count("none", 1000, 0)])] == ["fail", None]


def test_a_failing_alarm_raises_a_data_quality_error_with_exit_code_9() -> None:
    shares = evaluate(AlarmsConfig(action="fail"), [count("unparseable_created_at", 50, 2), count("quiet", 50, 0)])
    with pytest.raises(DataQualityError) as caught:
        raise_on_failure("silver_tickets", shares)
    assert caught.value.exit_code == 9 and isinstance(caught.value, DataError)
    assert str(caught.value).startswith(
        "silver_tickets: data-quality alarm (quality.alarms.action=fail): "
        "silver.tickets.unparseable_created_at: 2 of 50 rows (4.00%) > threshold 1.00%. "
    )
    assert "watermarks are not saved" in str(caught.value)


def test_warn_alarms_do_not_raise() -> None:
    raise_on_failure("silver_tickets", evaluate(AlarmsConfig(), [count("unparseable_created_at", 50, 2)]))


def test_per_rule_thresholds_must_name_a_checked_rule() -> None:
    known = {"silver.tickets": ("unparseable_created_at",)}
    check_overrides(AlarmsConfig(rules={"silver.tickets.unparseable_created_at": 0.1}), known)
    with pytest.raises(ConfigError, match=r"quality\.alarms\.rules\.silver\.tickets\.unparsable_created_at: "
                                          r"silver\.tickets has no rule 'unparsable_created_at'; its rules: "
                                          r"\['unparseable_created_at'\]"):
        check_overrides(AlarmsConfig(rules={"silver.tickets.unparsable_created_at": 0.1}), known)
    with pytest.raises(ConfigError, match=r"no step checks table 'gold\.nope'; checked tables: \['silver\.tickets'\]"):
        check_overrides(AlarmsConfig(rules={"gold.nope.rule": 0.1}), known)


def test_the_pipeline_knows_the_rules_of_silver_and_gold() -> None:
    cfg = config()
    rules = checked_rules(cfg)
    assert rules["silver.tickets"][:3] == ("missing_ticket_id", "unparseable_created_at", "duplicate_ticket_id")
    assert "unmapped_priority" in rules["silver.tickets"] and "unparseable_timestamp" in rules["silver.logs"]
    assert "agent_not_null" in rules["gold.fct_tickets"] and "ticket_exists" in rules["gold.fct_logs"]
    check_config(with_rules(cfg, {"gold.fct_logs.ticket_exists": 0.2}))
    with pytest.raises(ConfigError, match=r"gold\.fct_logs has no rule 'ticket_exist'"):
        check_config(with_rules(cfg, {"gold.fct_logs.ticket_exist": 0.2}))


def test_progress_shows_non_zero_shares_and_a_line_per_alarm() -> None:
    quality = (
        RuleShare("silver.tickets", "unparseable_created_at", "timestamp", "block", 50, 2, 0.01, "warn"),
        RuleShare("silver.tickets", "unmapped_priority", "mapping", "warn", 50, 1, 0.05),
    )
    result = StepResult("silver_tickets", rows_read=50, rows_written=48, rows_quarantined=2, seconds=1.25,
                        quality=quality)
    assert progress_lines("[4/9] silver_tickets", result) == [
        "[4/9] silver_tickets: read 50, written 48, updated 0, quarantined 2 (1.2 s); data quality: "
        "silver.tickets.unparseable_created_at 4.00%, silver.tickets.unmapped_priority 2.00%",
        "[4/9] silver_tickets: DATA-QUALITY ALARM (warn): silver.tickets.unparseable_created_at: 2 of 50 rows "
        "(4.00%) > threshold 1.00%",
    ]


def test_combined_step_results_keep_the_shares_of_their_parts() -> None:
    a = RuleShare("gold.fct_logs", "ticket_exists", "references", "warn", 10, 1, 0.05, "warn")
    b = RuleShare("gold.fct_ticket_log_summary", "no_events_no_log_times", "expression", "warn", 10, 1, 0.2)
    combined = StepResult.combine("gold_logs", [StepResult("x", quality=(a,)), StepResult("y", quality=(b,))], 1.0)
    assert (combined.quality, combined.alarms) == ((a, b), (a,))
