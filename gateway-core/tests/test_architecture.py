"""The import rules of ``docs/architecture.md``, checked on the source (parsed with ``ast``, nothing imported).

Layers, bottom up: the Open Responses schema (``types``); the plugin contract (``contract``); the plugin
toolkit (``ids``, ``envelope``, ``sse``, ``translate``, and ``echo`` for fakes); the core (everything else in
``gateway_core``); the test kit (``gateway_core.testing``). A layer imports only the layers below it.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

REPOSITORY = Path(__file__).parents[2]
CORE = REPOSITORY / "gateway-core" / "src" / "gateway_core"
PROVIDERS = sorted(path for path in (REPOSITORY / "providers").iterdir() if (path / "pyproject.toml").exists())

SCHEMA = {"gateway_core.types"}
CONTRACT = {"gateway_core", "gateway_core.contract"}  # and every gateway_core.contract.* module
TOOLKIT = {"gateway_core.ids", "gateway_core.envelope", "gateway_core.sse", "gateway_core.translate",
           "gateway_core.upstream"}
# tests may also build configs, decode requests and use the echo protocol and the kit (and gateway_core.testing.*)
TEST_SUPPORT = {"gateway_core.echo", "gateway_core.decode", "gateway_core.config", "gateway_core.testing"}
PROVIDER_PACKAGES = {"gateway_openai", "gateway_anthropic", "gateway_google"}
SDKS = {"openai", "anthropic", "google"}


def module_name(path: Path) -> str:
    """``gateway_core.contract.errors`` for ``.../src/gateway_core/contract/errors.py``."""
    parts = path.relative_to(CORE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imported_modules(path: Path, package: str) -> Iterator[str]:
    """Every module ``path`` imports (relative imports resolved against ``package``), at any depth,
    including imports under ``if TYPE_CHECKING:``."""
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                module = ".".join(base + ([node.module] if node.module else []))
            else:
                module = node.module or ""
            yield module
            yield from (f"{module}.{alias.name}" for alias in node.names)  # ``from . import x``: a module x


def sources(folder: Path) -> list[Path]:
    return [path for path in sorted(folder.rglob("*.py")) if ".venv" not in path.parts]


def core_imports(path: Path) -> set[str]:
    name = module_name(path)
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    return {module for module in imported_modules(path, package) if module}


def in_layer(module: str, layer: set[str], prefixes: tuple[str, ...] = ()) -> bool:
    return module in layer or module.startswith(prefixes)


def gateway_imports(path: Path) -> set[str]:
    """The ``gateway_core`` modules a core file imports."""
    return _existing({module for module in core_imports(path) if module.split(".")[0] == "gateway_core"})


def _existing(modules: set[str]) -> set[str]:
    """The names of ``modules`` that are modules (``from .contract import hookspecs`` yields both
    ``gateway_core.contract`` and ``gateway_core.contract.hookspecs``; a class name is not a module)."""
    return {module for module in modules if _is_module(module)}


def _is_module(module: str) -> bool:
    relative = Path(*module.split(".")[1:])
    return (CORE / relative).with_suffix(".py").exists() or (CORE / relative / "__init__.py").exists()


def test_the_rules_see_the_imports() -> None:
    """The parser finds what it must, so the rules below cannot pass vacuously."""
    imports = gateway_imports(CORE / "responder.py")
    assert {"gateway_core.errors", "gateway_core.types", "gateway_core.dispatch"} <= imports
    assert "gateway_core.errors.upstream_timeout" not in imports
    assert "gateway_core.contract.hookspecs" in gateway_imports(CORE / "plugins.py")
    assert len(PROVIDERS) == 3


def test_the_schema_imports_nothing_from_the_gateway() -> None:
    assert gateway_imports(CORE / "types.py") == set()


def test_the_contract_imports_only_itself_and_the_schema() -> None:
    for path in sources(CORE / "contract"):
        for module in gateway_imports(path):
            assert in_layer(module, SCHEMA | CONTRACT, ("gateway_core.contract.",)), f"{path.name} imports {module}"
    for module in gateway_imports(CORE / "__init__.py"):
        assert in_layer(module, CONTRACT, ("gateway_core.contract.",)), f"gateway_core/__init__.py imports {module}"


def test_the_toolkit_imports_only_the_contract_and_the_schema() -> None:
    for name in sorted(TOOLKIT | {"gateway_core.echo"}):
        path = CORE / f"{name.split('.')[1]}.py"
        for module in gateway_imports(path):
            assert in_layer(module, SCHEMA | CONTRACT, ("gateway_core.contract.",)), f"{path.name} imports {module}"


def test_the_core_never_imports_a_provider_package_an_sdk_or_the_test_kit() -> None:
    for path in sources(CORE):
        kit = "testing" in path.relative_to(CORE).parts
        # the test kit's dialect suites drive the gateway with the SDKs as clients (imported inside the tests)
        forbidden = PROVIDER_PACKAGES if kit else PROVIDER_PACKAGES | SDKS
        for module in core_imports(path):
            top = module.split(".")[0]
            assert top not in forbidden, f"{module_name(path)} imports {module}"
            if not kit:
                assert not module.startswith("gateway_core.testing"), f"{module_name(path)} imports {module}"


def test_plugins_use_only_the_contract_the_schema_and_the_toolkit() -> None:
    """A plugin's package imports the contract, the schema and the toolkit; its tests, and the test support it
    ships (its ``testing`` subpackage: the fake upstream), also the test kit."""
    allowed = SCHEMA | CONTRACT | TOOLKIT
    for provider in PROVIDERS:
        for folder, extra in ((provider / "src", set()), (provider / "tests", TEST_SUPPORT)):
            for path in sources(folder):
                support = TEST_SUPPORT if "testing" in path.relative_to(folder).parts else extra
                for module in ast_gateway_imports(path):
                    assert in_layer(module, allowed | support, ("gateway_core.contract.", "gateway_core.testing.")), (
                        f"{path.relative_to(REPOSITORY)} imports {module}"
                    )


def ast_gateway_imports(path: Path) -> set[str]:
    """The ``gateway_core`` modules a file outside the core imports (absolute imports only)."""
    modules = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            modules |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and not node.level and node.module:
            modules.add(node.module)
    return {module for module in modules if module.split(".")[0] == "gateway_core"}
