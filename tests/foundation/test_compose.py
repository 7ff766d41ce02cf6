"""docker-compose.yml cannot run here (no Docker engine), so it is checked by reading it."""

from __future__ import annotations

import yaml

from parking.cli import cli
from tests.conftest import REPO_ROOT


def _compose() -> dict:
    return yaml.safe_load((REPO_ROOT / "docker-compose.yml").read_text())


def test_every_parking_command_is_a_real_subcommand() -> None:
    services = _compose()["services"]
    ours = {name: s for name, s in services.items() if s.get("command", [None])[0] == "parking"}
    assert {"api", "migrate"} <= set(ours)
    for name, service in ours.items():
        subcommand = service["command"][1]
        assert subcommand in cli.commands, f"{name}: 'parking {subcommand}' does not exist"
        command = cli.commands[subcommand]
        options = {opt for p in command.params for opt in getattr(p, "opts", [])}
        for arg in service["command"][2:]:
            if arg.startswith("--"):
                assert arg in options, f"{name}: 'parking {subcommand}' has no option {arg}"


def test_images_are_pinned() -> None:
    for name, service in _compose()["services"].items():
        image = service.get("image")
        assert image, f"{name} names no image"
        repository, _, tag = image.rpartition(":")
        assert repository and tag and tag != "latest", f"{name}: image {image!r} is not pinned"


def test_long_running_services_have_healthchecks_and_wait_for_health() -> None:
    services = _compose()["services"]
    for name, service in services.items():
        if name == "migrate":
            continue  # a one-shot job: others wait for it to complete instead
        assert "healthcheck" in service, f"{name} has no healthcheck"
    for name, service in services.items():
        for dependency, condition in service.get("depends_on", {}).items():
            expected = (
                "service_completed_successfully" if dependency == "migrate" else "service_healthy"
            )
            assert condition == {"condition": expected}, f"{name} -> {dependency}"


def test_api_reaches_database_and_redis_by_service_name() -> None:
    env = _compose()["services"]["api"]["environment"]
    assert "@postgres:5432/" in env["PARKING_DATABASE_URL"]
    assert env["PARKING_REDIS_URL"].startswith("redis://redis:")


def test_the_worker_runs_the_jobs_and_its_healthcheck_reads_its_heartbeat() -> None:
    services = _compose()["services"]
    worker = services["worker"]
    assert worker["command"][:3] == ["parking", "worker", "--heartbeat"]
    heartbeat = worker["command"][3]
    assert f"'{heartbeat}'" in worker["healthcheck"]["test"][-1]
    assert worker["environment"] == services["api"]["environment"]
    assert worker["depends_on"]["migrate"] == {"condition": "service_completed_successfully"}
    assert worker["depends_on"]["postgres"] == {"condition": "service_healthy"}


def test_the_district_simulator_listens_where_the_service_sends() -> None:
    services = _compose()["services"]
    sim = services["district-sim"]["command"]
    assert sim[:2] == ["parking", "district-sim"]
    port = sim[sim.index("--port") + 1]
    district_url = services["worker"]["environment"]["PARKING_DISTRICT_URL"]
    assert district_url == f"http://district-sim:{port}"
    assert "healthcheck" in services["district-sim"]


def test_compose_gives_the_worker_its_shutdown_grace_before_killing_it() -> None:
    # docker stops a service with SIGTERM, then SIGKILL after stop_grace_period (10 s by
    # default); the worker lets running jobs finish for worker_shutdown_grace_s first.
    from parking.settings import Settings

    grace = Settings.model_fields["worker_shutdown_grace_s"].default
    period = _compose()["services"]["worker"].get("stop_grace_period", "10s")
    assert period.endswith("s") and period[:-1].isdigit(), period
    assert int(period[:-1]) >= grace + 10, f"worker stop_grace_period {period} < {grace} s + 10 s"
