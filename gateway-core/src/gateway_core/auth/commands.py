"""``gateway keys create|list|show|revoke`` and ``gateway usage``: the admin API's work from the shell, on the
same store as the gateways (``auth.store`` of the config)."""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import time
from typing import TYPE_CHECKING, Any

import msgspec

from .admin import public
from .keys import GatewayKey, KeyLimits, generate_key, hash_key, new_key_id
from .service import backend_of, create_key_store, key_store_path
from .usage import RedisUsageLog, SQLiteUsageLog

if TYPE_CHECKING:
    from ..config import GatewayConfig


def add_commands(commands: Any, load: Any) -> None:
    """Register ``keys`` and ``usage`` on the ``gateway`` command's subparsers; ``load(path)`` reads a config."""
    keys = commands.add_parser("keys", help="gateway keys: create, list, show, revoke")
    actions = keys.add_subparsers(dest="action", required=True)
    create = actions.add_parser("create", help="make a key (printed once)")
    create.add_argument("--name", required=True)
    create.add_argument("--models", nargs="*", default=[], help="model patterns it may use (default: all)")
    create.add_argument("--rpm", type=int)
    create.add_argument("--tpm", type=int)
    create.add_argument("--max-in-flight", type=int)
    create.add_argument("--budget-usd", type=float)
    create.add_argument("--budget-period", choices=("day", "week", "month", "total"), default="month")
    create.add_argument("--expires-in-days", type=float)
    for action in ("list", "show", "revoke"):
        parser = actions.add_parser(action, help=f"{action} key(s)")
        if action != "list":
            parser.add_argument("key_id")
    usage = commands.add_parser("usage", help="requests, tokens and cost from the usage log")
    usage.add_argument("--key")
    usage.add_argument("--model")
    usage.add_argument("--since-days", type=float, default=30.0)
    usage.add_argument("--group-by", choices=("key", "model", "day"))
    for parser in (create, usage, *(actions.choices[name] for name in ("list", "show", "revoke"))):
        parser.add_argument("--config")
        parser.set_defaults(run=lambda args: asyncio.run(_run(args, load(args.config))))


async def _run(args: argparse.Namespace, config: GatewayConfig) -> int:
    store = create_key_store(config)
    await store.open()
    try:
        if args.command == "usage":
            return await _usage(args, config)
        if args.action == "create":
            plaintext = generate_key()
            now = time.time()
            key = GatewayKey(id=new_key_id(), name=args.name, sha256=hash_key(plaintext), hint=plaintext[:7],
                             models=args.models, created_at=now,
                             expires_at=now + args.expires_in_days * 86400 if args.expires_in_days else None,
                             limits=msgspec.convert({"rpm": args.rpm, "tpm": args.tpm,
                                                     "max_in_flight": args.max_in_flight,
                                                     "budget_usd": args.budget_usd,
                                                     "budget_period": args.budget_period}, KeyLimits))
            await store.put(key)
            print(json.dumps({**public(key), "key": plaintext}, indent=2))
            print("the key is shown only this once", file=sys.stderr)
            return 0
        if args.action == "list":
            for key in sorted(await store.all(), key=lambda key: key.created_at):
                state = "revoked" if key.revoked else ("expired" if not key.usable() else "active")
                print(f"{key.id}  {key.hint}...  {state:<8} {key.name}")
            return 0
        key_or_none = await store.get(args.key_id)
        if key_or_none is None:
            print(f"gateway: no key with id {args.key_id!r}", file=sys.stderr)
            return 1
        if args.action == "revoke":
            key_or_none = msgspec.structs.replace(key_or_none, revoked=True)
            await store.put(key_or_none)
        print(json.dumps(public(key_or_none), indent=2))
        return 0
    finally:
        await store.close()


async def _usage(args: argparse.Namespace, config: GatewayConfig) -> int:
    if backend_of(config) == "redis":
        import redis.asyncio

        client = redis.asyncio.from_url(config.store.url)
        log: Any = RedisUsageLog(client)
    else:
        client = None
        log = SQLiteUsageLog(key_store_path(config))
    await log.open()
    try:
        rows = await log.query(key_id=args.key, model=args.model, since=time.time() - args.since_days * 86400,
                               group_by=args.group_by)
    finally:
        await log.disconnect()
        if client is not None:
            await client.aclose()
    print(json.dumps(rows, indent=2))
    return 0
