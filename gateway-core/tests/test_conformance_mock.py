"""The built-in mock provider passes the same conformance suites (Open Responses and every dialect) as every
provider plugin."""

from gateway_core.testing import ProviderConformance


class TestMockConformance(ProviderConformance):
    kind = "mock"
    model = "mock-large"  # the mock answers in-process: no fake upstream
