"""``careplus generate``: synthetic tickets into the JDBC source and log files on disk."""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

from careplus_spark.errors import ConfigError
from careplus_spark.platform.config import AppConfig, is_local_path
from careplus_spark.synthetic import GenerateSpec, GenerateStats, generate, sink_for_url

_DAY_DIR = re.compile(r"(\d{4})/(\d{2})/(\d{2})$")


def spec_from_config(cfg: AppConfig, seed: int | None = None, days: int | None = None) -> GenerateSpec:
    """The generator's spec from ``generate.*`` (rates by name), with CLI overrides.

    Raises:
        ConfigError: an unknown rate name or an out-of-range value.
    """
    gen = cfg.generate
    known = {f.name for f in dataclasses.fields(GenerateSpec)}
    unknown = sorted(set(gen.rates) - known)
    if unknown:
        raise ConfigError(f"unknown generate.rates key(s) {unknown}; known: {sorted(known)}")
    values: dict[str, Any] = {
        "seed": gen.seed if seed is None else seed,
        "start_date": gen.start_date,
        "days": gen.days if days is None else days,
        "tickets_per_day": gen.tickets_per_day,
        "events_per_ticket": gen.events_per_ticket,
        "log_files_per_day": gen.log_files_per_day,
        **dict(gen.rates),
    }
    spec = GenerateSpec(**values)
    try:
        spec.validate()
    except ValueError as exc:
        raise ConfigError(f"generate: {exc}") from None
    return spec


def logs_dir(cfg: AppConfig) -> Path:
    """The local folder the generator writes log files into.

    Raises:
        ConfigError: the logs source is not a local folder.
    """
    path = cfg.sources.logs.path
    if not is_local_path(path):
        raise ConfigError(
            f"sources.logs.path is {path}: the generator writes local files; "
            "generate locally with --set sources.logs.path=./data/logs and upload them"
        )
    return Path(path.removeprefix("file:"))


def next_day_index(cfg: AppConfig) -> int:
    """The index of the day after the latest day folder (YYYY/MM/DD) already generated."""
    folder = logs_dir(cfg)
    days = sorted(p for p in folder.glob("*/*/*") if p.is_dir() and _DAY_DIR.search(p.as_posix()))
    if not days:
        return 0
    year, month, day = (int(x) for x in _DAY_DIR.search(days[-1].as_posix()).groups())  # type: ignore[union-attr]
    import datetime as dt

    return (dt.date(year, month, day) - cfg.generate.start_date).days + 1


def run_generate(
    cfg: AppConfig,
    *,
    seed: int | None = None,
    days: int | None = None,
    first_day: int = 0,
    progress: Callable[[str], None] | None = None,
) -> GenerateStats:
    """Writes ``days`` days of data from ``first_day`` on (day 0 recreates the table)."""
    spec = spec_from_config(cfg, seed, days)
    source = cfg.sources.tickets
    target = logs_dir(cfg)
    target.mkdir(parents=True, exist_ok=True)
    if source.url.startswith("jdbc:sqlite:"):
        Path(source.url[len("jdbc:sqlite:") :]).parent.mkdir(parents=True, exist_ok=True)
    password = source.password.reveal() if source.password.is_set() else ""
    sink = sink_for_url(source.url, source.user, password, source.table)
    try:
        return generate(spec, sink, target, first_day=first_day, progress=progress)
    finally:
        sink.close()
