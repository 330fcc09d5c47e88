"""deploy/kubernetes: manifests valid against the Kubernetes API schemas, offline.

kubernetes-validate ships the JSON schemas of each Kubernetes release inside the wheel, so this
needs no cluster and no network. Strict mode rejects unknown fields: a misspelt key would
otherwise be dropped silently by the API server.
"""

from __future__ import annotations

import copy
import importlib
import inspect
from pathlib import Path
from typing import Any

import kubernetes_validate
import pytest
import yaml
from clearway.config import Settings
from clearway.config.settings import variables
from clearway.messaging import subscribe_events
from clearway.messaging.topics import TOPIC_PARTITIONS
from clearway.runtime import ServiceContext

from services.receiver.networks import network_routes
from services.stack.stack import WORKERS
from tests.deploy.deployment import ALL_INTERFACES, BUSY, WORKER_METRICS_PORT
from tests.deploy.metric_names import DEPLOY

K8S = DEPLOY / "kubernetes"
# The oldest release still supported by its upstream that a cluster is likely to run.
KUBERNETES_VERSION = "1.30"
API_PORTS = {"intake": 8080, "govsim": 8090}
# Consumer groups of the busy stages (GROUP_ID in each service's handlers.py): the HPA's
# selector on clearway_consumer_lag_messages must name the group the service consumes in.
GROUPS = {name: name.replace("_", "-") for name in BUSY}
DEV_TOPIC_PARTITIONS = TOPIC_PARTITIONS  # what `setup` creates
# Consumers each process runs in its group (subscribe_events' default; no service overrides it).
CONCURRENCY: int = inspect.signature(subscribe_events).parameters["concurrency"].default
README = (DEPLOY / "README.md").read_text()


def _documents(path: Path) -> list[dict[str, Any]]:
    return [doc for doc in yaml.safe_load_all(path.read_text()) if doc]


def _kustomization() -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load((K8S / "kustomization.yaml").read_text())
    return loaded


def _applied() -> list[dict[str, Any]]:
    """Every object `kubectl apply -k deploy/kubernetes` creates."""
    return [doc for name in _kustomization()["resources"] for doc in _documents(K8S / name)]


def _of_kind(kind: str) -> dict[str, dict[str, Any]]:
    return {doc["metadata"]["name"]: doc for doc in _applied() if doc["kind"] == kind}


def _container(deployment: dict[str, Any]) -> dict[str, Any]:
    (container,) = deployment["spec"]["template"]["spec"]["containers"]
    return container


def _service_of(deployment: dict[str, Any]) -> str:
    """The Clearway service (module name) a Deployment runs, from its command."""
    command: list[str] = _container(deployment)["command"]
    assert command[:2] == ["python", "-m"]
    return command[2].removeprefix("services.")


def _deployments_by_service() -> dict[str, dict[str, Any]]:
    return {_service_of(d): d for d in _of_kind("Deployment").values()}


def _all_manifests() -> list[Path]:
    return sorted(p for p in K8S.glob("*.yaml") if p.name != "kustomization.yaml")


@pytest.mark.parametrize("path", _all_manifests(), ids=lambda path: path.name)
def test_manifest_validates_against_the_kubernetes_schemas(path: Path) -> None:
    documents = _documents(path)
    assert documents
    for document in documents:
        # Raises kubernetes_validate.ValidationError (a jsonschema error) with the field path.
        kubernetes_validate.validate(document, KUBERNETES_VERSION, strict=True)


def test_the_validator_rejects_what_the_api_server_would() -> None:
    # Guards the test above: the schemas really are checked, offline, unknown fields included.
    deployment = copy.deepcopy(next(iter(_of_kind("Deployment").values())))
    deployment["spec"]["replicaz"] = 2
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(deployment, KUBERNETES_VERSION, strict=True)
    deployment = copy.deepcopy(next(iter(_of_kind("Deployment").values())))
    _container(deployment)["livenessProbe"]["httpGet"]["port"] = [9000]
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(deployment, KUBERNETES_VERSION, strict=True)


