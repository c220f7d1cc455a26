"""Tests that keep the plugin contract honest: documented, exercised, and cheap to import."""

from __future__ import annotations

import inspect
import subprocess
import sys
from pathlib import Path

import pluggy

from gateway_core import hookspecs, mock
from gateway_core.plugins import REQUIRED_HOOKS

README = Path(__file__).parents[2] / "README.md"
SPECS = {name: value for name, value in vars(hookspecs).items() if name.startswith("gateway_")}


def test_every_hookspec_has_a_contract_docstring() -> None:
    assert len(SPECS) == 11
    for name, spec in SPECS.items():
        assert spec.__doc__ and len(spec.__doc__.split()) >= 12, f"{name} needs a real docstring"


def test_every_hookspec_is_in_the_plugin_guide_with_its_arguments() -> None:
    guide = README.read_text().split("## Writing a provider plugin", 1)[1]
    for name, spec in SPECS.items():
        row = next((line for line in guide.splitlines() if line.startswith(f"| `{name}`")), None)
        assert row is not None, f"README's hook table lacks {name}"
        for argument in inspect.signature(spec).parameters:
            assert f"`{argument}`" in row, f"README's row for {name} lacks the argument {argument}"


def test_every_hookspec_is_exercised_by_the_builtin_mock() -> None:
    """The mock runs the whole conformance suite, so every hook it implements is exercised there."""
    implemented = {name for name in SPECS if hasattr(mock, name)}
    assert implemented >= set(REQUIRED_HOOKS) | {"gateway_provider_info"}
    optional_elsewhere = set(SPECS) - implemented
    assert optional_elsewhere <= {"gateway_capabilities", "gateway_close_client", "gateway_compact",
                                  "gateway_count_tokens", "gateway_list_models"}


def test_hookspecs_are_firstresult_and_named_for_the_project() -> None:
    manager = pluggy.PluginManager("gateway")
    manager.add_hookspecs(hookspecs)
    for name in SPECS:
        assert getattr(manager.hook, name).spec.opts["firstresult"] is True


def test_importing_the_app_imports_no_provider_sdk() -> None:
    script = (
        "import sys, gateway_core.app, gateway_core.cli;"
        "gateway_core.app.create_app();"
        "print(sorted(m for m in sys.modules if m.split('.')[0] in ('openai', 'anthropic', 'google')))"
    )
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_public_names_are_complete() -> None:
    """Everything a plugin author needs is importable from the package root."""
    import typing

    import gateway_core
    from gateway_core import deltas

    assert len(set(gateway_core.__all__)) == len(gateway_core.__all__)
    assert all(hasattr(gateway_core, name) for name in gateway_core.__all__)
    for delta in typing.get_args(deltas.Delta):
        assert delta.__name__ in gateway_core.__all__


def test_bundled_openapi_matches_the_shared_standard() -> None:
    """The kit ships a copy of openapi.json (plugin authors have no ../shared); it must not drift."""
    import pytest

    from gateway_core.testing.validator import BUNDLED

    shared = Path(__file__).parents[3] / "shared" / "openresponses" / "openapi.json"
    if not shared.exists():
        pytest.skip("../shared is not beside this checkout")
    assert BUNDLED.read_bytes() == shared.read_bytes()
