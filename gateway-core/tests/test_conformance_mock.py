"""The built-in mock provider passes the same conformance suite as every provider plugin."""

from gateway_core.testing import ProviderConformance


class TestMockConformance(ProviderConformance):
    kind = "mock"
    model = "mock-large"  # the mock answers in-process: no fake upstream
