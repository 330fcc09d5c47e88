"""docker-compose.yml runs the same services as `make run` (no Docker engine here to start it),
plus the observability around them: each check reads the file (pyyaml resolves the anchors and
merge keys as compose does) and the Prometheus config it mounts.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
import yaml

from services.stack.stack import WORKERS
from tests.deploy.deployment import ALL_INTERFACES, BUSY, WORKER_METRICS_PORT

ROOT = Path(__file__).resolve().parents[2]
CLEARWAY = (*WORKERS, "intake", "govsim")


def _compose() -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    return loaded


def _services() -> dict[str, Any]:
    services: dict[str, Any] = _compose()["services"]
    return services


def _prometheus_config() -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load((ROOT / "deploy/prometheus/prometheus.yml").read_text())
    return loaded


def _metrics_port(name: str, service: dict[str, Any]) -> int:
    """Where a service serves /metrics, /healthz and /readyz: the API's --port, else 9000."""
    command: list[str] = service["command"]
    if "--port" in command:
        return int(command[command.index("--port") + 1])
    env = service["environment"]
    assert "CLEARWAY_HTTP_PORT" in env, f"{name} sets neither --port nor CLEARWAY_HTTP_PORT"
    return int(env["CLEARWAY_HTTP_PORT"])


def _host_paths(service: dict[str, Any]) -> dict[str, Path]:
    """Bind mounts as {container path: host path} (short syntax, ./ relative to the repo)."""
    mounts: dict[str, Path] = {}
    for volume in service.get("volumes", []):
        source, target, *_ = volume.split(":")
        if source.startswith("./"):
            mounts[target] = ROOT / source
    return mounts


def test_every_stack_service_runs_in_compose_with_its_module() -> None:
    services = _services()
    for name in CLEARWAY:
        assert name in services, f"{name} is missing from docker-compose.yml"
        command = services[name]["command"]
        assert command[:3] == ["python", "-m", f"services.{name}"]
        assert (ROOT / "services" / name / "__main__.py").exists()


def test_compose_uses_apache_kafka_in_kraft_mode_and_postgres_and_sets_up_first() -> None:
    services = _services()
    assert services["kafka"]["image"].startswith("apache/kafka")
    # KRaft: the broker is its own controller; no ZooKeeper anywhere.
    roles = set(services["kafka"]["environment"]["KAFKA_PROCESS_ROLES"].split(","))
    assert roles == {"broker", "controller"}
    assert not any("zookeeper" in str(s.get("image", "")) for s in services.values())
    assert services["postgres"]["image"].startswith("postgres")
    assert services["setup"]["command"] == ["clearway", "setup"]
    for name in (*WORKERS, "intake"):
        depends = services[name]["depends_on"]
        assert depends["setup"]["condition"] == "service_completed_successfully"
        env = services[name]["environment"]
        assert {"DATABASE_URL", "KAFKA_BOOTSTRAP"} <= set(env)


@pytest.mark.parametrize("name", BUSY)
def test_busy_stages_run_several_replicas(name: str) -> None:
    assert _services()[name].get("deploy", {}).get("replicas", 1) >= 2


def test_every_service_exports_traces_over_otlp_http_to_the_trace_backend() -> None:
    services = _services()
    for name in CLEARWAY:
        endpoint = services[name]["environment"].get("OTEL_EXPORTER_OTLP_ENDPOINT")
        assert endpoint, f"{name} has no OTEL_EXPORTER_OTLP_ENDPOINT"
        url = urlsplit(endpoint)
        assert url.scheme == "http"
        assert url.port == 4318, f"{name}: OTLP/HTTP is port 4318, not {url.port}"
        backend = services.get(url.hostname or "")
        assert backend is not None, f"{name} sends traces to {url.hostname}, not in compose"
        assert backend["image"].startswith(("jaegertracing/", "grafana/tempo"))


def test_workers_listen_for_metrics_and_probes_on_every_interface() -> None:
    services = _services()
    for name in WORKERS:
        env = services[name]["environment"]
        # The default 127.0.0.1 would be unreachable from Prometheus's container.
        assert env.get("CLEARWAY_HTTP_HOST") == ALL_INTERFACES, name
        assert int(env.get("CLEARWAY_HTTP_PORT", 0)) == WORKER_METRICS_PORT, name
    for name in ("intake", "govsim"):
        command = services[name]["command"]
        assert command[command.index("--host") + 1] == ALL_INTERFACES, name


def test_every_service_healthcheck_asks_readyz_on_its_own_port() -> None:
    services = _services()
    for name in CLEARWAY:
        check = services[name].get("healthcheck")
        assert check, f"{name} has no healthcheck"
        test = " ".join(check["test"])
        port = _metrics_port(name, services[name])
        assert f":{port}/readyz" in test, f"{name}'s healthcheck does not ask :{port}/readyz"


def test_prometheus_scrapes_every_replica_of_every_service_on_its_metrics_port() -> None:
    services = _services()
    scraped: dict[str, set[int]] = {}
    for job in _prometheus_config()["scrape_configs"]:
        assert job.get("metrics_path", "/metrics") == "/metrics", job["job_name"]
        for sd in job.get("dns_sd_configs", []):
            # An A lookup of a compose service name answers one address per replica.
            assert sd["type"] == "A", job["job_name"]
            for host in sd["names"]:
                scraped.setdefault(host, set()).add(int(sd["port"]))
        for static in job.get("static_configs", []):
            for target in static["targets"]:
                host, port = target.rsplit(":", 1)
                if services.get(host, {}).get("deploy", {}).get("replicas", 1) > 1:
                    continue  # a static name reaches one replica only: not coverage
                scraped.setdefault(host, set()).add(int(port))
    for name in CLEARWAY:
        port = _metrics_port(name, services[name])
        assert port in scraped.get(name, set()), f"Prometheus does not scrape {name}:{port}"


def test_prometheus_grafana_and_their_files_are_wired_up() -> None:
    services = _services()
    prometheus = services["prometheus"]
    mounts = _host_paths(prometheus)
    config_arg = next(a for a in prometheus["command"] if a.startswith("--config.file="))
    config_path = Path(config_arg.split("=", 1)[1])
    host_dir = mounts[str(config_path.parent)]
    assert (host_dir / config_path.name).is_file()
    # Rule files resolve relative to the config file's folder.
    for rules in _prometheus_config()["rule_files"]:
        assert (host_dir / rules).is_file(), rules
    assert "alerts.yml" in _prometheus_config()["rule_files"]

    grafana = services["grafana"]
    mounts = _host_paths(grafana)
    provisioning = mounts["/etc/grafana/provisioning"]
    assert (provisioning / "datasources").is_dir()
    providers = yaml.safe_load((provisioning / "dashboards" / "dashboards.yml").read_text())
    for provider in providers["providers"]:
        dashboards = mounts[provider["options"]["path"]]
        assert list(dashboards.glob("*.json")), f"no dashboards in {dashboards}"
    home = Path(grafana["environment"]["GF_DASHBOARDS_DEFAULT_HOME_DASHBOARD_PATH"])
    assert (mounts[str(home.parent)] / home.name).is_file()
