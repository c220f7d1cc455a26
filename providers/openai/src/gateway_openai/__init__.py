"""OpenAI provider plugin for the gateway (entry point ``openai`` in the ``gateway_provider`` group).

Two upstream modes per instance (``options.mode``): ``responses`` (OpenAI's Responses API, near pass-through)
and ``chat_completions`` (any Chat Completions server: vLLM, Ollama, Groq, Together, DeepSeek, Mistral).
"""

__version__ = "0.1.0"
