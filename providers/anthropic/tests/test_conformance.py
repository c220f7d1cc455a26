"""The core's conformance suite against the fake Anthropic upstream."""

from gateway_anthropic.testing.fake_upstream import create_app
from gateway_core.testing import ProviderConformance


class TestConformance(ProviderConformance):
    kind = "anthropic"
    model = "claude-sonnet-4-5"
    fake_upstream = create_app