def test_kustomization_lists_every_manifest_but_the_example_secret() -> None:
    listed = set(_kustomization()["resources"])
    on_disk = {path.name for path in _all_manifests()}
    assert listed == on_disk - {"secret.example.yaml"}
    assert all((K8S / name).is_file() for name in listed)


def test_one_deployment_per_service_with_probes_on_its_port() -> None:
    deployments = _deployments_by_service()
    assert set(deployments) == {*WORKERS, "intake", "govsim"}
    for service, deployment in deployments.items():
        container = _container(deployment)
        port = API_PORTS.get(service, WORKER_METRICS_PORT)
        ports = {p["name"]: p["containerPort"] for p in container["ports"]}
        probes = (
            ("startupProbe", "/healthz"),
            ("livenessProbe", "/healthz"),
            ("readinessProbe", "/readyz"),
        )
        for probe, path in probes:
            get = container[probe]["httpGet"]
            assert get["path"] == path, (service, probe)
            assert ports.get(get["port"], get["port"]) == port, (service, probe)
        if service in WORKERS:
            env = {e["name"]: e["value"] for e in container.get("env", [])}
            assert env.get("CLEARWAY_HTTP_PORT") == str(WORKER_METRICS_PORT), service
            assert env.get("CLEARWAY_HTTP_HOST") == ALL_INTERFACES, service
        else:
            command = container["command"]
            assert command[command.index("--port") + 1] == str(port), service
            assert command[command.index("--host") + 1] == ALL_INTERFACES, service
        annotations = deployment["spec"]["template"]["metadata"]["annotations"]
        assert annotations["prometheus.io/scrape"] == "true"
        assert annotations["prometheus.io/port"] == str(port)


def test_every_container_has_requests_and_limits() -> None:
    for name, deployment in _of_kind("Deployment").items():
        resources = _container(deployment)["resources"]
        for bound in ("requests", "limits"):
            assert {"cpu", "memory"} <= set(resources[bound]), (name, bound)


def test_configuration_comes_from_the_configmap_and_the_secret() -> None:
    config = _of_kind("ConfigMap")["clearway-config"]["data"]
    assert "KAFKA_BOOTSTRAP" in config
    assert "OTEL_EXPORTER_OTLP_ENDPOINT" in config
    # Secrets are referenced, never applied from the repository.
    assert not _of_kind("Secret")
    example = _documents(K8S / "secret.example.yaml")[0]
    assert {"DATABASE_URL", "CLEARWAY_MASTER_KEYS"} <= set(example["stringData"])
    assert not {"DATABASE_URL", "CLEARWAY_MASTER_KEYS"} & set(config)
    workloads = [*_of_kind("Deployment").values(), *_of_kind("Job").values()]
    for workload in workloads:
        sources = _container(workload).get("envFrom", [])
        assert {"configMapRef": {"name": "clearway-config"}} in sources
        assert {"secretRef": {"name": example["metadata"]["name"]}} in sources


def test_intake_and_govsim_have_services_on_their_api_ports() -> None:
    services = _of_kind("Service")
    deployments = _deployments_by_service()
    for name, port in API_PORTS.items():
        service = services[name]
        labels = deployments[name]["spec"]["template"]["metadata"]["labels"]
        assert service["spec"]["selector"].items() <= labels.items()
        (service_port,) = service["spec"]["ports"]
        assert service_port["port"] == port


def _no_context() -> ServiceContext:
    raise AssertionError("only the routes' paths are read")


