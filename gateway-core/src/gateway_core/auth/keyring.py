"""The keys every request is checked against, held in memory and kept current in the background.

At startup the keyring loads the store's records, the keys declared in the config (by hash, or read from an
environment variable) and the admin keys (``auth.admin_keys``, ``GATEWAY_ADMIN_KEY``). A background task
polls the store's change counter every ``auth.refresh_seconds`` (default 1 s) and reloads on a change, so a
key revoked through any gateway sharing the store is refused by every other within that time plus one
reload. A request's check is a header read, one SHA-256 and one dict lookup: no store access.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import time
from collections.abc import Iterable, Mapping

from ..errors import GatewayError
from .keys import GatewayKey, hash_key
from .keystore import KeyStore
from .settings import AuthSettings

logger = logging.getLogger("gateway.auth")

ADMIN_KEY_ENV = "GATEWAY_ADMIN_KEY"


class AuthError(GatewayError):
    """401: no key, or not a usable one."""

    type = "invalid_request_error"
    status = 401


class Keyring:
    """Keys by hash, refreshed from the store in the background."""

    def __init__(self, settings: AuthSettings, store: KeyStore | None,
                 environ: Mapping[str, str] | None = None) -> None:
        self.settings = settings
        self.store = store
        environ = os.environ if environ is None else environ
        self._static = dict(_static_keys(settings, environ))
        self._by_hash: dict[str, GatewayKey] = dict(self._static)
        self._version = -1
        self._task: asyncio.Task[None] | None = None

    @property
    def required(self) -> bool:
        """Whether every request must carry a key (some key exists)."""
        return bool(self._by_hash)

    async def start(self) -> None:
        """Load the store's keys and start following its changes."""
        if self.store is None:
            return
        await self.store.open()
        await self.reload()
        self._task = asyncio.create_task(self._follow(), name="gateway keys refresh")

    async def close(self) -> None:
        """Stop following and close the store."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        if self.store is not None:
            await self.store.close()

    async def reload(self) -> None:
        """Read every record again if the store's version moved."""
        assert self.store is not None
        version = await self.store.version()
        if version == self._version:
            return
        records = await self.store.all()
        self._by_hash = {**{key.sha256: key for key in records}, **self._static}
        self._version = version

    async def _follow(self) -> None:
        while True:
            await asyncio.sleep(self.settings.refresh_seconds)
            try:
                await self.reload()
            except Exception as exc:  # the store is away: keep the keys we have, try again
                logger.warning("reloading gateway keys failed: %s: %s", type(exc).__name__, exc)

    def authenticate(self, headers: Iterable[tuple[bytes, bytes]]) -> GatewayKey | None:
        """The request's key; ``None`` when no key is configured at all. Raises :class:`AuthError`."""
        if not self._by_hash:
            return None
        credential = credential_of(headers)
        if credential is None:
            raise AuthError("this gateway needs a key: send it as 'Authorization: Bearer gw-...' (or x-api-key)",
                            code="invalid_api_key")
        key = self._by_hash.get(hash_key(credential))
        if key is None:
            raise AuthError("the key is not valid", code="invalid_api_key")
        if not key.usable(time.time()):
            raise AuthError("the key was revoked or has expired", code="invalid_api_key")
        return key

    def all_keys(self) -> list[GatewayKey]:
        """Every key known now (store and config)."""
        return list(self._by_hash.values())


def credential_of(headers: Iterable[tuple[bytes, bytes]]) -> str | None:
    """The key a request carries: ``Authorization: Bearer``, ``x-api-key`` (Anthropic clients) or
    ``x-goog-api-key`` (Gemini clients)."""
    for name, value in headers:
        if name == b"authorization":
            scheme, _, token = value.partition(b" ")
            if scheme.lower() == b"bearer" and token.strip():
                return token.strip().decode("latin-1")
        elif name in (b"x-api-key", b"x-goog-api-key") and value.strip():
            return value.strip().decode("latin-1")
    return None


def _static_keys(settings: AuthSettings, environ: Mapping[str, str]) -> Iterable[tuple[str, GatewayKey]]:
    admin = [key for key in settings.admin_keys if key]
    if environ.get(ADMIN_KEY_ENV):
        admin.append(environ[ADMIN_KEY_ENV])
    for index, plaintext in enumerate(dict.fromkeys(admin)):
        digest = hash_key(plaintext)
        yield digest, GatewayKey(id=f"admin_{index}", name=f"admin {index}", sha256=digest, admin=True,
                                 hint=plaintext[:7], source="config")
    for index, declared in enumerate(settings.keys):
        digest = declared.sha256
        if declared.key_env:
            value = environ.get(declared.key_env)
            digest = hash_key(value) if value else None
        if not digest:
            logger.warning("auth.keys[%d] (%s) has no usable key (sha256 or a set key_env); skipped", index,
                           declared.name)
            continue
        yield digest, GatewayKey(id=f"config_{index}", name=declared.name, sha256=digest, models=declared.models,
                                 limits=declared.limits, metadata=declared.metadata, admin=declared.admin,
                                 source="config")
