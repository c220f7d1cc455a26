"""Keeping an instance's secrets out of everything the gateway says: error messages, events, stored records, logs.

A :class:`Redactor` is built once per provider instance, at startup, from its API key and the values of its
configured ``headers``. It removes each secret whole, and the masked forms upstreams echo in their error
messages: OpenAI's ``Incorrect API key provided: sk-proj-****...****abcd`` (a prefix, stars and the last four
characters), and ``...abcd`` / ``…abcd`` (an ellipsis then the last four). One compiled pattern per instance;
it only runs on error messages, never on the success path.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping

from .contract.settings import mask_url
from .errors import GatewayError

__all__ = ["Redactor", "mask_url", "masked_sources", "secrets_of"]

REDACTED = "***"
MIN_SECRET = 6
"""Shorter values are not treated as secrets (they would match ordinary words)."""

_SECRET_HEADER = re.compile(r"authorization|api[-_]?key|token|secret|password|cookie|credential|auth", re.I)
_TOKEN = r"[A-Za-z0-9_\-.]{0,64}?"  # bounded: no quadratic scans of long messages


def secrets_of(api_key: str | None, headers: Mapping[str, str]) -> list[str]:
    """The values to hide for an instance: its key, and its header values (and a scheme's credentials part,
    e.g. the token of ``Bearer <token>``)."""
    found = [api_key] if api_key else []
    for value in headers.values():
        found.append(value)
        scheme, _, credentials = value.partition(" ")
        if credentials and scheme.isalpha():
            found.append(credentials.strip())
    return [value for value in found if len(value) >= MIN_SECRET]


def masked_sources(api_key: str | None, headers: Mapping[str, str]) -> list[str]:
    """The secrets whose masked forms (prefix + stars + last four, ellipsis + last four) are hidden too: the
    key and the values of headers whose name says they hold a credential."""
    found = [api_key] if api_key else []
    for name, value in headers.items():
        if _SECRET_HEADER.search(name):
            found.append(value.partition(" ")[2].strip() or value)
    return [value for value in found if len(value) >= MIN_SECRET + 2]


class Redactor:
    """Removes one instance's secrets (whole, and masked as upstreams echo them) from text."""

    __slots__ = ("_pattern",)

    def __init__(self, secrets: Iterable[str], masked: Iterable[str] = ()) -> None:
        alternatives = sorted({re.escape(secret) for secret in secrets}, key=len, reverse=True)
        for secret in masked:
            last4 = re.escape(secret[-4:])
            # "sk-proj-********abcd", "sk-...abcd", "...abcd", "…abcd": the masked token is removed whole
            alternatives.append(rf"{_TOKEN}(?:\*{{3,}}|\.\.\.|…){_TOKEN}{last4}(?![A-Za-z0-9])")
        self._pattern = re.compile("|".join(alternatives)) if alternatives else None

    @classmethod
    def for_instance(cls, api_key: str | None, headers: Mapping[str, str]) -> Redactor:
        """The redactor of an instance with this key and these configured headers."""
        return cls(secrets_of(api_key, headers), masked_sources(api_key, headers))

    def text(self, text: str) -> str:
        """``text`` with every secret replaced by ``***``."""
        pattern = self._pattern
        return text if pattern is None else pattern.sub(REDACTED, text)

    def error(self, error: GatewayError) -> GatewayError:
        """``error`` with its message and its upstream's own body (``native``) redacted (in place; returned
        for chaining)."""
        if self._pattern is not None:
            error.message = self.text(error.message)
            if error.native is not None:
                dialect, status, body = error.native
                text = body.decode("utf-8", "surrogateescape")
                error.native = (dialect, status, self.text(text).encode("utf-8", "surrogateescape"))
        return error


