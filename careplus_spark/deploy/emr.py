"""``careplus deploy emr``: the package on S3, then the jobs as EMR steps or EMR Serverless job runs.

A step is ``command-runner.jar`` running ``spark-submit`` on YARN with the wheel as
``--py-files``, the release's bundled Delta jars plus the log reader (of the cluster's Spark line)
and Connector/J as ``--jars``, Delta's static confs, then the job script with ``--env`` and a
``--set`` per configured setting. Steps run in order; a failed one cancels the rest
(``deploy.emr.action_on_failure``). On EMR Serverless the same ``spark-submit`` parameters start one
job run per job, one after another. ``--wait`` follows each step or run to its end, within
``deploy.emr.wait_timeout_minutes``, and fails with EMR's reason. ``--schedule`` creates or
updates an EventBridge schedule that adds the steps daily instead (:mod:`careplus_spark.deploy.emr_schedule`).
"""

from __future__ import annotations

import functools
import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from careplus_spark.deploy import emr_schedule, launch
from careplus_spark.deploy.artifacts import Manifest, line_of_emr_release
from careplus_spark.deploy.release import Release, UploadReport, check_bucket, upload
from careplus_spark.errors import ConfigError, DeployError
from careplus_spark.platform.aws import Api, ApiCall
from careplus_spark.platform.config import AppConfig
from careplus_spark.platform.config_deploy import EmrConfig

SETTING = "deploy.emr"
_USABLE_CLUSTER = ("STARTING", "BOOTSTRAPPING", "RUNNING", "WAITING")
STEP_DONE, STEP_FAILED = ("COMPLETED",), ("CANCELLED", "FAILED", "INTERRUPTED")
RUN_DONE, RUN_FAILED = ("SUCCESS",), ("FAILED", "CANCELLED")
#: Delta's S3DynamoDBLogStore as EMR installs it beside delta-spark.jar (lakehouse.log_store: s3-dynamodb).
EMR_LOG_STORE_JAR = "/usr/share/aws/delta/lib/delta-storage-s3-dynamodb.jar"


@dataclass(frozen=True)
class Submission:
    """What is submitted for one job: its name and the ``spark-submit`` arguments after the command."""

    job: str
    name: str
    args: tuple[str, ...]

    def step(self, action_on_failure: str) -> dict[str, Any]:
        """The EMR step (``AddJobFlowSteps``)."""
        return {"Name": self.name, "ActionOnFailure": action_on_failure,
                "HadoopJarStep": {"Jar": "command-runner.jar", "Args": ["spark-submit", *self.args]}}


def submissions(cfg: AppConfig, manifest: Manifest, release: Release, line: str, job_cfg: AppConfig,
                jobs: Sequence[str] = ()) -> list[Submission]:
    """The ``spark-submit`` of every job, in the order given (default ``deploy.emr.jobs``); calls nothing."""
    emr = cfg.deploy.emr
    chosen = tuple(jobs) or emr.jobs
    launch.check_jobs(chosen, manifest, f"{SETTING}.jobs")
    scripts = manifest.jobs()
    store = [EMR_LOG_STORE_JAR] if job_cfg.lakehouse.log_store == "s3-dynamodb" else []
    jars = [*emr.delta_jars, *store, release.uri(manifest.one("log-reader", line)),
            release.uri(manifest.one("jdbc-driver"))]
    confs = {**launch.launch_confs(job_cfg), "spark.yarn.maxAppAttempts": "1"}  # a failed run is not re-run half-way
    common = ["--deploy-mode", emr.deploy_mode, "--master", "yarn", "--py-files", release.uri(manifest.one("wheel")),
              "--jars", ",".join(jars)]
    for key, value in confs.items():
        common += ["--conf", f"{key}={value}"]
    settings = [arg for item in launch.overrides(emr.settings) for arg in ("--set", item)]
    return [Submission(job, f"careplus {job} ({manifest.release})",
                       (*common, release.uri(scripts[job]), "--env", emr.env, *settings)) for job in chosen]


def serverless_parameters(submission: Submission) -> dict[str, Any]:
    """The EMR Serverless ``jobDriver`` of a submission (entry point, its arguments, the rest)."""
    args = list(submission.args)
    script = next(i for i, a in enumerate(args) if a.endswith(".py"))
    options = [a for a in args[:script] if a not in ("--deploy-mode", "cluster", "client", "--master", "yarn")]
    return {"sparkSubmit": {"entryPoint": args[script], "entryPointArguments": args[script + 1:],
                            "sparkSubmitParameters": " ".join(options)}}


@dataclass(frozen=True)
class EmrReport:
    """What was submitted (ids) or in a dry run would be, and how each ended with ``--wait``."""

    dry_run: bool
    target: str
    release: str
    upload: UploadReport
    submitted: tuple[tuple[str, str], ...]
    calls: tuple[ApiCall, ...]
    outcomes: tuple[str, ...] = ()
    missing: tuple[str, ...] = ()

    def lines(self) -> list[str]:
        head = "dry run, nothing written; " if self.dry_run else ""
        out = [f"{head}package {self.release}: {self.upload.summary()}", f"target: {self.target}"]
        out += [f"  {job}: {ident}" for job, ident in self.submitted]
        out += [f"  {line}" for line in self.outcomes]
        if self.missing:
            out.append("not deployable until these are set: " + "; ".join(self.missing))
        return out