def test_the_receivers_network_endpoint_has_a_service_the_simulator_pushes_to() -> None:
    """SDI and the Peppol access point push to the receiver's /networks/<cc>/deliveries, on its
    worker port: a Service selects the receiver there; the simulator is told that address and
    the sandbox network key from the same Secret value the receiver checks."""
    receiver = _deployments_by_service()["receiver"]
    service = _of_kind("Service")["receiver"]
    labels = receiver["spec"]["template"]["metadata"]["labels"]
    assert service["spec"]["selector"].items() <= labels.items()
    (port,) = service["spec"]["ports"]
    ports = {p["name"]: p["containerPort"] for p in _container(receiver)["ports"]}
    assert ports[port["targetPort"]] == WORKER_METRICS_PORT  # where network_routes are served
    settings = Settings(database_url="unused", kafka_bootstrap="unused")
    routes = [path for path, _ in network_routes(settings, _no_context)]
    assert {"/networks/it/deliveries", "/networks/be/deliveries"} <= set(routes)

    env = {e["name"]: e for e in _container(_deployments_by_service()["govsim"])["env"]}
    assert env["GOVSIM_RECEIVER_URL"]["value"] == f"http://receiver:{port['port']}"
    secret = _documents(K8S / "secret.example.yaml")[0]
    assert env["GOVSIM_NETWORK_KEY"]["valueFrom"]["secretKeyRef"] == {
        "name": secret["metadata"]["name"],
        "key": "CLEARWAY_NETWORK_KEY_SANDBOX",
    }
    # The receiver reads both keys from the Secret (envFrom), under the names its settings read.
    keys = {"CLEARWAY_NETWORK_KEY_SANDBOX", "CLEARWAY_NETWORK_KEY_LIVE"}
    assert keys <= set(secret["stringData"])
    assert keys <= {variable.name for variable in variables()}
    assert not keys & set(_of_kind("ConfigMap")["clearway-config"]["data"])


def test_every_multi_replica_deployment_has_a_disruption_budget() -> None:
    budgets = _of_kind("PodDisruptionBudget").values()
    for name, deployment in _of_kind("Deployment").items():
        if deployment["spec"].get("replicas", 1) < 2:
            continue
        labels = deployment["spec"]["template"]["metadata"]["labels"]
        covering = [
            b for b in budgets if b["spec"]["selector"]["matchLabels"].items() <= labels.items()
        ]
        assert len(covering) == 1, f"{name}: {len(covering)} PodDisruptionBudgets"


def test_busy_stages_scale_on_their_consumer_lag_up_to_the_partition_count() -> None:
    deployments = _deployments_by_service()
    autoscalers = {
        h["spec"]["scaleTargetRef"]["name"]: h for h in _of_kind("HorizontalPodAutoscaler").values()
    }
    for service in BUSY:
        deployment = deployments[service]
        hpa = autoscalers[deployment["metadata"]["name"]]
        assert hpa["apiVersion"] == "autoscaling/v2"
        (metric,) = hpa["spec"]["metrics"]
        source = metric[{"External": "external", "Pods": "pods"}[metric["type"]]]
        assert source["metric"]["name"] == "clearway_consumer_lag_messages"
        assert source["metric"]["selector"]["matchLabels"] == {"group": GROUPS[service]}
        # A group uses one consumer per partition, and each replica runs `concurrency` of
        # them: replicas past partitions / concurrency would sit idle. The HPA declares the
        # partition count it assumes; the README says to raise the topics to it.
        partitions = int(hpa["metadata"]["annotations"]["clearway.io/topic-partitions"])
        assert hpa["spec"]["maxReplicas"] * CONCURRENCY <= partitions, service
        assert partitions > DEV_TOPIC_PARTITIONS, "the dev stack's 4 leave nothing to scale"
        assert f"{partitions} partitions" in README, "README does not say to raise partitions"
        assert hpa["spec"]["minReplicas"] >= 2, service


def test_groups_named_by_the_autoscalers_are_the_services_consumer_groups() -> None:
    # GROUPS above is derived from names; the services define it. Read it where it is defined.
    for service, group in GROUPS.items():
        handlers = importlib.import_module(f"services.{service}.handlers")
        assert group == handlers.GROUP_ID, service
        source = inspect.getsource(handlers)
        # A service passing its own concurrency would break the replica arithmetic above.
        assert "concurrency=" not in source, service
