"""Configuration sections of operating the lakehouse day after day: table maintenance
(``maintenance.*``) and monitoring (``monitoring.*``: CloudWatch metrics, SNS / webhook
notifications).

Part of :mod:`careplus_spark.platform.config`, validated by the same
:func:`careplus_spark.platform.typed.build`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from careplus_spark.platform.config_checks import above, at_least, checks, each, matches
from careplus_spark.platform.secrets import Secret

#: Delta's own floor for VACUUM's retention (``spark.databricks.delta.retentionDurationCheck``):
#: below it only ``careplus maintain --force`` vacuums.
MIN_RETENTION_HOURS = 168.0

_NAMESPACE = re.compile(r"[A-Za-z0-9./#:_-]{1,255}")
_DIMENSION = re.compile(r"[A-Za-z0-9 ./#:_@-]{1,255}")
_TOPIC_ARN = re.compile(r"(arn:aws[a-z-]*:sns:[a-z0-9-]+:\d{12}:[A-Za-z0-9_-]{1,256})?")


@dataclass(frozen=True)
class MaintenanceConfig:
    """``careplus maintain``: OPTIMIZE what recent runs touched, VACUUM, manifests (README: Operating).

    ``every_hours`` > 0 makes a whole-pipeline ``careplus run`` end with the ``maintain`` step when
    the last maintenance is at least that old (0: only ``careplus maintain`` / ``careplus run
    maintain``). OPTIMIZE packs files below ``min_file_mb`` into files of up to ``target_file_mb``
    (larger files are left alone, so a compacted table is not rewritten every time); files whose
    deletion vectors mark more than Delta's share of their rows are rewritten too. VACUUM keeps
    files removed less than ``retention_hours`` ago, and longer when an incremental consumer
    has not yet read a change that old.
    """

    every_hours: float = field(default=0.0, metadata=checks(at_least(0)))
    retention_hours: float = field(default=MIN_RETENTION_HOURS, metadata=checks(at_least(0)))
    vacuum: bool = True
    target_file_mb: int = field(default=128, metadata=checks(at_least(1)))
    min_file_mb: int = field(default=16, metadata=checks(at_least(1)))


@dataclass(frozen=True)
class CloudWatchConfig:
    """Metrics of every step (``monitoring.cloudwatch``): empty ``namespace`` sends none.

    Each metric carries the dimensions ``Step`` and ``Environment`` and the configured
    ``dimensions`` (e.g. ``{Team: support}``).
    """

    namespace: str = field(default="", metadata=checks(matches(re.compile(f"({_NAMESPACE.pattern})?"),
                                                                "a CloudWatch namespace")))
    dimensions: dict[str, str] = field(default_factory=dict,
                                       metadata=checks(each(matches(_DIMENSION, "a dimension value"))))


@dataclass(frozen=True)
class NotifyConfig:
    """Messages on a failed run (and, with ``on_success``, a succeeded one).

    ``sns_topic_arn`` publishes to an SNS topic; ``webhook_url`` POSTs JSON to a URL (a secret:
    Slack-style URLs carry their token, so only ``${VAR}`` or ``aws-secretsmanager:``).
    """

    sns_topic_arn: str = field(default="", metadata=checks(matches(_TOPIC_ARN, "an SNS topic ARN")))
    webhook_url: Secret = field(default_factory=Secret.empty)
    on_success: bool = False


@dataclass(frozen=True)
class MonitoringConfig:
    """Where a run reports itself (see :mod:`careplus_spark.pipeline.monitor`). Sending never fails
    the run: a failed send is a warning in the run's ledger row. ``region`` empty means
    ``s3.region``; ``endpoint`` empty means AWS itself (an emulator's URL in tests)."""

    cloudwatch: CloudWatchConfig = field(default_factory=CloudWatchConfig)
    notify: NotifyConfig = field(default_factory=NotifyConfig)
    region: str = ""
    endpoint: str = ""
    timeout_s: float = field(default=10.0, metadata=checks(above(0)))
