"""Anthropic Messages API provider plugin for the gateway (entry point ``gateway_provider: anthropic``)."""

__version__ = "0.1.0"
