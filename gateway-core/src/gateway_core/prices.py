"""What a response cost, in USD, from ``genai-prices`` (pydantic's maintained price table, bundled and used
offline) or a price the config sets.

Usage is priced as each provider bills it, each part once: cached input at the cache-read price and
cache-write input at the cache-write price (both inside the input count, as the gateway reports usage:
Anthropic's separate counts are summed into it by its plugin), reasoning tokens as output (inside the output
count), tiered prices by the request's input size. A configured price (``aliases.<group>.targets[].price``
or ``prices.<instance>/<model>``) wins over the table. A model the table does not know, with no configured
price, has no cost (``None``), never a guess.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping
from typing import Annotated, Any

from msgspec import Meta, Struct

logger = logging.getLogger("gateway.prices")

PROVIDER_IDS = {"openai": "openai", "anthropic": "anthropic", "google": "google"}
"""genai-prices provider ids by plugin kind (other kinds are looked up by model name alone)."""


class Price(Struct, forbid_unknown_fields=True):
    """A configured price in USD per million tokens."""

    input: Annotated[float, Meta(ge=0)] = 0.0
    output: Annotated[float, Meta(ge=0)] = 0.0
    cached_input: Annotated[float, Meta(ge=0)] | None = None
    cache_write_input: Annotated[float, Meta(ge=0)] | None = None


class TokenCounts(Struct, gc=False):
    """A response's usage, as the gateway reports it (cached and cache-write inside ``input``, reasoning inside
    ``output``)."""

    input: int = 0
    output: int = 0
    cached_input: int = 0
    cache_write_input: int = 0
    reasoning: int = 0


class _Configured:
    __slots__ = ("price",)

    def __init__(self, price: Price) -> None:
        self.price = price

    def cost(self, usage: TokenCounts) -> float:
        price = self.price
        cached = usage.cached_input if price.cached_input is not None else 0
        written = usage.cache_write_input if price.cache_write_input is not None else 0
        plain = max(0, usage.input - cached - written)
        total = plain * price.input + usage.output * price.output
        total += cached * (price.cached_input or 0.0) + written * (price.cache_write_input or 0.0)
        return total / 1_000_000


class _Table:
    """A price of the genai-prices table. Its ``calc_price`` costs more than the rest of a request, so the
    price is probed once, through ``calc_price`` itself, for the cost of each kind of token below the first
    tier; a request within that tier is priced from those, any other (or a price that is not linear in the
    tokens) by ``calc_price``."""

    __slots__ = ("linear", "model_price", "tier_start")

    def __init__(self, model_price: Any) -> None:
        self.model_price = model_price
        starts = [tier.start for value in vars(model_price).values() for tier in getattr(value, "tiers", ())]
        self.tier_start = min(starts, default=None)
        self.linear = self._probe()

    def cost(self, usage: TokenCounts) -> float:
        linear = self.linear
        if linear is not None and (self.tier_start is None or usage.input < self.tier_start):
            fixed, plain, output, cached, written = linear
            return (fixed + plain * usage.input + output * usage.output + cached * usage.cached_input
                    + written * usage.cache_write_input)
        return self._calc(usage)

    def _calc(self, usage: TokenCounts) -> float:
        from genai_prices import Usage

        result = self.model_price.calc_price(Usage(input_tokens=usage.input, output_tokens=usage.output,
                                                   cache_read_tokens=usage.cached_input or None,
                                                   cache_write_tokens=usage.cache_write_input or None))
        return float(result["total_price"])

    def _probe(self) -> tuple[float, float, float, float, float] | None:
        """``(fixed, per input, per output, per cached input, per cache-write input)`` USD, checked against a
        mixed usage; None when the probes do not add up (then every cost goes through ``calc_price``)."""
        n = 1000
        try:
            fixed = self._calc(TokenCounts())
            plain = (self._calc(TokenCounts(input=n)) - fixed) / n
            output = (self._calc(TokenCounts(output=n)) - fixed) / n
            cached = (self._calc(TokenCounts(input=n, cached_input=n)) - fixed) / n - plain
            written = (self._calc(TokenCounts(input=n, cache_write_input=n)) - fixed) / n - plain
            check = TokenCounts(input=3 * n, output=n // 2, cached_input=n, cache_write_input=n // 2)
            expected = self._calc(check)
        except Exception:  # a price the probes cannot take apart
            return None
        guess = fixed + plain * check.input + output * check.output + cached * check.cached_input \
            + written * check.cache_write_input
        return (fixed, plain, output, cached, written) if abs(guess - expected) <= 1e-12 + 1e-9 * expected else None


class Pricing:
    """Prices per ``(kind, instance, model)``, resolved once per model and then cached (the cache holds only
    models that were answered by a configured instance, so it stays small)."""

    def __init__(self, configured: Mapping[str, Price] | None = None, max_models: int = 4096) -> None:
        self.configured = dict(configured or {})
        self.max_models = max_models
        self._resolved: dict[tuple[str, str, str], _Configured | _Table | None] = {}

    def load(self, models: Iterable[tuple[str, str, str]] = ()) -> None:
        """Load the price table (about half a second: done at startup, never on a request) and resolve the
        ``(kind, instance, model)`` triples the config names."""
        from genai_prices import data_snapshot

        data_snapshot.get_snapshot()
        for kind, instance, model in models:
            self.price_of(kind, instance, model)

    def price_of(self, kind: str, instance: str, model: str) -> _Configured | _Table | None:
        """The price that applies to ``instance/model`` (of plugin ``kind``), or None when unknown."""
        key = (kind, instance, model)
        if key in self._resolved:
            return self._resolved[key]
        configured = self.configured.get(f"{instance}/{model}") or self.configured.get(model)
        found: _Configured | _Table | None = None
        if configured is not None:
            found = _Configured(configured)
        elif kind != "mock":  # the built-in mock is free
            found = _lookup(kind, model)
        if len(self._resolved) < self.max_models:
            self._resolved[key] = found
        return found

    def cost(self, kind: str, instance: str, model: str, usage: TokenCounts) -> float | None:
        """USD for ``usage``, or None when the model has no known price."""
        price = self.price_of(kind, instance, model)
        return None if price is None else price.cost(usage)

    def unit_cost(self, kind: str, instance: str, model: str, configured: Price | None = None) -> float | None:
        """USD of a thousand input plus a thousand output tokens (the base tier): what the ``cheapest`` policy
        orders by. ``configured`` (a model group target's own price) wins over the config and the table."""
        price = _Configured(configured) if configured is not None else self.price_of(kind, instance, model)
        return None if price is None else price.cost(_UNIT_USAGE)


_UNIT_USAGE = TokenCounts(input=1000, output=1000)



def _lookup(kind: str, model: str) -> _Table | None:
    try:
        from genai_prices import data_snapshot

        snapshot = data_snapshot.get_snapshot()
        _, info = snapshot.find_provider_model(model, None, PROVIDER_IDS.get(kind), None)
        from datetime import datetime, timezone

        return _Table(info.get_prices(datetime.now(timezone.utc)))
    except LookupError:
        return None
    except Exception as exc:  # an unknown provider id, a model the table cannot match
        logger.debug("no price for %s model %r: %s", kind, model, exc)
        return None
