"""The conformance suites' HTTP client for the gateway, and the small inputs they share."""

from __future__ import annotations

from typing import Any

import httpx

from .validator import Validator, parse_sse

PDF_DATA_URL = "data:application/pdf;base64,JVBERi0xLjQKJcfsj6IKMSAwIG9iago8PD4+CmVuZG9iagp0cmFpbGVyCjw8Pj4KJSVFT0YK"
PNG_DATA_URL = (
    "data:image/png;base64,iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg=="
)

class GatewayClient:
    """A small HTTP client for the gateway that validates everything it receives."""

    def __init__(self, base_url: str, validator: Validator) -> None:
        self.http = httpx.Client(base_url=base_url, timeout=30)
        self.validator = validator

    def post(self, body: dict[str, Any], **kwargs: Any) -> httpx.Response:
        """POST /v1/responses, unvalidated."""
        return self.http.post("/v1/responses", json=body, **kwargs)

    def create(self, body: dict[str, Any]) -> dict[str, Any]:
        """A non-streaming call that must succeed; returns the validated resource."""
        response = self.post(body)
        assert response.status_code == 200, response.text
        assert response.headers["content-type"].startswith("application/json")
        resource = response.json()
        self.validator.validate_response(resource)
        return resource

    def stream(self, body: dict[str, Any]) -> tuple[list[dict[str, Any]], dict[str, Any]]:
        """A streaming call; returns the validated events and the terminal snapshot."""
        response = self.post({**body, "stream": True})
        assert response.status_code == 200, response.text
        assert response.headers["content-type"].startswith("text/event-stream")
        events, done = parse_sse(response.content)
        terminal = self.validator.check_stream(events, done)
        self.validator.validate_response(terminal)
        return events, terminal

    def error(self, body: dict[str, Any], status: int) -> dict[str, Any]:
        """A call that must fail with ``status``; returns the validated error object."""
        response = self.post(body)
        assert response.status_code == status, response.text
        payload = response.json()
        self.validator.validate_error(payload)
        return payload["error"]
