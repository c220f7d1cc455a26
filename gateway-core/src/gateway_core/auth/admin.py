"""The admin API (admin keys only): ``/v1/admin/keys`` and ``/v1/admin/usage``.

- ``POST /v1/admin/keys``: make a key (``name``, optional ``models``, ``limits``, ``metadata``,
  ``expires_at`` or ``expires_in_days``); the answer holds the key itself, once.
- ``GET /v1/admin/keys``, ``GET /v1/admin/keys/{id}``: the records (never the key, only its first characters).
- ``PATCH /v1/admin/keys/{id}``: change ``name``, ``models``, ``limits``, ``metadata``, ``expires_at``,
  ``revoked``.
- ``DELETE /v1/admin/keys/{id}``: remove it (every gateway refuses it within ``auth.refresh_seconds``).
- ``GET /v1/admin/usage``: requests, errors, tokens and cost from the usage log, filtered by ``key`` (an id),
  ``model``, ``since`` and ``until`` (Unix seconds or dates), grouped by ``group_by`` (key, model or day).

Bad input answers 400 naming the field (unknown fields, negative limits, a model pattern that matches
nothing this gateway routes), a missing or unknown key 401, a key that is not an admin key 403, an unknown
id 404.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Annotated, Any

import msgspec
from msgspec import Meta, Struct, field
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from ..admission import admitted
from ..errors import GatewayError, InvalidRequestError, NotFoundError
from .keys import GatewayKey, KeyLimits, generate_key, hash_key, new_key_id
from .keystore import KeyStore
from .service import Callers

if TYPE_CHECKING:
    from ..config import GatewayConfig
    from ..gateway import Gateway

_JSON = "application/json"
_encode = msgspec.json.Encoder().encode


class NewKey(Struct, forbid_unknown_fields=True, kw_only=True):
    """The body of ``POST /v1/admin/keys``."""

    name: Annotated[str, Meta(min_length=1, max_length=128)]
    models: list[Annotated[str, Meta(min_length=1, max_length=256)]] = field(default_factory=list)
    limits: KeyLimits = field(default_factory=KeyLimits)
    metadata: dict[Annotated[str, Meta(max_length=64)], Annotated[str, Meta(max_length=512)]] = field(
        default_factory=dict)
    expires_at: Annotated[float, Meta(gt=0)] | None = None
    expires_in_days: Annotated[float, Meta(gt=0)] | None = None


class KeyChange(Struct, forbid_unknown_fields=True, kw_only=True):
    """The body of ``PATCH /v1/admin/keys/{id}`` (fields left out stay as they are)."""

    name: Annotated[str, Meta(min_length=1, max_length=128)] | None = None
    models: list[Annotated[str, Meta(min_length=1, max_length=256)]] | None = None
    limits: KeyLimits | None = None
    metadata: dict[Annotated[str, Meta(max_length=64)], Annotated[str, Meta(max_length=512)]] | None = None
    expires_at: Annotated[float, Meta(gt=0)] | None = None
    revoked: bool | None = None


def public(key: GatewayKey) -> dict[str, Any]:
    """A key record as the admin API shows it (no hash)."""
    record = msgspec.to_builtins(key)
    record.pop("sha256", None)
    record["object"] = "gateway.key"
    return record


class ModelPatterns:
    """Tells whether a model pattern can match something this gateway routes: its literal start (before the
    first wildcard) must begin an alias, a configured ``instance/model``, ``instance/``, or a model-name
    prefix the gateway routes by."""

    def __init__(self, names: Iterable[str], prefixes: Iterable[str]) -> None:
        self.names = sorted(set(names))
        self.prefixes = tuple(sorted(set(prefixes)))

    def matches_something(self, pattern: str) -> bool:
        """Whether ``pattern`` can match a routable model name."""
        literal = pattern
        for wildcard in "*?[":
            literal = literal.split(wildcard, 1)[0]
        if any(name.startswith(literal) for name in self.names):
            return True
        return any(literal.startswith(prefix) or prefix.startswith(literal) for prefix in self.prefixes)


def admin_routes(callers: Callers, patterns: ModelPatterns, read_body: Callable[[Request], Any],
                 admit: Callable[[dict[str, Any], str], Any], error_response: Callable[[GatewayError], Response]
                 ) -> list[BaseRoute]:
    """The admin API's routes, each admitted for admin keys only. ``read_body(request)`` is the gateway's one
    body reader (awaitable bytes)."""
    keyring, store = callers.keyring, callers.store

    def writable() -> KeyStore:
        if store is None:
            raise InvalidRequestError("this gateway has no key store (auth.store)", code="no_key_store")
        return store

    def check_models(models: list[str]) -> None:
        for index, pattern in enumerate(models):
            if not patterns.matches_something(pattern):
                raise InvalidRequestError(f"model pattern {pattern!r} matches no model this gateway routes",
                                          code="invalid_value", param=f"models[{index}]")

    async def decode(request: Request, kind: type[Any]) -> Any:
        body = await read_body(request)
        try:
            return msgspec.json.decode(body, type=kind)
        except msgspec.ValidationError as exc:
            text = str(exc)
            param = text.split("at `$.", 1)[1].rstrip("`") if "at `$." in text else None
            raise InvalidRequestError(text, code="invalid_value", param=param) from None
        except msgspec.DecodeError:
            raise InvalidRequestError("the body is not valid JSON", code="invalid_json") from None


    async def find(key_id: str) -> GatewayKey:
        key = await writable().get(key_id)
        if key is None:
            raise NotFoundError(f"no key with id {key_id!r}", code="key_not_found", param="id")
        return key

    async def create(request: Request) -> tuple[int, Any]:
        body: NewKey = await decode(request, NewKey)
        check_models(body.models)
        plaintext = generate_key()
        now = time.time()
        expires = body.expires_at or (now + body.expires_in_days * 86400 if body.expires_in_days else None)
        key = GatewayKey(id=new_key_id(), name=body.name, sha256=hash_key(plaintext), hint=plaintext[:7],
                         metadata=body.metadata, models=body.models, limits=body.limits, expires_at=expires,
                         created_at=now)
        await writable().put(key)
        await keyring.reload()
        return 201, {**public(key), "key": plaintext}

    async def listing(request: Request) -> tuple[int, Any]:
        keys = sorted(await writable().all(), key=lambda key: key.created_at)
        return 200, {"object": "list", "data": [public(key) for key in keys]}

    async def show(request: Request) -> tuple[int, Any]:
        return 200, public(await find(request.path_params["key_id"]))

    async def change(request: Request) -> tuple[int, Any]:
        key = await find(request.path_params["key_id"])
        body: KeyChange = await decode(request, KeyChange)
        if body.models is not None:
            check_models(body.models)
        updates = {name: value for name in KeyChange.__struct_fields__
                   if (value := getattr(body, name)) is not None}
        key = msgspec.structs.replace(key, **updates)
        await writable().put(key)
        await keyring.reload()
        return 200, public(key)

    async def remove(request: Request) -> tuple[int, Any]:
        key = await find(request.path_params["key_id"])
        await writable().delete(key.id)
        await keyring.reload()
        return 200, {"id": key.id, "object": "gateway.key.deleted", "deleted": True}

    async def usage(request: Request) -> tuple[int, Any]:
        if callers.usage is None:
            raise InvalidRequestError("the usage log is off (usage.enabled)", code="usage_disabled")
        query = request.query_params
        unknown = sorted(set(query) - {"key", "model", "since", "until", "group_by"})
        if unknown:
            raise InvalidRequestError(f"unknown query parameter {unknown[0]!r}", code="invalid_value",
                                      param=unknown[0])
        group_by = query.get("group_by")
        if group_by not in (None, "key", "model", "day"):
            raise InvalidRequestError("group_by is one of key, model, day", code="invalid_value", param="group_by")
        since, until = _instant(query.get("since"), "since"), _instant(query.get("until"), "until")
        rows = await callers.usage.query(key_id=query.get("key"), model=query.get("model"),
                                         since=since if since is not None else time.time() - 30 * 86400,
                                         until=until, group_by=group_by)  # type: ignore[arg-type]
        return 200, {"object": "list", "data": rows}

    def route(path: str, handler: Callable[[Request], Any], method: str) -> Route:
        async def answer(request: Request) -> Response:
            status, body = await handler(request)
            return Response(_encode(body), status_code=status, media_type=_JSON)

        return Route(path, admitted(admit, "admin", answer, error_response, admin="always"), methods=[method])

    return [
        route("/v1/admin/keys", create, "POST"),
        route("/v1/admin/keys", listing, "GET"),
        route("/v1/admin/keys/{key_id}", show, "GET"),
        route("/v1/admin/keys/{key_id}", change, "PATCH"),
        route("/v1/admin/keys/{key_id}", remove, "DELETE"),
        route("/v1/admin/usage", usage, "GET"),
    ]


def _instant(value: str | None, param: str) -> float | None:
    """A query's time: Unix seconds, or an ISO date (``2026-12-01``, UTC)."""
    if value is None:
        return None
    try:
        return float(value)
    except ValueError:
        pass
    try:
        import calendar

        return float(calendar.timegm(time.strptime(value, "%Y-%m-%d")))
    except ValueError:
        raise InvalidRequestError(f"{param} is Unix seconds or a date (YYYY-MM-DD)", code="invalid_value",
                                  param=param) from None


def model_patterns(config: GatewayConfig, gateway: Gateway) -> ModelPatterns:
    """What the gateway routes: aliases, ``instance/`` and ``instance/model`` names, and every model-name
    prefix (the config's and each plugin's)."""
    names = set(config.aliases)
    for name, instance in gateway.instances.items():
        names.add(f"{name}/")
        names.update(f"{name}/{model}" for model in instance.settings.models)
    prefixes = set(config.prefixes)
    for info in gateway.infos.values():
        prefixes.update(info.model_prefixes)
    return ModelPatterns(names, prefixes)