def target_of_quiet(emr: EmrConfig, serverless: bool) -> str:
    """``serverless`` when asked for or when only an application is configured, else ``cluster``."""
    return "serverless" if serverless or (not emr.cluster_id and emr.serverless_application_id) else "cluster"


def target_of(emr: EmrConfig, serverless: bool) -> str:
    """``cluster`` or ``serverless``: by the flag, else by which id is configured.

    Raises:
        ConfigError: the chosen target's id is not configured (names the setting).
    """
    if target_of_quiet(emr, serverless) == "serverless":
        if not emr.serverless_application_id or not emr.serverless_execution_role:
            raise ConfigError(f"EMR Serverless needs {SETTING}.serverless_application_id and "
                              f"{SETTING}.serverless_execution_role")
        return "serverless"
    if not emr.cluster_id:
        raise ConfigError(f"careplus deploy emr needs {SETTING}.cluster_id (steps on a cluster) or "
                          f"{SETTING}.serverless_application_id (EMR Serverless)")
    return "cluster"


def deploy(cfg: AppConfig, dist: Path, manifest: Manifest, s3: Api, emr_api: Api, *, jobs: Sequence[str] = (),
           serverless: bool = False, wait: bool = False, sleep: Callable[[float], None] = time.sleep,
           scheduler: Api | None = None) -> EmrReport:
    """Uploads the package and submits the jobs (see the module doc); dry-run APIs make no call.

    Raises:
        ConfigError: a setting is missing or wrong, or the job's own configuration would not load.
        DeployError: no such bucket, cluster or application, it cannot take work, an AWS call
            failed, or (``wait``) a step or run failed or did not end in time.
    """
    emr = cfg.deploy.emr
    dry_run = s3.dry_run
    missing = [] if cfg.deploy.artifacts_uri else ["deploy.artifacts_uri (s3://bucket/prefix for the package)"]
    try:
        target = target_of(emr, serverless)
    except ConfigError as exc:
        if not dry_run:
            raise
        target, missing = ("serverless" if serverless else "cluster"), [*missing, str(exc)]
    if missing and not dry_run:
        raise ConfigError("careplus deploy emr needs " + "; ".join(missing))
    if scheduler is not None:
        emr_schedule.check(emr, target)
    if target == "serverless" and len(tuple(jobs) or emr.jobs) > 1 and not wait and not dry_run:
        raise ConfigError("EMR Serverless runs several jobs in order only with --wait (or deploy run_pipeline)")
    job_cfg = launch.job_config_or_preview(cfg, cfg.deploy.emr.env, cfg.deploy.emr.settings, SETTING, "emr",
                                           dry_run)
    label = emr.release_label if dry_run else _release_label(emr_api, emr, target)
    release = Release.of(manifest, cfg.deploy.artifacts_uri)
    subs = submissions(cfg, manifest, release, line_of_emr_release(label), job_cfg, jobs)
    if not dry_run:
        check_bucket(s3, release)
    else:
        emr = _placeholders(emr)
    uploaded = upload(s3, dist, release)
    where = f"EMR cluster {emr.cluster_id}" if target == "cluster" else \
        f"EMR Serverless application {emr.serverless_application_id}"
    if scheduler is not None:
        action = emr_schedule.apply(scheduler, emr, [s.step(emr.action_on_failure) for s in subs])
        what = f"schedule {emr.schedule_name} {action}: {emr.schedule}"
        submitted: tuple[tuple[str, str], ...] = ((", ".join(s.job for s in subs), what),)
        outcomes: tuple[str, ...] = ()
        emr_api = scheduler
    elif target == "cluster":
        submitted, outcomes = _steps(emr_api, emr, subs, wait, sleep)
    else:
        submitted, outcomes = _job_runs(emr_api, emr, subs, wait, sleep)
    return EmrReport(dry_run, f"{where} ({label})", manifest.release, uploaded, submitted,
                     (*s3.calls, *emr_api.calls), outcomes, tuple(missing))


def _placeholders(emr: EmrConfig) -> EmrConfig:
    """A dry run's stand-ins for ids that are not configured, named after their settings."""
    return replace(
        emr,
        cluster_id=emr.cluster_id or f"SET-{SETTING}.cluster_id",
        serverless_application_id=emr.serverless_application_id or f"SET-{SETTING}.serverless_application_id",
        serverless_execution_role=emr.serverless_execution_role or f"SET-{SETTING}.serverless_execution_role",
    )


