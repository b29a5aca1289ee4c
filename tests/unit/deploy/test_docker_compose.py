"""docker-compose.yaml is checked structurally (no Docker engine runs here)."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import yaml

REPO = Path(__file__).resolve().parents[3]
COMPOSE = yaml.safe_load((REPO / "docker-compose.yaml").read_text(encoding="utf-8"))
SERVICES: dict[str, Any] = COMPOSE["services"]


def test_has_every_service() -> None:
    assert {"mysql", "minio", "minio-init", "spark-master", "spark-worker", "runner"} <= set(SERVICES)


@pytest.mark.parametrize("name", ["mysql", "minio", "spark-master", "spark-worker"])
def test_long_running_services_have_health_checks(name: str) -> None:
    check = SERVICES[name]["healthcheck"]
    assert check["test"][0] in ("CMD", "CMD-SHELL")
    assert int(check["retries"]) > 0 and check["interval"].endswith("s")


def test_images_are_pinned() -> None:
    for name, service in SERVICES.items():
        image = service["image"]
        assert ":" in image and not image.endswith(":latest"), f"{name} uses an unpinned image {image}"
    assert SERVICES["mysql"]["image"].startswith("mysql:8")


def test_ports_bind_to_loopback_only() -> None:
    expected = {"mysql": {"3306"}, "minio": {"9000", "9001"}, "spark-master": {"7077", "8080"}}
    for name, ports in expected.items():
        published = SERVICES[name]["ports"]
        assert all(p.startswith("127.0.0.1:") for p in published)
        assert {p.rsplit(":", 1)[1] for p in published} == ports


def test_named_volumes_are_declared() -> None:
    declared = set(COMPOSE["volumes"])
    for service in SERVICES.values():
        for volume in service.get("volumes", []):
            source = volume.split(":", 1)[0]
            if not source.startswith((".", "/")):
                assert source in declared


def test_dependencies_wait_for_health_or_completion() -> None:
    for name, service in SERVICES.items():
        for dependency, rule in service.get("depends_on", {}).items():
            assert dependency in SERVICES, f"{name} depends on unknown {dependency}"
            condition = rule["condition"]
            if condition == "service_healthy":
                assert "healthcheck" in SERVICES[dependency]
            else:
                assert condition == "service_completed_successfully"


def test_mysql_schema_creates_the_source_table() -> None:
    content = COMPOSE["configs"]["mysql-schema"]["content"]
    for column in ("ticket_id", "updated_at", "IssUeCat", "agent_feedback"):
        assert column in content
    assert SERVICES["mysql"]["configs"][0]["target"].startswith("/docker-entrypoint-initdb.d/")


def test_secrets_only_from_environment() -> None:
    text = (REPO / "docker-compose.yaml").read_text(encoding="utf-8")
    for match in re.finditer(r"(PASSWORD|SECRET)[A-Z_]*:\s*(\S+)", text):
        assert match.group(2).startswith("${"), f"literal secret in compose: {match.group(0)}"


def test_runner_uses_the_docker_environment_and_spark_submit() -> None:
    command = " ".join(SERVICES["runner"]["command"])
    assert "--env docker" in command and "./spark-submit.sh" in command
    docker_conf = yaml.safe_load((REPO / "conf" / "docker.yaml").read_text(encoding="utf-8"))
    assert docker_conf["spark"]["master"].endswith("spark://spark-master:7077}")
    assert "minio:9000" in docker_conf["s3"]["endpoint"]
