"""Routing policies: the order in which a request tries the targets of its route.

- ``fallback``: as configured.
- ``weighted``: the first target drawn by weight (an A/B split), the rest by weight; with ``sticky`` set,
  the draw is a hash of the request's ``user`` / ``safety_identifier``, so one user stays on one arm.
- ``cheapest``: by price (input + output tokens), the target's configured one, else ``prices``, else the
  bundled genai-prices table (resolved at startup); targets with no known price last.
- ``fastest``: by measured time to first byte (EWMA); unmeasured targets first, and now and then
  (``routing.explore``) a random order, so a target that got faster is noticed.
"""

from __future__ import annotations

import hashlib
import random
from collections.abc import Mapping

from .health import TargetHealth
from .routing import Route, Target
from .types import ResponseRequest


def order_targets(
    route: Route, request: ResponseRequest, health: Mapping[str, TargetHealth], explore: float
) -> list[Target]:
    """The targets of ``route`` in the order this request should try them."""
    targets = route.targets
    if len(targets) == 1:
        return targets
    policy = route.policy
    if policy == "weighted":
        return _weighted(targets, _sticky_key(route, request))
    if policy == "cheapest":
        return sorted(targets, key=lambda t: (t.unit_cost is None, t.unit_cost or 0.0))
    if policy == "fastest":
        if random.random() < explore:
            return random.sample(targets, len(targets))
        return sorted(targets, key=lambda t: _ttfb(health, t))
    return targets


def _ttfb(health: Mapping[str, TargetHealth], target: Target) -> float:
    state = health.get(target.state_key)
    return -1.0 if state is None or state.ttfb is None else state.ttfb


def _sticky_key(route: Route, request: ResponseRequest) -> str | None:
    if route.sticky == "user":
        return request.user or request.safety_identifier
    if route.sticky == "safety_identifier":
        return request.safety_identifier or request.user
    return None


def _weighted(targets: list[Target], key: str | None) -> list[Target]:
    total = sum(target.weight for target in targets)
    if key is None:
        point = random.random() * total
    else:
        digest = hashlib.blake2b(key.encode(), digest_size=8).digest()
        point = int.from_bytes(digest, "big") / 2**64 * total
    first = targets[-1]
    for target in targets:
        point -= target.weight
        if point < 0:
            first = target
            break
    rest = sorted((t for t in targets if t is not first), key=lambda t: -t.weight)
    return [first, *rest]
