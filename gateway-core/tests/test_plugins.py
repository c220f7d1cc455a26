"""Plugin discovery through the ``gateway_provider`` entry point, and plugins that are broken."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from gateway_core import hookimpl
from gateway_core.config import ConfigError, parse_config
from gateway_core.gateway import Gateway
from gateway_core.plugins import PluginError, create_plugins
from gateway_core.testing.servers import run_gateway_process

from .mock_based import mock_plugin

ACME_PLUGIN = '''
"""A third-party provider plugin, as small as one can be."""
from gateway_core import Finish, GatewayError, ProviderInfo, TextDelta, UsageDelta, hookimpl


@hookimpl
def gateway_provider_info():
    return ProviderInfo(description="acme test provider", model_prefixes=("acme-",))


@hookimpl
def gateway_create_client(settings):
    return settings.options.get("greeting", "acme says")


@hookimpl
def gateway_translate(request, model):
    return {"model": model, "text": request.items[-1].content[0].text}


@hookimpl
async def gateway_invoke(client, native):
    return [TextDelta(f"{client} {native['text']} via {native['model']}"), UsageDelta(1, 1), Finish()]


@hookimpl
async def gateway_stream(client, native):
    async def chunks():
        yield [TextDelta(client)]
        yield [TextDelta(" " + native["text"]), Finish()]
    return chunks()


@hookimpl
def gateway_map_error(error):
    return None
'''


def install(tmp_path: Path, name: str, module_source: str) -> Path:
    """Build the package ``name`` in a temporary directory and pip-install it into a private target dir."""
    package = tmp_path / f"src-{name}"
    (package / name).mkdir(parents=True)
    (package / name / "__init__.py").write_text("")
    (package / name / "plugin.py").write_text(textwrap.dedent(module_source))
    kind = name.removeprefix("gateway_")
    (package / "pyproject.toml").write_text(textwrap.dedent(f"""
        [build-system]
        requires = ["setuptools>=61"]
        build-backend = "setuptools.build_meta"
        [project]
        name = "{name.replace('_', '-')}"
        version = "0.0.1"
        [project.entry-points.gateway_provider]
        {kind} = "{name}.plugin"
        [tool.setuptools]
        packages = ["{name}"]
    """))
    target = tmp_path / "site"
    subprocess.run(
        [sys.executable, "-m", "pip", "install", "-q", "--no-deps", "--target", str(target), str(package)],
        check=True, capture_output=True,
    )
    return target


def environment(target: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.endswith("_API_KEY")}
    env["PYTHONPATH"] = os.pathsep.join([str(target), env.get("PYTHONPATH", "")])
    return env


@pytest.fixture(scope="module")
def acme_site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return install(tmp_path_factory.mktemp("acme"), "gateway_acme", ACME_PLUGIN)


@pytest.fixture(scope="module")
def broken_site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return install(tmp_path_factory.mktemp("broken"), "gateway_broken", "raise ImportError('needs libfoo')\n")


@pytest.fixture
def acme_gateway(acme_site: Path) -> Iterator[str]:
    with run_gateway_process(env={"PYTHONPATH": environment(acme_site)["PYTHONPATH"]}) as gateway:
        yield gateway.url


def test_third_party_package_is_discovered_and_routed(acme_site: Path, acme_gateway: str) -> None:
    listing = subprocess.run([sys.executable, "-m", "gateway_core.cli", "providers"], env=environment(acme_site),
                             capture_output=True, text=True, check=True).stdout
    assert "acme test provider" in listing and "type=acme" in listing
    by_prefix = httpx.post(acme_gateway + "/v1/responses", json={"model": "acme-1", "input": "hello"}).json()
    assert by_prefix["output"][0]["content"][0]["text"] == "acme says hello via acme-1"
    by_name = httpx.post(acme_gateway + "/v1/responses", json={"model": "acme/rocket", "input": "hi"}).json()
    assert by_name["output"][0]["content"][0]["text"] == "acme says hi via rocket"
    streamed = httpx.post(acme_gateway + "/v1/responses", json={"model": "acme-1", "input": "yo", "stream": True})
    assert "acme says yo" in streamed.text and streamed.text.endswith("data: [DONE]\n\n")


def test_plugin_that_fails_to_import_is_reported_and_skipped(broken_site: Path) -> None:
    site = broken_site
    script = textwrap.dedent("""
        from gateway_core.plugins import create_plugins
        from gateway_core.gateway import Gateway
        from gateway_core.config import parse_config, ConfigError
        plugins = create_plugins()
        print("FAILURES", plugins.failures)
        Gateway(parse_config("", "ok.yaml"), plugins)
        print("STARTS WITHOUT IT")
        try:
            Gateway(parse_config("providers: {b: {type: broken}}", "uses.yaml"), plugins)
        except ConfigError as exc:
            print("CONFIG ERROR", exc)
    """)
    out = subprocess.run([sys.executable, "-c", script], env=environment(site), capture_output=True, text=True,
                         check=True)
    assert "FAILURES {'broken': 'ImportError: needs libfoo'}" in out.stdout
    assert "STARTS WITHOUT IT" in out.stdout
    assert "CONFIG ERROR uses.yaml: key 'providers.b.type': its plugin failed to import: ImportError: needs libfoo" \
        in out.stdout
    assert "'broken'" in out.stderr and "needs libfoo" in out.stderr, "the failure is logged by name"


def test_serve_exits_clearly_when_the_config_needs_a_broken_plugin(broken_site: Path, tmp_path: Path) -> None:
    site = broken_site
    config = tmp_path / "g.yaml"
    config.write_text("providers: {b: {type: broken}}\n")
    result = subprocess.run([sys.executable, "-m", "gateway_core.cli", "serve", "--config", str(config)],
                            env=environment(site), capture_output=True, text=True, timeout=30, check=False)
    assert result.returncode == 2
    assert "providers.b.type" in result.stderr and "needs libfoo" in result.stderr


def test_misspelt_hook_fails_loudly() -> None:
    @hookimpl
    def gateway_translat(request):  # type: ignore[no-untyped-def]  # the typo check_pending() catches
        return None

    with pytest.raises(PluginError, match="gateway_translat"):
        create_plugins(autoload=False, extra={"typo": mock_plugin(gateway_translat=gateway_translat)})


def test_missing_required_hooks_fail_loudly() -> None:
    partial = mock_plugin(without=("gateway_invoke", "gateway_stream", "gateway_map_error"))
    with pytest.raises(PluginError, match="gateway_invoke, gateway_stream, gateway_map_error"):
        create_plugins(autoload=False, extra={"partial": partial})


def test_autoload_can_be_turned_off(acme_site: Path) -> None:
    script = "from gateway_core.plugins import create_plugins; print(sorted(create_plugins().kinds))"
    env = environment(acme_site)
    assert "acme" in subprocess.run([sys.executable, "-c", script], env=env, capture_output=True, text=True,
                                    check=True).stdout
    env["GATEWAY_DISABLE_PLUGIN_AUTOLOAD"] = "1"
    assert subprocess.run([sys.executable, "-c", script], env=env, capture_output=True, text=True,
                          check=True).stdout.strip() == "['mock']"
    env["GATEWAY_DISABLE_PLUGIN_AUTOLOAD"] = ""
    env["GATEWAY_PLUGINS"] = "nothing-else"
    assert subprocess.run([sys.executable, "-c", script], env=env, capture_output=True, text=True,
                          check=True).stdout.strip() == "['mock']"


def test_dispatch_is_bound_per_instance_not_broadcast() -> None:
    """Two plugins both implement async gateway_invoke; each instance runs its own (pluggy's firstresult
    over async hooks would return the first plugin's coroutine for every instance)."""
    import asyncio

    from gateway_core import Finish, TextDelta

    @hookimpl
    async def gateway_invoke(native):  # type: ignore[no-untyped-def]
        return [TextDelta("other"), Finish()]

    config = parse_config("providers: {mock: {}, other: {}}", "g.yaml", environ={})
    plugins = create_plugins(autoload=False, extra={"other": mock_plugin(gateway_invoke=gateway_invoke)})
    gateway = Gateway(config, plugins, environ={})
    gateway.start()
    other = gateway.instances["other"]
    mocked = gateway.instances["mock"]
    request = __import__("gateway_core.decode", fromlist=["decode_request"]).decode_request(
        b'{"model": "m", "input": "hi"}')
    assert asyncio.run(other.invoke(other.translate(request, "m")))[0] == TextDelta("other")
    assert asyncio.run(mocked.invoke(mocked.translate(request, "m")))[0] == TextDelta("hi")


def test_unknown_type_lists_the_package_to_install() -> None:
    config = parse_config("providers: {claude: {type: anthropic}}", "g.yaml", environ={})
    with pytest.raises(ConfigError, match="pip install gateway-anthropic"):
        Gateway(config, create_plugins(autoload=False))
