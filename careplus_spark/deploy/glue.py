"""``careplus deploy glue``: the package on S3 and one AWS Glue job per configured entry point.

Every deploy sends the whole job definition (``UpdateJob`` replaces it): the Glue version of the
Spark line (6.0 for 4.1, 5.1 for 3.5), ``--datalake-formats delta`` with Delta's static confs,
the wheel as ``--extra-py-files``, the log reader and Connector/J as ``--extra-jars``, ``--env``
and the configured ``--settings``, role, workers, timeout, retries, connections; with
``deploy.glue.schedule`` a scheduled trigger too. Nothing is changed that already matches, so a
second deploy of the same package makes no write call. Order: check everything, upload the new
release folder, then create or update jobs; a failed call leaves the previous definition (AWS
applies an update whole or not at all), and a job whose files are missing is never defined.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from careplus_spark.deploy import launch
from careplus_spark.deploy.artifacts import LINES, Manifest
from careplus_spark.deploy.release import Release, UploadReport, check_bucket, upload
from careplus_spark.errors import ConfigError, DeployError
from careplus_spark.platform.aws import Api, ApiCall, holds
from careplus_spark.platform.config import AppConfig
from careplus_spark.platform.config_deploy import GlueJobConfig

SETTING = "deploy.glue"
RELEASE_ARGUMENT = "--careplus-release"  # marks a job as created by careplus deploy; the release it runs
PLACEHOLDER_ROLE = "SET-deploy.glue.role"

Action = Literal["created", "updated", "unchanged", "deleted", "none"]


@dataclass(frozen=True)
class GlueJob:
    """One Glue job: its name, the entry point, the whole definition and its trigger (or ``None``)."""

    name: str
    job: str
    definition: dict[str, Any]
    trigger: dict[str, Any] | None


def job_name(glue: GlueJobConfig, job: str) -> str:
    """``careplus-run-pipeline`` for ``run_pipeline`` with the default prefix."""
    return launch.check_name(glue.job_prefix + job.replace("_", "-"), f"{SETTING}.job_prefix")


def definitions(cfg: AppConfig, manifest: Manifest, release: Release, job_cfg: AppConfig) -> list[GlueJob]:
    """The Glue job of every ``deploy.glue.jobs`` entry (calls nothing)."""
    glue = cfg.deploy.glue
    launch.check_jobs(glue.jobs, manifest, f"{SETTING}.jobs")
    line = LINES[glue.spark_line]
    jars = [release.uri(manifest.one("log-reader", line.line)), release.uri(manifest.one("jdbc-driver"))]
    confs = launch.launch_confs(job_cfg)
    arguments: dict[str, str] = {
        "--env": glue.env,
        "--datalake-formats": "delta",
        "--conf": " --conf ".join(f"{k}={v}" for k, v in confs.items()),
        "--extra-py-files": release.uri(manifest.one("wheel")),
        "--extra-jars": ",".join(jars),
        "--job-bookmark-option": "job-bookmark-disable",  # bookmarks do not work with Delta; cursors do it
        "--enable-metrics": "true",
        "--enable-continuous-cloudwatch-log": "true",
        RELEASE_ARGUMENT: manifest.release,
    }
    if job_cfg.lakehouse.catalog.kind == "glue":
        arguments["--enable-glue-datacatalog"] = "true"
    if glue.settings:
        arguments["--settings"] = json.dumps(dict(glue.settings), sort_keys=True)
    arguments.update(glue.arguments)
    jobs = []
    for job, script in sorted(manifest.jobs().items()):
        if job not in glue.jobs:
            continue
        name = job_name(glue, job)
        definition: dict[str, Any] = {
            "Description": f"CarePlus Lakehouse {job} (careplus deploy glue, package {manifest.release})",
            "Role": glue.role or PLACEHOLDER_ROLE,
            "ExecutionProperty": {"MaxConcurrentRuns": glue.max_concurrent_runs},
            "Command": {"Name": "glueetl", "ScriptLocation": release.uri(script), "PythonVersion": "3"},
            "DefaultArguments": arguments,
            "MaxRetries": glue.max_retries,
            "Timeout": glue.timeout_minutes,
            "GlueVersion": line.glue_version,
            "WorkerType": glue.worker_type,
            "NumberOfWorkers": glue.number_of_workers,
        }
        if glue.connections:
            definition["Connections"] = {"Connections": list(glue.connections)}
        jobs.append(GlueJob(name, job, definition, _trigger(glue, name)))
    return jobs


def _trigger(glue: GlueJobConfig, name: str) -> dict[str, Any] | None:
    if not glue.schedule:
        return None
    if not (glue.schedule.startswith("cron(") and glue.schedule.endswith(")")):
        raise ConfigError(f"{SETTING}.schedule: expected a Glue cron expression such as 'cron(0 2 * * ? *)', "
                          f"found {glue.schedule!r}")
    return {"Name": f"{name}-schedule", "Schedule": glue.schedule, "Actions": [{"JobName": name}],
            "Description": f"runs {name} on {glue.schedule} (careplus deploy glue)"}


def problems(cfg: AppConfig) -> list[str]:
    """Settings a real deploy needs that are empty (a dry run shows placeholders for them)."""
    found = []
    if not cfg.deploy.artifacts_uri:
        found.append("deploy.artifacts_uri (s3://bucket/prefix for the package)")
    if not cfg.deploy.glue.role:
        found.append(f"{SETTING}.role (the IAM role ARN the job runs as)")
    return found


@dataclass(frozen=True)
class JobChange:
    name: str
    job: Action
    trigger: Action


@dataclass(frozen=True)
class GlueReport:
    """What a deploy did (or in a dry run would do): the upload, each job, every write call."""

    dry_run: bool
    release: str
    upload: UploadReport
    jobs: tuple[JobChange, ...]
    calls: tuple[ApiCall, ...]
    missing: tuple[str, ...] = ()

    def lines(self) -> list[str]:
        head = "dry run, nothing written; " if self.dry_run else ""
        out = [f"{head}package {self.release}: {self.upload.summary()}"]
        out += [f"Glue job {c.name}: {c.job}" + (f", trigger {c.trigger}" if c.trigger != "none" else "")
                for c in self.jobs]
        if self.missing:
            out.append("not deployable until these are set: " + "; ".join(self.missing))
        return out


def deploy(cfg: AppConfig, dist: Path, manifest: Manifest, s3: Api, glue_api: Api) -> GlueReport:
    """Uploads the package and creates or updates the Glue jobs (see the module doc).

    ``s3`` and ``glue_api`` in dry-run mode make no call at all; the report then lists every
    write a real deploy would make, with placeholders for missing settings.

    Raises:
        ConfigError: a setting is missing or wrong, or the job's own configuration would not load.
        DeployError: the bucket does not exist, a job of that name is not ours, or an AWS call failed.
    """
    dry_run = s3.dry_run
    missing = problems(cfg)
    if missing and not dry_run:
        raise ConfigError("careplus deploy glue needs " + "; ".join(missing))
    job_cfg = launch.job_config_or_preview(cfg, cfg.deploy.glue.env, cfg.deploy.glue.settings, SETTING, "glue",
                                           dry_run)
    release = Release.of(manifest, cfg.deploy.artifacts_uri)
    jobs = definitions(cfg, manifest, release, job_cfg)
    if not dry_run:
        check_bucket(s3, release)
        for job in jobs:
            _check_ours(glue_api, job)
    uploaded = upload(s3, dist, release)
    changes = tuple(_apply(glue_api, job) for job in jobs)
    return GlueReport(dry_run, manifest.release, uploaded, changes, (*s3.calls, *glue_api.calls), tuple(missing))


def _check_ours(glue_api: Api, job: GlueJob) -> None:
    found = glue_api.read("get_job", job.name, JobName=job.name)
    if found is not None and RELEASE_ARGUMENT not in (found.get("Job", {}).get("DefaultArguments") or {}):
        raise DeployError(f"Glue job {job.name} exists but was not created by careplus deploy (no {RELEASE_ARGUMENT} "
                          f"argument); rename it or set {SETTING}.job_prefix")


def _apply(glue_api: Api, job: GlueJob) -> JobChange:
    action: Action = "created"
    found = None if glue_api.dry_run else glue_api.read("get_job", job.name, JobName=job.name)
    if found is None:
        glue_api.write("create_job", job.name, Name=job.name, **job.definition, Tags={"careplus:managed": "true"})
    elif holds(job.definition, found.get("Job", {})):
        action = "unchanged"
    else:
        glue_api.write("update_job", job.name, JobName=job.name, JobUpdate=job.definition)
        action = "updated"
    return JobChange(job.name, action, _apply_trigger(glue_api, job))


def _apply_trigger(glue_api: Api, job: GlueJob) -> Action:
    name = f"{job.name}-schedule"
    found = None if glue_api.dry_run else glue_api.read("get_trigger", name, Name=name)
    want = job.trigger
    if want is None:
        if found is None:
            return "none"
        glue_api.write("delete_trigger", name, Name=name)
        return "deleted"
    if found is None:
        glue_api.write("create_trigger", name, Type="SCHEDULED", StartOnCreation=True, **want)
        return "created"
    update = {k: v for k, v in want.items() if k != "Name"}
    if holds(update, found.get("Trigger", {})):
        return "unchanged"
    glue_api.write("update_trigger", name, Name=name, TriggerUpdate=update)
    return "updated"
