"""The plugin-specific ``options`` of one ``google`` instance, as a typed Struct the core converts at startup."""

from __future__ import annotations

from msgspec import Struct


class GoogleOptions(Struct, kw_only=True, forbid_unknown_fields=True):
    """``options`` of a ``google`` instance (see README)."""

    vertexai: bool = False
    """Vertex AI instead of the Gemini API (``publishers/google/models/{model}``)."""
    project: str | None = None
    """Vertex AI project; with ``project`` or ``location``, Application Default Credentials are used."""
    location: str | None = None
    """Vertex AI region (default ``global``)."""
    credentials_file: str | None = None
    """A service-account JSON file instead of Application Default Credentials."""
    api_version: str | None = None
    """Override the API version (default ``v1beta`` on the Gemini API, the SDK's default on Vertex)."""
