"""The echo protocol: how the mock provider and every fake upstream answer, so one conformance suite fits all.

A fake upstream parses its provider's wire format into an :class:`EchoRequest`, calls :func:`echo_reply`,
and renders the :class:`EchoReply` in its wire format. The reply depends on the last user text (the prompt):

=================  ==========================================================================================
prompt             reply
=================  ==========================================================================================
(last input is a   the prompt's next ``use:`` step if it has one left (see ``use:``), else text
tool result)       ``tool said: <output>``
``error:NNN``      an upstream HTTP error with status NNN in the provider's error format (``retry-after: 1``
                   for 429)
``system?``        text: the system instructions received, joined with a newline
``history?``       text: every turn received as ``role:text``, joined with `` | ``
``image?``         text ``images: N`` (images received in the whole input)
``length!``        text ``cut short``, finished by the output-token limit
``cut!``           streaming: a few text chunks, then the connection ends with no end marker
``file?``          text ``files: N`` (non-image files received in the whole input)
``slow!``          text ``slow!`` after waiting ``delay`` (3 s) first: for timeouts
``think!``         reasoning ``thinking hard`` (as the provider shows reasoning), then text ``thought``
``refuse!``        the provider's refusal, ``I can't help with that.`` (or its content-filter stop)
``stream-error!``  streaming: text ``partial answer``, then an in-band error in the provider's stream format
``endless!``       a long text streamed one word every ``pace`` (0.05 s): for client disconnects
(JSON output       text: ``{"text": <prompt>}`` as JSON
asked for)
``say:<text>``     text ``<text>`` (to the end of its line), even when tools are given: an agent's plain turn
``search:<query>`` with a web search tool given: a web search for ``<query>`` (as the provider reports it),
                   then text ``found: <query>`` citing ``https://example.com/<query words joined by ->``
``use:T <json>``   a call of tool ``T`` (one of the tools given) with the JSON object ``<json>`` as arguments:
                   a scripted tool turn for agents whose tools take other arguments than ``{"text"}``
                   (both are found anywhere in the prompt, as agents add text of their own around it).
                   Several ``use:`` steps in one prompt are a multi-step turn: the first is called, and
                   after each tool result the next one, counted by the calls made since the prompt; the
                   result of the last step is echoed (``tool said: ...``)
``inband-error:    streaming: the stream opens (200) and its first event is the provider's in-band error
NNN``              for status NNN (no text before it)
``text-then-       streaming: the text ``delivered before the error``, then the in-band error for status
error:NNN``        NNN, all in one write (so in one read of the gateway)
(tools given and   a call of the forced tool (else the first tool) with arguments ``{"text": <prompt>}``
tool_choice is
not ``none``)
anything else      text: the prompt itself
=================  ==========================================================================================

Streams split text into word chunks (:func:`chunk_text`). A fake sleeps ``reply.delay`` before answering
and ``reply.pace`` between streamed chunks.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable

from msgspec import Struct, field

_WORDS = re.compile(r"\s*\S+\s*|\s+")
_USE = re.compile("use:")
SLOW_DELAY = 3.0
REFUSAL = "I can't help with that."
TEXT_BEFORE_ERROR = "delivered before the error"


class EchoRequest(Struct, kw_only=True):
    """What an upstream received, in provider-neutral form."""

    system: list[str] = field(default_factory=list)
    turns: list[tuple[str, str]] = field(default_factory=list)
    images: int = 0
    files: int = 0
    json_output: bool = False
    tools: list[str] = field(default_factory=list)
    tool_choice: str = "auto"
    forced_tool: str | None = None
    tool_output: str | None = None
    web_search: bool = False
    """A web search tool was given."""


class EchoReply(Struct, kw_only=True):
    """What the upstream answers."""

    text: str | None = None
    call_name: str | None = None
    call_arguments: str | None = None
    error_status: int | None = None
    finish: str = "stop"
    cut: bool = False
    reasoning: str | None = None
    refusal: str | None = None
    stream_error: bool = False
    delay: float = 0.0
    pace: float = 0.0
    inband_error: int | None = None  # streaming: the status whose in-band error event ends the stream
    input_tokens: int = 0
    output_tokens: int = 0
    search: str | None = None
    """The query of a web search the upstream runs before its text (``search:``)."""

    @property
    def citation_url(self) -> str:
        """The URL the text of a web search turn cites."""
        return "https://example.com/" + "-".join((self.search or "").split())


def echo_reply(request: EchoRequest) -> EchoReply:
    """The reply to ``request`` under the echo protocol."""
    prompt = next((text for role, text in reversed(request.turns) if role == "user"), "")
    reply = _reply(request, prompt.strip())
    words = sum(len(text.split()) for _, text in request.turns) + sum(len(s.split()) for s in request.system)
    reply.input_tokens = max(1, words)
    reply.output_tokens = len((reply.text or reply.call_arguments or reply.refusal or "").split())
    return reply


def _reply(request: EchoRequest, prompt: str) -> EchoReply:
    if request.tool_output is not None:
        step = _step(request, prompt, _calls_since_prompt(request))
        return step or EchoReply(text=f"tool said: {request.tool_output}")
    exact = _EXACT.get(prompt)
    if exact is not None:
        return exact(request, prompt)
    marked = ":" in prompt  # every rule below but JSON output and tools has a ``word:`` in the prompt
    if marked:
        coded = _coded(prompt)
        if coded is not None:
            return coded
    if request.json_output:
        return EchoReply(text=json.dumps({"text": prompt}))
    if marked:
        scripted = _scripted(request, prompt)
        if scripted is not None:
            return scripted
    if request.tools and request.tool_choice != "none":
        name = request.forced_tool or request.tools[0]
        return EchoReply(call_name=name, call_arguments=json.dumps({"text": prompt}))
    return EchoReply(text=prompt)


_EXACT: dict[str, Callable[[EchoRequest, str], EchoReply]] = {
    "system?": lambda request, prompt: EchoReply(text="\n".join(request.system)),
    "history?": lambda request, prompt: EchoReply(text=" | ".join(f"{role}:{text}" for role, text in request.turns)),
    "image?": lambda request, prompt: EchoReply(text=f"images: {request.images}"),
    "length!": lambda request, prompt: EchoReply(text="cut short", finish="length"),
    "cut!": lambda request, prompt: EchoReply(text="this stream will be cut off", cut=True),
    "file?": lambda request, prompt: EchoReply(text=f"files: {request.files}"),
    "slow!": lambda request, prompt: EchoReply(text=prompt, delay=SLOW_DELAY),
    "think!": lambda request, prompt: EchoReply(text="thought", reasoning="thinking hard"),
    "refuse!": lambda request, prompt: EchoReply(refusal=REFUSAL, finish="refusal"),
    "stream-error!": lambda request, prompt: EchoReply(text="partial answer", stream_error=True),
    "endless!": lambda request, prompt: EchoReply(text="tick " * 100, pace=0.05),
}
"""The rules whose prompt is one exact word (looked up at once: a plain prompt passes every rule)."""


def _coded(prompt: str) -> EchoReply | None:
    """The ``error:NNN``, ``inband-error:NNN`` and ``text-then-error:NNN`` rules."""
    if prompt.startswith("error:") and prompt[6:9].isdigit():
        return EchoReply(error_status=int(prompt[6:9]))
    if prompt.startswith("inband-error:") and prompt[13:16].isdigit():
        return EchoReply(inband_error=int(prompt[13:16]))
    if prompt.startswith("text-then-error:") and prompt[16:19].isdigit():
        return EchoReply(text=TEXT_BEFORE_ERROR, inband_error=int(prompt[16:19]))
    return None


def _scripted(request: EchoRequest, prompt: str) -> EchoReply | None:
    """The ``say:`` / ``use:`` rules."""
    searched = prompt.rfind("search:")
    if searched >= 0 and request.web_search:
        query = prompt[searched + 7:].split("\n", 1)[0].strip()
        return EchoReply(text=f"found: {query}", search=query)
    said = prompt.rfind("say:")
    if said >= 0:
        return EchoReply(text=prompt[said + 4:].split("\n", 1)[0].strip())
    return _step(request, prompt, 0)


def _step(request: EchoRequest, prompt: str, number: int) -> EchoReply | None:
    """The call of the prompt's ``use:`` step ``number`` (from 0), if it has that many."""
    steps = _use_steps(request, prompt)
    return steps[number] if number < len(steps) else None


def _use_steps(request: EchoRequest, prompt: str) -> list[EchoReply]:
    """The prompt's ``use:T <json>`` steps in order: those naming a given tool with a JSON object."""
    steps = []
    for match in _USE.finditer(prompt):
        name, _, rest = prompt[match.end():].strip().partition(" ")
        if name not in request.tools:
            continue
        try:
            arguments, _ = json.JSONDecoder().raw_decode(rest.strip())
        except ValueError:
            continue
        steps.append(EchoReply(call_name=name, call_arguments=json.dumps(arguments)))
    return steps


def _calls_since_prompt(request: EchoRequest) -> int:
    """The tool calls made after the last user turn (each fake records a call as a ``call ...`` turn)."""
    calls = 0
    for role, text in reversed(request.turns):
        if role == "user":
            break
        calls += text.startswith("call ")
    return calls


def chunk_text(text: str) -> list[str]:
    """Split text into word chunks whose concatenation is the text."""
    return _WORDS.findall(text) or [text]
