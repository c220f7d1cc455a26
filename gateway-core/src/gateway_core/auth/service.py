"""Callers, as the request path meets them: who it is (the keyring), whether it may go on (limits and
budget), what it cost (prices) and the record it leaves (the usage log). Built once at startup from the
config; :class:`~gateway_core.responder.Admission` calls it for every request on every transport.

Where state lives (``auth.store``): ``sqlite`` (one gateway: keys and usage in ``keys.sqlite3`` beside the
response store; rate windows and budget holds in the process's memory, spend reloaded from the usage log at
start) or ``redis`` (several gateways: keys, rate windows, budget holds, spend and usage in the shared
Redis). ``auto`` follows the response store's backend. When Redis does not answer, rate limits fail open
(the request goes on, logged) and budgets fail closed (503), unless ``auth.on_store_error`` says otherwise.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from ..errors import GatewayError, RateLimitError
from ..prices import Pricing, TokenCounts
from .budgets import MemoryLedger, RedisLedger, period_start
from .keyring import Keyring
from .keys import GatewayKey
from .keystore import KeyStore, RedisKeyStore, SQLiteKeyStore
from .limits import KeyLimiter, Ticket
from .settings import AuthSettings, UsageSettings
from .usage import RedisUsageLog, SQLiteUsageLog, UsageLog, UsageRecord
from .windows import MemoryWindows, SharedWindows

if TYPE_CHECKING:
    from ..config import GatewayConfig

logger = logging.getLogger("gateway.auth")


@dataclass
class Pass:
    """A request's admission: its key (None on an open gateway) and its share of the key's limits."""

    key: GatewayKey | None
    ticket: Ticket | None = None


def key_store_path(config: GatewayConfig) -> str:
    """Where ``auth.store: sqlite`` keeps keys and usage: ``auth.path``, else beside the response store."""
    from ..store import default_store_path

    if config.auth.path:
        return config.auth.path
    return os.path.join(os.path.dirname(config.store.path or default_store_path()), "keys.sqlite3")


def backend_of(config: GatewayConfig) -> str:
    """``sqlite`` or ``redis``: where keys and usage live."""
    if config.auth.store != "auto":
        return config.auth.store
    return "redis" if config.store.backend == "redis" else "sqlite"


def create_key_store(config: GatewayConfig) -> KeyStore:
    """The key store the config names (not opened)."""
    if backend_of(config) == "redis":
        return RedisKeyStore(config.store.url)
    return SQLiteKeyStore(key_store_path(config))


class Callers:
    """Keys, limits, budgets, prices and usage of one gateway process."""

    def __init__(self, config: GatewayConfig, pricing: Pricing) -> None:
        self.config = config
        self.settings: AuthSettings = config.auth
        self.usage_settings: UsageSettings = config.usage
        self.pricing = pricing
        self.backend = backend_of(config)
        self.store = create_key_store(config)
        self.keyring = Keyring(self.settings, self.store)
        self.usage: UsageLog | None = None
        self.limiter: KeyLimiter | None = None

    async def start(self) -> None:
        """Open the store, load the keys, start the usage writer and the limits' storage."""
        await self.keyring.start()
        retention = self.usage_settings.retention_days
        if self.backend == "redis":
            import redis.asyncio
            from limits.storage import storage_from_string

            client = redis.asyncio.from_url(self.config.store.url)
            storage = storage_from_string("async+" + self.config.store.url, implementation="redispy")
            self.limiter = KeyLimiter(SharedWindows(storage), RedisLedger(client))
            self.usage = RedisUsageLog(client, retention_days=retention)
            await self.usage.start()
            return
        self.usage = SQLiteUsageLog(key_store_path(self.config), retention_days=retention)
        await self.usage.start()
        spent: dict[tuple[str, int], float] = {}
        for key in self.keyring.all_keys():
            if key.limits.budget_usd is not None:
                start = period_start(key.limits.budget_period)
                spent[(key.id, start)] = (await self.usage.spend_since(start)).get(key.id, 0.0)
        self.limiter = KeyLimiter(MemoryWindows(), MemoryLedger(spent))

    async def close(self) -> None:
        """Count the tokens still held back, write the last usage records and close everything."""
        if self.limiter is not None:
            await self.limiter.close()
        if self.usage is not None:
            await self.usage.close()
        await self.keyring.close()

    @property
    def required(self) -> bool:
        """Whether requests must carry a key."""
        return self.keyring.required

    def authenticate(self, headers: Iterable[tuple[bytes, bytes]]) -> GatewayKey | None:
        """The caller's key (None on an open gateway); 401 otherwise."""
        return self.keyring.authenticate(headers)

    def check_model(self, key: GatewayKey, requested: str, routed: str) -> None:
        """403 unless the key may use the model (as requested, or as routed ``instance/model``)."""
        if not (key.allows(requested) or key.allows(routed)):
            raise GatewayError(f"this key may not use model {requested!r}", code="model_not_allowed", status=403)

    async def admit(self, key: GatewayKey, kind: str, instance: str, model: str, input_estimate: int,
                    max_output_tokens: int | None) -> Ticket | None:
        """Count the request against its key's limits; 429 when over one."""
        assert self.limiter is not None
        if not _limited(key):
            return None
        output = max_output_tokens or self.usage_settings.default_max_output_tokens
        worst = None
        if key.limits.budget_usd is not None:
            worst = self.pricing.cost(kind, instance, model, TokenCounts(input=input_estimate, output=output)) or 0.0
        try:
            return await self.limiter.admit(key, model, input_estimate, worst)
        except RateLimitError:
            raise
        except Exception as exc:  # the shared store is away
            return self._store_failed(key, exc)

    def _store_failed(self, key: GatewayKey, exc: Exception) -> None:
        policy = self.settings.on_store_error
        logger.warning("the limits store failed for key %s: %s: %s", key.id, type(exc).__name__, exc)
        if key.limits.budget_usd is not None and policy.budgets == "closed":
            raise GatewayError("the budget store is unavailable; try again", code="store_unavailable", status=503,
                               retryable=True, retry_after=1) from exc
        if policy.limits == "closed":
            raise GatewayError("the limits store is unavailable; try again", code="store_unavailable", status=503,
                               retryable=True, retry_after=1) from exc
        return None

    async def settle(self, ticket: Ticket | None, tokens: int, cost: float) -> None:
        """Count what a request used and release what it held."""
        if ticket is None or self.limiter is None:
            return
        try:
            await self.limiter.settle(ticket, tokens, cost)
        except Exception as exc:
            logger.warning("settling the limits of key %s failed: %s: %s", ticket.key.id, type(exc).__name__, exc)

    @property
    def logs_usage(self) -> bool:
        """Whether usage records are kept (``usage.enabled``, once started): if not, none need building."""
        return self.usage is not None and self.usage_settings.enabled

    def log(self, record: UsageRecord) -> None:
        """Queue a usage record (no I/O)."""
        if self.logs_usage:
            self.usage.record(record)  # type: ignore[union-attr]


def _limited(key: GatewayKey) -> bool:
    limits = key.limits
    return (limits.rpm is not None or limits.tpm is not None or limits.max_in_flight is not None
            or limits.budget_usd is not None)



async def keys_exist(config: GatewayConfig) -> bool:
    """Whether any gateway key is configured: admin or declared keys, or keys in the store."""
    if Keyring(config.auth, None).required:
        return True
    store = create_key_store(config)
    try:
        await store.open()
        return bool(await store.all())
    except Exception:  # no store yet, or unreachable: nothing to count
        return False
    finally:
        await store.close()
