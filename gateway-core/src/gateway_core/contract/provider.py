"""What a provider plugin tells the core about itself, as data: its kind, an instance's capabilities, and
the compacted window its ``gateway_compact`` returns."""

from __future__ import annotations

from msgspec import Struct

from ..types import Compaction, Message, Usage


class ProviderInfo(Struct, kw_only=True):
    """Static facts about a provider kind (``gateway_provider_info``)."""

    description: str = ""
    api_key_env: tuple[str, ...] = ()
    model_prefixes: tuple[str, ...] = ()
    options: type[Struct] | None = None
    """The msgspec Struct of the kind's ``options`` (``forbid_unknown_fields=True`` recommended): the core
    converts each instance's ``options`` into it at startup (a bad value is a config error naming the key)
    and passes the result to the hooks as ``options``. ``None``: hooks get the raw mapping."""


class Capabilities(Struct, kw_only=True):
    """What one configured instance can do (``gateway_capabilities``); the core and the tests read it."""

    streaming: bool = True
    tools: bool = True
    tool_types: frozenset[str] = frozenset({"function"})
    """The tool types the provider runs itself (``"*"``: every OpenAI Responses tool and item type, passed on
    as sent). For the rest the core flattens ``namespace`` tools, turns ``custom`` tools into functions, and
    drops or refuses the others (``routing.unsupported_tools``); see ``gateway_core.tool_plan``."""
    images: bool = True
    files: bool = True
    reasoning: bool = True
    structured_output: bool = True
    compaction: bool = False  # accepts back the compaction items its gateway_compact returns


class CompactedWindow(Struct):
    """What ``gateway_compact`` returns: the compacted items and the usage of the compaction."""

    items: list[Message | Compaction]
    usage: Usage
