"""The gateway's whole conformance kit against the fake echo API."""

from gateway_core.testing import ProviderConformance
from gateway_echo.testing.fake_upstream import create_app


class TestConformance(ProviderConformance):
    kind = "echo"
    model = "echo-1"
    fake_upstream = create_app
