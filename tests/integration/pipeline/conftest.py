"""Fixtures of the pipeline tests: a lakehouse with generated SQLite tickets and log files."""

from __future__ import annotations

import datetime as dt
from dataclasses import replace
from pathlib import Path

import pytest

from careplus_spark.platform.config import AppConfig
from careplus_spark.synthetic import GenerateSpec, generate, sink_for_url

SPEC = GenerateSpec(seed=11, start_date=dt.date(2025, 7, 1), days=1, tickets_per_day=30, log_files_per_day=1)


def add_day(cfg: AppConfig, day: int) -> None:
    """Generates day ``day`` of tickets (SQLite) and log files into ``cfg``'s sources."""
    with sink_for_url(cfg.sources.tickets.url, "", "", cfg.sources.tickets.table) as sink:
        generate(SPEC, sink, Path(cfg.sources.logs.path), first_day=day)


@pytest.fixture
def cfg(lakehouse: AppConfig, tmp_path: Path) -> AppConfig:
    tickets = replace(lakehouse.sources.tickets, url=f"jdbc:sqlite:{tmp_path / 'tickets.db'}", reconcile_every_runs=0)
    logs = replace(lakehouse.sources.logs, path=str(tmp_path / "logs"))
    cfg = replace(lakehouse, sources=replace(lakehouse.sources, tickets=tickets, logs=logs))
    add_day(cfg, 0)
    return cfg
