"""Monitoring a run: CloudWatch metrics after every step, a notification when the run ends.

With ``monitoring.cloudwatch.namespace`` set, every step sends, in one ``PutMetricData`` call,
``RowsRead``, ``RowsWritten``, ``RowsUpdated``, ``RowsQuarantined`` (Count), ``QuarantineRate``
(Percent of the rows read), ``Duration`` (Seconds), ``Succeeded`` and ``Failed`` (0 or 1), with the
dimensions ``Step`` and ``Environment`` (and ``monitoring.cloudwatch.dimensions``); the run as a
whole sends ``Duration``, ``Succeeded`` and ``Failed`` as ``Step=pipeline`` (alarm on
``Failed >= 1``).

With ``monitoring.notify.sns_topic_arn`` or ``webhook_url``, a failed run (and with
``on_success`` a succeeded one) is announced: the run id, the environment, the failed step, its
error paragraph (redacted) and the run's steps with their counts. The webhook gets JSON with a
``text`` field (what Slack and Teams incoming webhooks show) and the same facts as fields.

Sending never fails the run: calls have a short timeout and two attempts, and a failure is
returned as a warning that the caller writes into the run ledger.
"""

from __future__ import annotations

import json
import logging
import urllib.error
import urllib.request
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from careplus_spark.lakehouse.run import StepResult
from careplus_spark.platform import aws, secrets
from careplus_spark.platform.config import AppConfig

log = logging.getLogger(__name__)

#: The ``Step`` dimension of the run's own metrics.
PIPELINE = "pipeline"
_SUBJECT_CHARS = 100
_ATTEMPTS = 2


@dataclass(frozen=True)
class StepOutcome:
    """One step of a run as a notification tells it."""

    step: str
    status: str
    result: StepResult | None = None

    def line(self) -> str:
        """``silver_tickets  succeeded  read 50, written 48, updated 0, quarantined 2 (3.1 s)``"""
        if self.result is None:
            return f"{self.step}  {self.status}"
        r = self.result
        return (f"{self.step}  {self.status}  read {r.rows_read}, written {r.rows_written}, updated {r.rows_updated}, "
                f"quarantined {r.rows_quarantined} ({r.seconds:.1f} s)")


