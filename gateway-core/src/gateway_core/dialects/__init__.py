"""Client dialects: other wire formats in front of the same core.

Each dialect is one module that knows its wire format only: it decodes its request body into the core's
:class:`~gateway_core.types.ResponseRequest`, renders a finished
:class:`~gateway_core.types.ResponseResource` as its JSON answer, renders the provider's deltas as its own
stream, and renders errors in its own shape (a :class:`~gateway_core.dialects.ingress.Dialect`). Everything
between (routing, aliases, model groups, retries, fallback, limits, storage) is the
:class:`~gateway_core.responder.Responder`, shared with ``POST /v1/responses``; the HTTP plumbing is
:class:`~gateway_core.dialects.ingress.DialectEndpoint`, shared by every dialect.

- :mod:`.chat`: OpenAI Chat Completions (``POST /v1/chat/completions``)
- :mod:`.messages`: Anthropic Messages (``POST /v1/messages``)

A new dialect (say Gemini ``generateContent``) is one new module defining a ``Dialect`` and one line in
:func:`~gateway_core.dialects.registry.dialect_endpoints`.
"""

