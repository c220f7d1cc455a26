"""Cost from the genai-prices table: the per-token prices probed once give what the table's own
``calc_price`` gives, within the first tier and past it, for every model of the three providers' tables."""

from __future__ import annotations

import pytest
from genai_prices import data_snapshot

from gateway_core.prices import Pricing, TokenCounts

USAGES = [
    TokenCounts(input=1234, output=567, cached_input=300, cache_write_input=100),
    TokenCounts(input=20, output=40),
    TokenCounts(input=199_999, output=3, cached_input=199_000),
    TokenCounts(input=250_000, output=10, cached_input=1_000),  # past a 200k tier
    TokenCounts(input=2_000_000, output=64_000),
]


def _models(provider: str) -> list[str]:
    snapshot = data_snapshot.get_snapshot()
    found = next(p for p in snapshot.providers if p.id == provider)
    return [model.id for model in found.models][:60]


@pytest.mark.parametrize("provider", ["openai", "anthropic", "google"])
def test_table_costs_match_calc_price(provider: str) -> None:
    pricing = Pricing()
    pricing.load()
    checked = linear = 0
    for model in _models(provider):
        table = pricing.price_of(provider, provider, model)
        if table is None:
            continue
        try:
            table._calc(USAGES[0])
        except Exception:  # a price the table itself cannot compute for plain tokens (e.g. per image)
            continue
        checked += 1
        linear += table.linear is not None
        for usage in USAGES:
            expected = table._calc(usage)
            assert table.cost(usage) == pytest.approx(expected, rel=1e-9, abs=1e-12), (model, usage)
    assert checked >= 5 and linear >= 0.8 * checked, (checked, linear)


def test_a_tiered_price_past_its_first_tier_costs_the_higher_rate() -> None:
    pricing = Pricing()
    pricing.load()
    table = pricing.price_of("anthropic", "anthropic", "claude-sonnet-4-5")
    assert table is not None and table.tier_start == 200_000
    below, above = TokenCounts(input=199_000), TokenCounts(input=201_000)
    assert table.cost(above) / 201_000 > 1.5 * table.cost(below) / 199_000  # 6 vs 3 USD per million
