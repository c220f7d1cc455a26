"""The plugin-specific ``options`` of one configured instance, parsed once and cached per instance."""

from __future__ import annotations

from typing import Any, Literal

from gateway_core import ProviderSettings

Mode = Literal["responses", "chat_completions"]
_MODES = ("responses", "chat_completions")
_TOKEN_PARAMS = ("max_completion_tokens", "max_tokens")


class Options:
    """Parsed ``options`` (see README): the upstream mode and the Chat Completions dialect switches.

    ``dialect`` is ``openai`` when the instance talks to api.openai.com (no ``base_url``, or one on
    openai.com) and ``compatible`` otherwise; it only chooses the defaults of the individual switches.
    """

    __slots__ = (
        "mode", "openai_dialect", "max_tokens_param", "reasoning_effort", "stream_usage", "tool_strict",
        "organization", "project",
    )

    def __init__(self, settings: ProviderSettings) -> None:
        raw: dict[str, Any] = settings.options
        where = f"providers.{settings.name}.options"
        mode = raw.get("mode", "responses")
        if mode not in _MODES:
            raise ValueError(f"{where}.mode must be one of {', '.join(_MODES)}, not {mode!r}")
        self.mode: Mode = mode
        dialect = raw.get("dialect")
        if dialect is None:
            dialect = "openai" if not settings.base_url or "openai.com" in settings.base_url else "compatible"
        if dialect not in ("openai", "compatible"):
            raise ValueError(f"{where}.dialect must be 'openai' or 'compatible', not {dialect!r}")
        self.openai_dialect = dialect == "openai"
        token_param = raw.get("max_tokens_param", "max_completion_tokens" if self.openai_dialect else "max_tokens")
        if token_param not in _TOKEN_PARAMS:
            raise ValueError(f"{where}.max_tokens_param must be one of {', '.join(_TOKEN_PARAMS)}")
        self.max_tokens_param: str = token_param
        effort = raw.get("reasoning_effort", self.openai_dialect)
        if not isinstance(effort, (bool, list)):
            raise ValueError(f"{where}.reasoning_effort must be true, false or a list of model-name prefixes")
        self.reasoning_effort: bool | tuple[str, ...] = tuple(effort) if isinstance(effort, list) else effort
        self.stream_usage = bool(raw.get("stream_usage", True))
        self.tool_strict = bool(raw.get("tool_strict", True))
        self.organization: str | None = raw.get("organization")
        self.project: str | None = raw.get("project")

    def effort_for(self, model: str) -> bool:
        """Whether ``reasoning_effort`` may be sent for ``model``."""
        effort = self.reasoning_effort
        if isinstance(effort, bool):
            return effort
        return model.startswith(effort)


_CACHE: dict[int, tuple[ProviderSettings, Options]] = {}


def options_of(settings: ProviderSettings) -> Options:
    """The parsed options of ``settings`` (parsed on first use, then cached for the instance's lifetime)."""
    found = _CACHE.get(id(settings))
    if found is not None and found[0] is settings:
        return found[1]
    options = Options(settings)  # ValueError on a bad option: gateway_create_client parses at startup
    _CACHE[id(settings)] = (settings, options)
    return options
