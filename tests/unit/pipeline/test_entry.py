"""The jobs' arguments: spark-submit and EMR ``--set``, Glue's argv with ``--settings`` JSON."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from careplus_spark.errors import ConfigError, JarsError
from careplus_spark.pipeline import entry
from careplus_spark.pipeline.entry import parse_job_args, run_job, settings_overrides
from careplus_spark.platform.config import load_config

CONF_DIR = Path(__file__).resolve().parents[3] / "conf"

GLUE_ARGV = [
    "--JOB_ID", "j_123",
    "--JOB_RUN_ID", "jr_abc",
    "--job-bookmark-option", "job-bookmark-disable",
    "--TempDir", "s3://b/tmp",
    "--JOB_NAME", "careplus-run-pipeline",
    "--enable-glue-datacatalog", "true",
    "--env", "glue",
    "--settings", '{"lakehouse.root": "s3://b/lake"}',
]


def test_glue_argv_gives_env_settings_and_the_glue_run() -> None:
    args = parse_job_args(GLUE_ARGV)
    assert (args.env, args.overrides, args.full_refresh) == ("glue", ["lakehouse.root=s3://b/lake"], False)
    assert (args.glue_job_name, args.glue_job_run_id) == ("careplus-run-pipeline", "jr_abc")


def test_spark_submit_argv_has_no_glue_run() -> None:
    args = parse_job_args(["--env", "emr", "--set", "a.b=c", "--full-refresh"])
    assert (args.env, args.overrides, args.full_refresh) == ("emr", ["a.b=c"], True)
    assert (args.glue_job_name, args.glue_job_run_id) == (None, None)


@pytest.mark.parametrize("argv", [
    ["--e", "glue"],
    ["--en", "glue"],
    ["--enable-glue-datacatalog", "true"],
    ["--sett", '{"a.b": 1}', "--se", "c=d"],
    ["--full", "true"],
    ["--JOB", "x"],
])
def test_abbreviations_are_not_taken_for_job_arguments(argv: list[str]) -> None:
    args = parse_job_args(argv)
    assert (args.env, args.overrides, args.full_refresh, args.glue_job_name) == ("local", [], False, None)


def test_settings_come_before_set_so_set_wins() -> None:
    args = parse_job_args([
        "--set", "sources.tickets.fetch_size=7",
        "--settings", '{"sources.tickets.fetch_size": 5, "sources.tickets.num_partitions": 3}',
    ])
    assert args.overrides == ["sources.tickets.fetch_size=5", "sources.tickets.num_partitions=3",
                              "sources.tickets.fetch_size=7"]
    cfg = load_config("test", args.overrides, conf_dir=CONF_DIR, environ={})
    assert (cfg.sources.tickets.fetch_size, cfg.sources.tickets.num_partitions) == (7, 3)


def test_settings_values_keep_their_json_type_and_strings_read_like_set() -> None:
    overrides = settings_overrides(
        '{"a.text": "s3://b/x", "a.number": 4, "a.flag": false, "a.none": null, "a.list": ["x", 1], '
        '"spark.conf": {"spark.sql.ansi.enabled": "true"}}'
    )
    assert overrides == [
        "a.text=s3://b/x", "a.number=4", "a.flag=false", "a.none=null", 'a.list=["x", 1]',
        'spark.conf={"spark.sql.ansi.enabled": "true"}',
    ]
    cfg = load_config("test", settings_overrides('{"spark.conf": {"spark.sql.ansi.enabled": "true"}}'),
                      conf_dir=CONF_DIR, environ={})
    assert cfg.spark.conf["spark.sql.ansi.enabled"] == "true"


@pytest.mark.parametrize(("text", "message"), [
    ("not json", r"^--settings is not valid JSON \(Expecting value at character 0\): expected an object such as"),
    ('{"lakehouse.root": "s3://b/lake"', r"^--settings is not valid JSON \(Expecting ',' delimiter"),
    ('["lakehouse.root=x"]', r'^--settings must be a JSON object of \{"dotted.key": value\}, found a JSON array'),
    ('"lakehouse.root=x"', r"found a JSON string$"),
    ('{"lakehouse..root": 1}', r"^--settings key 'lakehouse..root' is not a dotted configuration key"),
])
def test_bad_settings_are_a_config_error_naming_settings(text: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message) as caught:
        parse_job_args(["--env", "glue", "--settings", text])
    assert caught.value.exit_code == 2


def test_bad_settings_exit_2_before_any_spark(
    caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(entry, "open_lakehouse", lambda *a, **k: pytest.fail("a session was built"))
    caplog.set_level(logging.INFO, logger="careplus.job")
    assert run_job(["ingest_tickets"], ["--env", "test", "--settings", "not json"]) == 2
    assert "--settings is not valid JSON" in caplog.text


def test_the_first_log_line_names_the_glue_job_and_run(
    caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    def no_session(*_args: object, **_kwargs: object) -> None:
        raise JarsError("stopped here")

    monkeypatch.setenv("CAREPLUS_CONF_DIR", str(CONF_DIR))
    monkeypatch.setattr(entry, "open_lakehouse", no_session)
    caplog.set_level(logging.INFO, logger="careplus.job")
    argv = [*GLUE_ARGV[:-4], "--env", "test", "--settings", '{"lakehouse.root": "/tmp/careplus-unit"}']
    assert run_job(["ingest_tickets"], argv) == 3
    first = caplog.records[0].getMessage()
    assert first.startswith("run ")
    assert first.endswith(": ingest_tickets (test; Glue job careplus-run-pipeline, run jr_abc)")
    assert caplog.records[-1].getMessage() == "stopped here"


def test_an_unknown_alarm_rule_exits_2_before_any_spark(
    caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(entry, "open_lakehouse", lambda *a, **k: pytest.fail("a session was built"))
    caplog.set_level(logging.INFO, logger="careplus.job")
    settings = '{"quality.alarms.rules": {"silver.tickets.no_such_rule": 0.05}}'
    assert run_job(["silver_tickets"], ["--env", "test", "--settings", settings]) == 2
    assert "no_such_rule" in caplog.text
