"""The plugin-specific ``options`` of one configured instance, as a typed Struct the core converts at startup."""

from __future__ import annotations

from typing import Literal

from msgspec import Struct, structs

from gateway_core import ProviderSettings

Mode = Literal["responses", "chat_completions"]


class Options(Struct, kw_only=True, forbid_unknown_fields=True):
    """``options`` of an ``openai`` instance (see README): the upstream mode and the Chat Completions dialect
    switches. The core converts the config's mapping into it once per instance (``ProviderInfo.options``).

    ``dialect`` is ``openai`` when the instance talks to api.openai.com (no ``base_url``, or one on
    openai.com) and ``compatible`` otherwise; it only chooses the defaults of the individual switches, which
    :meth:`for_instance` fills in.
    """

    mode: Mode = "responses"
    dialect: Literal["openai", "compatible"] | None = None
    max_tokens_param: Literal["max_completion_tokens", "max_tokens"] | None = None
    reasoning_effort: bool | tuple[str, ...] | None = None
    stream_usage: bool = True
    tool_strict: bool = True
    organization: str | None = None
    project: str | None = None

    @property
    def openai_dialect(self) -> bool:
        """Whether the upstream is OpenAI itself (after :meth:`for_instance`)."""
        return self.dialect == "openai"

    def for_instance(self, settings: ProviderSettings) -> Options:
        """These options with the dialect and its defaults resolved for the instance's ``base_url``."""
        dialect = self.dialect
        if dialect is None:
            dialect = "openai" if not settings.base_url or "openai.com" in settings.base_url else "compatible"
        openai = dialect == "openai"
        return structs.replace(
            self,
            dialect=dialect,
            max_tokens_param=self.max_tokens_param or ("max_completion_tokens" if openai else "max_tokens"),
            reasoning_effort=openai if self.reasoning_effort is None else self.reasoning_effort,
        )

    def effort_for(self, model: str) -> bool:
        """Whether ``reasoning_effort`` may be sent for ``model``."""
        effort = self.reasoning_effort
        if isinstance(effort, tuple):
            return model.startswith(effort)
        return bool(effort)
