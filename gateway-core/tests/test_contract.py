"""Tests that keep the plugin contract honest: documented, exercised, and cheap to import."""

from __future__ import annotations

import ast
import inspect
import json
import subprocess
import sys
import types
from pathlib import Path

import pluggy

from gateway_core import mock
from gateway_core.contract import hookspecs
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


def test_the_root_exports_exactly_the_contract_sorted() -> None:
    """``gateway_core.__all__`` is sorted, names every public name of the root, and is the contract's list."""
    import gateway_core
    from gateway_core import contract

    public = [
        name for name, value in vars(gateway_core).items()
        if not name.startswith("_") and not isinstance(value, types.ModuleType)
    ]
    assert gateway_core.__all__ == sorted(public, key=str.casefold)
    assert gateway_core.__all__ == contract.__all__


def test_the_contract_exports_everything_it_defines() -> None:
    """Each public name a contract module defines is exported (the hook specs are reached as
    ``contract.hookspecs``; ``hookspec`` is the marker they are declared with)."""
    from gateway_core import contract

    for module in (contract.deltas, contract.errors, contract.hookspecs, contract.provider, contract.settings):
        tree = ast.parse(Path(module.__file__).read_text())
        for node in tree.body:
            if isinstance(node, (ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)):
                names = [node.name]
            elif isinstance(node, ast.Assign):
                names = [target.id for target in node.targets if isinstance(target, ast.Name)]
            else:
                continue
            for name in names:
                if not name.startswith(("_", "gateway_")) and name != "hookspec":
                    assert name in contract.__all__, f"{module.__name__}.{name} is not exported"


HEAVY_MODULES = ("starlette", "uvicorn", "sqlite3", "_sqlite3", "redis", "yaml", "_yaml")


def test_importing_the_contract_loads_no_web_framework_database_or_yaml() -> None:
    """A plugin imports the contract; that must not load the server, the stores or the config loader."""
    script = (
        "import json, sys, gateway_core, gateway_core.contract, gateway_core.hookspecs, gateway_core.errors;"
        "print(json.dumps(sorted(sys.modules)))"
    )
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True)
    loaded = json.loads(out.stdout)
    assert [name for name in loaded if name.split(".")[0] in HEAVY_MODULES] == []
    assert {name for name in loaded if name.startswith("gateway_core")} <= {
        # the contract, its re-exports at the old paths, and the schema it types with
        "gateway_core", "gateway_core.contract", "gateway_core.contract.deltas", "gateway_core.contract.errors",
        "gateway_core.contract.hookspecs", "gateway_core.contract.native", "gateway_core.contract.provider",
        "gateway_core.contract.settings", "gateway_core.hookspecs", "gateway_core.errors", "gateway_core.types",
    }


def test_bundled_openapi_matches_the_shared_standard() -> None:
    """The kit ships a copy of openapi.json (plugin authors have no ../shared); it must not drift."""
    import pytest

    from gateway_core.testing.validator import BUNDLED

    shared = Path(__file__).parents[3] / "shared" / "openresponses" / "openapi.json"
    if not shared.exists():
        pytest.skip("../shared is not beside this checkout")
    assert BUNDLED.read_bytes() == shared.read_bytes()