class Monitor:
    """Sends one run's metrics and notification (see the module docstring)."""

    def __init__(self, cfg: AppConfig, run_id: str) -> None:
        self.cfg = cfg
        self.run_id = run_id
        self.settings = cfg.monitoring
        self._clients: dict[str, Any] = {}

    @property
    def metrics_on(self) -> bool:
        return bool(self.settings.cloudwatch.namespace)

    @property
    def notify_on(self) -> bool:
        notify = self.settings.notify
        return bool(notify.sns_topic_arn) or notify.webhook_url.is_set()

    def step(self, job: str, result: StepResult | None, seconds: float, failed: bool) -> str | None:
        """Sends a step's metrics; returns a warning when that failed (None when sent or off)."""
        if not self.metrics_on:
            return None
        r = result or StepResult(job)
        rate = 100.0 * r.rows_quarantined / r.rows_read if r.rows_read else 0.0
        values = [("RowsRead", r.rows_read, "Count"), ("RowsWritten", r.rows_written, "Count"),
                  ("RowsUpdated", r.rows_updated, "Count"), ("RowsQuarantined", r.rows_quarantined, "Count"),
                  ("QuarantineRate", rate, "Percent"), *_outcome(seconds, failed)]
        return self._put_metrics(job, values)

    def run_ended(self, outcomes: Sequence[StepOutcome], seconds: float, error: str | None) -> list[str]:
        """Sends the run's metrics and, if configured for this outcome, its notification; returns warnings."""
        failed = error is not None
        warnings = []
        if self.metrics_on:
            warnings.append(self._put_metrics(PIPELINE, _outcome(seconds, failed)))
        if self.notify_on and (failed or self.settings.notify.on_success):
            message = self.message(outcomes, error)
            if self.settings.notify.sns_topic_arn:
                warnings.append(self._publish(message))
            if self.settings.notify.webhook_url.is_set():
                warnings.append(self._post(message))
        return [w for w in warnings if w]

    def message(self, outcomes: Sequence[StepOutcome], error: str | None) -> dict[str, Any]:
        """The notification: subject, text and fields."""
        failed = next((o.step for o in outcomes if o.status == "failed"), None)
        status = "FAILED" if error is not None else "succeeded"
        where = f" at step {failed}" if failed else ""
        subject = f"CarePlus {self.cfg.env}: run {status}{where}"[:_SUBJECT_CHARS]
        root = self.cfg.lakehouse.root
        lines = [f"CarePlus run {self.run_id} (env {self.cfg.env}, lakehouse {root}) {status}{where}."]
        if error is not None:
            lines += ["", "error:", error]
        lines += ["", "steps:", *(o.line() for o in outcomes)]
        text = secrets.redact("\n".join(lines))
        return {
            "subject": subject, "text": text, "run_id": self.run_id, "env": self.cfg.env, "status": status.lower(),
            "failed_step": failed, "error": secrets.redact(error) if error else None,
            "steps": [{"step": o.step, "status": o.status, **(_counts(o.result) if o.result else {})}
                      for o in outcomes],
        }

    def _client(self, service: str) -> Any:
        if service not in self._clients:
            self._clients[service] = aws.client(
                service, region=self.settings.region or self.cfg.s3.region, endpoint=self.settings.endpoint,
                needed_by=f"monitoring ({service})", timeout_s=self.settings.timeout_s, attempts=_ATTEMPTS,
            )
        return self._clients[service]

    def _put_metrics(self, step: str, values: Sequence[tuple[str, float, str]]) -> str | None:
        dimensions = [{"Name": "Step", "Value": step}, {"Name": "Environment", "Value": self.cfg.env},
                      *({"Name": k, "Value": v} for k, v in sorted(self.settings.cloudwatch.dimensions.items()))]
        data = [{"MetricName": name, "Dimensions": dimensions, "Value": float(value), "Unit": unit}
                for name, value, unit in values]
        return _attempt(f"CloudWatch metrics of {step}", lambda: self._client("cloudwatch").put_metric_data(
            Namespace=self.settings.cloudwatch.namespace, MetricData=data))

    def _publish(self, message: dict[str, Any]) -> str | None:
        return _attempt("SNS notification", lambda: self._client("sns").publish(
            TopicArn=self.settings.notify.sns_topic_arn, Subject=message["subject"], Message=message["text"]))

    def _post(self, message: dict[str, Any]) -> str | None:
        body = json.dumps(message).encode()

        def send() -> None:
            request = urllib.request.Request(self.settings.notify.webhook_url.reveal(), data=body, method="POST",
                                             headers={"Content-Type": "application/json"})
            with urllib.request.urlopen(request, timeout=self.settings.timeout_s) as response:  # noqa: S310
                response.read(1024)

        return _attempt("webhook notification", send)


def _outcome(seconds: float, failed: bool) -> list[tuple[str, float, str]]:
    return [("Duration", seconds, "Seconds"), ("Succeeded", 0 if failed else 1, "Count"),
            ("Failed", 1 if failed else 0, "Count")]


def _counts(result: StepResult) -> dict[str, Any]:
    return {"rows_read": result.rows_read, "rows_written": result.rows_written, "rows_updated": result.rows_updated,
            "rows_quarantined": result.rows_quarantined, "seconds": round(result.seconds, 3)}


def _attempt(what: str, call: Any) -> str | None:
    """Runs ``call``; a failure becomes a warning (logged and returned), never an exception.

    The webhook's URL (a secret) never appears: HTTP errors are told by their status only.
    """
    try:
        call()
        return None
    except urllib.error.HTTPError as exc:
        warning = f"{what} not sent: HTTP {exc.code}"
    except urllib.error.URLError as exc:
        warning = f"{what} not sent: {type(exc.reason).__name__}: {secrets.redact(str(exc.reason))[:200]}"
    except Exception as exc:  # noqa: BLE001 - monitoring never fails the run
        warning = f"{what} not sent: {aws.describe_error(exc)}"
    log.warning("%s", warning)
    return warning
