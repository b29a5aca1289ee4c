"""A minimal configuration folder for the config tests (``base.yaml`` + environment files)."""

from __future__ import annotations

from pathlib import Path

BASE = """
lakehouse:
  root: /data/lake
sources:
  tickets:
    url: jdbc:mysql://127.0.0.1:3306/careplus
    table: support_tickets
    user: careplus
    password: "${CAREPLUS_MYSQL_PASSWORD:-}"
  logs:
    path: /data/logs
"""


def write_conf(tmp_path: Path, base: str = BASE, **envs: str) -> Path:
    (tmp_path / "base.yaml").write_text(base, encoding="utf-8")
    for name, text in envs.items():
        (tmp_path / f"{name}.yaml").write_text(text, encoding="utf-8")
    return tmp_path
