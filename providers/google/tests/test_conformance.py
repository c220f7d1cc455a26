"""The core's conformance suite against the fake Gemini API."""

from gateway_core.testing import ProviderConformance
from gateway_google.testing.fake_upstream import create_app


class TestConformance(ProviderConformance):
    kind = "google"
    model = "gemini-2.5-flash"
    fake_upstream = create_app