def _release_label(emr_api: Api, emr: EmrConfig, target: str) -> str:
    """The cluster's or application's release label, after checking it exists and can take work."""
    if target == "cluster":
        found = _describe_cluster(emr_api, emr.cluster_id)
        state = found["Status"]["State"]
        if state not in _USABLE_CLUSTER:
            raise DeployError(f"EMR cluster {emr.cluster_id} ({SETTING}.cluster_id) is {state}: it cannot run steps")
        return str(found["ReleaseLabel"])
    app_id = emr.serverless_application_id
    missing = f"EMR Serverless application {app_id} ({SETTING}.serverless_application_id) does not exist"
    app = emr_api.must_read("get_application", app_id, missing, applicationId=app_id)["application"]
    if app.get("state") in ("TERMINATED", "STOPPING"):
        raise DeployError(f"EMR Serverless application {app_id} is {app['state']}: it cannot run jobs")
    return str(app["releaseLabel"])


def _describe_cluster(emr_api: Api, cluster_id: str) -> dict[str, Any]:
    try:
        found = emr_api.read("describe_cluster", cluster_id, ClusterId=cluster_id)
    except DeployError as exc:
        if "InvalidRequestException" in str(exc):  # EMR's answer for an unknown cluster id
            raise DeployError(f"EMR cluster {cluster_id} ({SETTING}.cluster_id) does not exist: {exc}") from None
        raise
    if found is None:
        raise DeployError(f"EMR cluster {cluster_id} ({SETTING}.cluster_id) does not exist")
    return dict(found["Cluster"])


def _steps(emr_api: Api, emr: EmrConfig, subs: list[Submission], wait: bool,
           sleep: Callable[[float], None]) -> tuple[tuple[tuple[str, str], ...], tuple[str, ...]]:
    steps = [s.step(emr.action_on_failure) for s in subs]
    added = emr_api.write("add_job_flow_steps", emr.cluster_id, JobFlowId=emr.cluster_id, Steps=steps)
    ids = added.get("StepIds", [])
    submitted = tuple((s.job, ident) for s, ident in zip(subs, ids or ["(step id)"] * len(subs), strict=True))
    if not wait or emr_api.dry_run:
        return submitted, ()

    def state(step_id: str) -> tuple[str, str]:
        status = emr_api.must_read("describe_step", step_id, f"EMR step {step_id} vanished",
                                   ClusterId=emr.cluster_id, StepId=step_id)["Step"]["Status"]
        failure = status.get("FailureDetails") or {}
        reason = "; ".join(str(failure[k]) for k in ("Reason", "Message", "LogFile") if failure.get(k))
        return status["State"], reason or str((status.get("StateChangeReason") or {}).get("Message", ""))

    outcomes = tuple(follow(f"EMR step {ident} ({job})", functools.partial(state, ident), STEP_DONE, STEP_FAILED,
                            emr, sleep) for job, ident in submitted)
    return submitted, outcomes


def _job_runs(emr_api: Api, emr: EmrConfig, subs: list[Submission], wait: bool,
              sleep: Callable[[float], None]) -> tuple[tuple[tuple[str, str], ...], tuple[str, ...]]:
    app_id = emr.serverless_application_id
    submitted, outcomes = [], []
    for sub in subs:
        run = emr_api.write("start_job_run", app_id, applicationId=app_id, name=sub.name,
                            executionRoleArn=emr.serverless_execution_role, clientToken=uuid.uuid4().hex,
                            jobDriver=serverless_parameters(sub))
        run_id = str(run.get("jobRunId", "(job run id)"))
        submitted.append((sub.job, run_id))
        if wait and not emr_api.dry_run:

            def state(i: str = run_id) -> tuple[str, str]:
                found = emr_api.must_read("get_job_run", i, f"EMR Serverless job run {i} vanished",
                                          applicationId=app_id, jobRunId=i)["jobRun"]
                return str(found["state"]), str(found.get("stateDetails") or "")

            outcomes.append(follow(f"EMR Serverless job run {run_id} ({sub.job})", state, RUN_DONE, RUN_FAILED,
                                   emr, sleep))
    return tuple(submitted), tuple(outcomes)


def follow(what: str, state: Callable[[], tuple[str, str]], done: Sequence[str], failed: Sequence[str],
           emr: EmrConfig, sleep: Callable[[float], None] = time.sleep) -> str:
    """Polls ``state`` every ``poll_seconds`` until a terminal state, at most ``wait_timeout_minutes``.

    Returns:
        ``"<what>: <state>"`` once done.

    Raises:
        DeployError: it failed (with EMR's reason) or did not end in time.
    """
    deadline = time.monotonic() + emr.wait_timeout_minutes * 60
    polls = max(1, int(emr.wait_timeout_minutes * 60 / max(emr.poll_seconds, 0.01)) + 1)
    current, reason = "", ""
    for _ in range(polls):
        current, reason = state()
        if current in done:
            return f"{what}: {current}"
        if current in failed:
            raise DeployError(f"{what} {current}: {reason or 'EMR gave no reason'}")
        if time.monotonic() >= deadline:
            break
        sleep(emr.poll_seconds)
    raise DeployError(f"{what} is still {current} after {emr.wait_timeout_minutes} minute(s) "
                      f"({SETTING}.wait_timeout_minutes); it keeps running: follow it in the EMR console")
