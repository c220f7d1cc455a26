"""The core's conformance suite against the fake OpenAI server, once per upstream mode."""

from gateway_core.testing import ProviderConformance
from gateway_openai.testing.fake_upstream import create_app


class TestResponsesMode(ProviderConformance):
    kind = "openai"
    model = "gpt-4o-mini"
    fake_upstream = create_app
    base_path = "/v1"
    options = {"mode": "responses"}


class TestChatCompletionsMode(TestResponsesMode):
    options = {"mode": "chat_completions"}
