"""Monitoring of real runs: CloudWatch metrics and SNS messages through the AWS API emulator on
loopback, a webhook on loopback; endpoints that fail never fail the run."""

from __future__ import annotations

import datetime as dt
import http.server
import json
import threading
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from typing import Any

import pytest
from pyspark.sql import SparkSession

from careplus_spark.lakehouse.run import RunContext, StepResult
from careplus_spark.pipeline import steps
from careplus_spark.pipeline.ledger import latest, runs_table
from careplus_spark.platform.config import AppConfig
from careplus_spark.platform.config_operate import CloudWatchConfig, MonitoringConfig, NotifyConfig
from careplus_spark.platform.secrets import Secret

pytestmark = pytest.mark.integration


@dataclass
class Webhook:
    """An HTTP endpoint on loopback that records the JSON POSTed to it and answers ``status``."""

    status: int = 200
    received: list[dict[str, Any]] = field(default_factory=list)
    url: str = ""


@pytest.fixture
def webhook() -> Iterator[Webhook]:
    hook = Webhook()

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
            hook.received.append(json.loads(body))
            self.send_response(hook.status)
            self.end_headers()

        def log_message(self, *args: object) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    hook.url = f"http://127.0.0.1:{server.server_address[1]}/hooks/T000/secret-token"
    yield hook
    server.shutdown()
    server.server_close()


@dataclass(frozen=True)
class Aws:
    cfg: AppConfig
    namespace: str
    queue_url: str
    emulator: Any


@pytest.fixture
def monitored(cfg: AppConfig, aws_emulator: Any, webhook: Webhook, monkeypatch: pytest.MonkeyPatch) -> Aws:
    for name, value in aws_emulator.environment().items():
        monkeypatch.setenv(name, value)
    suffix = uuid.uuid4().hex[:8]
    sns, sqs = aws_emulator.boto3_client("sns"), aws_emulator.boto3_client("sqs")
    topic = sns.create_topic(Name=f"careplus-{suffix}")["TopicArn"]
    queue_url = sqs.create_queue(QueueName=f"careplus-{suffix}")["QueueUrl"]
    queue_arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=queue_arn)
    namespace = f"CarePlus/test-{suffix}"
    monitoring = MonitoringConfig(
        cloudwatch=CloudWatchConfig(namespace=namespace, dimensions={"Team": "support"}),
        notify=NotifyConfig(sns_topic_arn=topic, webhook_url=Secret(webhook.url, "env:TEST_WEBHOOK"), on_success=True),
        region=aws_emulator.region, endpoint=aws_emulator.endpoint_url, timeout_s=5,
    )
    return Aws(replace(cfg, monitoring=monitoring), namespace, queue_url, aws_emulator)


def sns_messages(aws: Aws) -> list[dict[str, Any]]:
    sqs = aws.emulator.boto3_client("sqs")
    found = sqs.receive_message(QueueUrl=aws.queue_url, MaxNumberOfMessages=10, WaitTimeSeconds=1).get("Messages", [])
    return [json.loads(m["Body"]) for m in found]


def metric_sum(aws: Aws, name: str, step: str, env: str) -> float:
    now = dt.datetime.now(dt.UTC)
    dims = [{"Name": "Step", "Value": step}, {"Name": "Environment", "Value": env},
            {"Name": "Team", "Value": "support"}]
    points = aws.emulator.boto3_client("cloudwatch").get_metric_statistics(
        Namespace=aws.namespace, MetricName=name, Dimensions=dims, StartTime=now - dt.timedelta(hours=1),
        EndTime=now + dt.timedelta(hours=1), Period=3600, Statistics=["Sum"])["Datapoints"]
    return sum(p["Sum"] for p in points)


def ledger(spark: SparkSession, ctx: RunContext) -> dict[str, Any]:
    rows = latest(spark.read.format("delta").load(runs_table(ctx).path)).where(f"run_id = '{ctx.run_id}'").collect()
    return {r.job: r for r in rows}


def test_a_run_sends_metrics_and_its_notification(spark: SparkSession, monitored: Aws, webhook: Webhook) -> None:
    ctx = RunContext(monitored.cfg)
    (result,) = steps.run_steps(spark, ctx, ["ingest_tickets"])
    env = monitored.cfg.env
    assert result.rows_read > 0
    assert metric_sum(monitored, "RowsRead", "ingest_tickets", env) == result.rows_read
    assert metric_sum(monitored, "Succeeded", "ingest_tickets", env) == 1
    assert metric_sum(monitored, "Failed", "pipeline", env) == 0
    (message,) = sns_messages(monitored)
    assert message["Subject"] == f"CarePlus {env}: run succeeded"
    assert ctx.run_id in message["Message"] and "ingest_tickets  succeeded  read" in message["Message"]
    (posted,) = webhook.received
    assert (posted["run_id"], posted["status"], posted["steps"][0]["rows_read"]) == (ctx.run_id, "succeeded",
                                                                                    result.rows_read)
    assert "warning" not in result.detail and "monitor" not in ledger(spark, ctx)


def test_a_failed_step_is_announced_with_its_error(
    spark: SparkSession, monitored: Aws, webhook: Webhook, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(spark: SparkSession, ctx: RunContext) -> StepResult:
        raise RuntimeError("the source database went away")

    monkeypatch.setitem(steps.STEPS, "silver_tickets", broken)
    ctx = RunContext(replace(monitored.cfg, monitoring=replace(
        monitored.cfg.monitoring, notify=replace(monitored.cfg.monitoring.notify, on_success=False))))
    with pytest.raises(RuntimeError, match="went away"):
        steps.run_steps(spark, ctx, ["ingest_tickets", "silver_tickets"])
    env = monitored.cfg.env
    assert metric_sum(monitored, "Failed", "silver_tickets", env) == 1
    assert metric_sum(monitored, "Failed", "pipeline", env) == 1
    (message,) = sns_messages(monitored)
    assert message["Subject"] == f"CarePlus {env}: run FAILED at step silver_tickets"
    assert "RuntimeError: the source database went away" in message["Message"]
    assert "ingest_tickets  succeeded" in message["Message"] and "silver_tickets  failed" in message["Message"]
    (posted,) = webhook.received
    assert posted["failed_step"] == "silver_tickets" and "went away" in posted["error"]


def test_unreachable_monitoring_never_fails_the_run(spark: SparkSession, monitored: Aws, webhook: Webhook) -> None:
    webhook.status = 500
    broken = replace(monitored.cfg.monitoring, endpoint="http://127.0.0.1:9", timeout_s=1)  # nothing listens
    ctx = RunContext(replace(monitored.cfg, monitoring=broken))
    (result,) = steps.run_steps(spark, ctx, ["ingest_tickets"])
    assert "warning: CloudWatch metrics of ingest_tickets not sent" in result.detail
    rows = ledger(spark, ctx)
    assert rows["ingest_tickets"].status == "succeeded"
    warning = rows["monitor"]
    assert warning.status == "warning"
    assert "SNS notification not sent" in warning.detail and "webhook notification not sent: HTTP 500" in warning.detail
    assert "secret-token" not in warning.detail and "secret-token" not in result.detail
