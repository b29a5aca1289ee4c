"""``careplus deploy emr --schedule``: an EventBridge Scheduler schedule that adds the steps.

Instead of adding the steps now, the schedule ``deploy.emr.schedule_name`` calls EMR's
``AddJobFlowSteps`` (a universal target, ``arn:aws:scheduler:::aws-sdk:emr:addJobFlowSteps``) on
``deploy.emr.schedule`` (e.g. ``cron(0 2 * * ? *)``, UTC) with the same steps a deploy would add:
the scripts and jars of this release (its own S3 folder, never overwritten), so a later deploy
moves the schedule to its release. The scheduler assumes ``deploy.emr.schedule_role``, which needs
``elasticmapreduce:AddJobFlowSteps`` on the cluster. A schedule that already matches is left
alone; the run lock keeps a scheduled run from overlapping one still running.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from careplus_spark.errors import ConfigError
from careplus_spark.platform.aws import Api, holds
from careplus_spark.platform.config_deploy import EmrConfig

SETTING = "deploy.emr"
#: The universal target that calls EMR's AddJobFlowSteps with the schedule's input.
ADD_STEPS_TARGET = "arn:aws:scheduler:::aws-sdk:emr:addJobFlowSteps"


def check(emr: EmrConfig, target: str) -> None:
    """Raises:
        ConfigError: no schedule or role configured, or a target other than a cluster.
    """
    missing = [f"{SETTING}.{key}" for key in ("schedule", "schedule_role") if not getattr(emr, key)]
    if missing:
        raise ConfigError("careplus deploy emr --schedule needs " + " and ".join(missing))
    if not (emr.schedule.startswith(("cron(", "rate(")) and emr.schedule.endswith(")")):
        raise ConfigError(f"{SETTING}.schedule: expected an EventBridge Scheduler expression such as "
                          f"'cron(0 2 * * ? *)', found {emr.schedule!r}")
    if target != "cluster":
        raise ConfigError("careplus deploy emr --schedule adds steps to a cluster (deploy.emr.cluster_id); "
                          "schedule EMR Serverless job runs with your own EventBridge schedule")


def request(emr: EmrConfig, steps: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """The ``CreateSchedule`` / ``UpdateSchedule`` parameters (without ``Name``)."""
    return {
        "ScheduleExpression": emr.schedule,
        "ScheduleExpressionTimezone": "UTC",
        "FlexibleTimeWindow": {"Mode": "OFF"},
        "State": "ENABLED",
        "Description": f"adds the careplus steps to {emr.cluster_id} (careplus deploy emr --schedule)",
        "Target": {
            "Arn": ADD_STEPS_TARGET,
            "RoleArn": emr.schedule_role,
            "Input": json.dumps({"JobFlowId": emr.cluster_id, "Steps": list(steps)}, sort_keys=True),
            "RetryPolicy": {"MaximumRetryAttempts": 0},  # a missed day is reported, not run twice
        },
    }


def apply(scheduler: Api, emr: EmrConfig, steps: Sequence[dict[str, Any]]) -> str:
    """Creates or updates the schedule; returns ``created``, ``updated`` or ``unchanged``."""
    name = emr.schedule_name
    want = request(emr, steps)
    found = None if scheduler.dry_run else scheduler.read("get_schedule", name, Name=name)
    if found is None:
        scheduler.write("create_schedule", name, Name=name, **want)
        return "created"
    if holds(want, found):
        return "unchanged"
    scheduler.write("update_schedule", name, Name=name, **want)
    return "updated"
