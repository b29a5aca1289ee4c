"""The bodies of ``careplus package`` and ``careplus deploy glue|emr`` (the CLI only parses and prints)."""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Literal

from careplus_spark.deploy import artifacts, emr, glue, package
from careplus_spark.deploy.artifacts import Manifest
from careplus_spark.errors import DeployError
from careplus_spark.platform import aws
from careplus_spark.platform.aws import Api, ApiCall
from careplus_spark.platform.config import AppConfig
from careplus_spark.platform.session import jars_dir

Platform = Literal["glue", "emr"]


def dist_dir(cfg: AppConfig, out: Path | None = None) -> Path:
    """``--out``, else ``deploy.dist_dir`` (relative to the working directory)."""
    return (out or Path(cfg.deploy.dist_dir)).expanduser().absolute()


def build_package(cfg: AppConfig, out: Path | None = None, source: Path | None = None,
                  lines: Sequence[str] = tuple(artifacts.LINES),
                  progress: Callable[[str], None] | None = None) -> Manifest:
    """``careplus package``: every artefact into ``dist/`` with its manifest."""
    return package.build(dist_dir(cfg, out), source=source or package.source_root(), jars_dir=jars_dir(cfg),
                         lines=lines, progress=progress)


def api(cfg: AppConfig, service: str, dry_run: bool) -> Api:
    """A service's :class:`Api` for ``deploy.*``; a dry run gets none of AWS (it calls nothing)."""
    client = None if dry_run else aws.client(service, region=cfg.deploy.region or cfg.s3.region,
                                             endpoint=cfg.deploy.endpoint, needed_by="careplus deploy")
    return Api(client, service, DeployError, dry_run=dry_run)


def deploy(cfg: AppConfig, platform: Platform, *, out: Path | None = None, dry_run: bool = False,
           jobs: Sequence[str] = (), serverless: bool = False, wait: bool = False,
           schedule: bool = False) -> glue.GlueReport | emr.EmrReport:
    """``careplus deploy glue|emr``: checks, uploads the package in ``dist/`` and defines or submits the jobs."""
    dist = dist_dir(cfg, out)
    manifest = artifacts.load(dist)
    s3 = api(cfg, "s3", dry_run)
    if platform == "glue":
        if jobs or schedule:
            raise DeployError("careplus deploy glue takes no job names nor --schedule: set deploy.glue.jobs and "
                              "deploy.glue.schedule")
        return glue.deploy(cfg, dist, manifest, s3, api(cfg, "glue", dry_run))
    service = "emr-serverless" if emr.target_of_quiet(cfg.deploy.emr, serverless) == "serverless" else "emr"
    scheduler = api(cfg, "scheduler", dry_run) if schedule else None
    return emr.deploy(cfg, dist, manifest, s3, api(cfg, service, dry_run), jobs=jobs, serverless=serverless, wait=wait,
                      scheduler=scheduler)


def render_calls(calls: Sequence[ApiCall]) -> str:
    """The calls of a dry run as one indented JSON array, in order."""
    return json.dumps([call.printable() for call in calls], indent=2, default=str)
