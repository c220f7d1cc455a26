"""Conversation state: stored responses, ``previous_response_id`` and ``item_reference``, for every provider.

A stored record is the normalised, already expanded input of a response (every item with an id of ours),
the response resource with its output items, and the provider instance that made it. Continuing from a
response therefore needs one lookup: its input followed by its output, then the new input, in the order
the specification requires. Provider round-trip data (thinking and thought signatures) rides inside
reasoning items as provider-namespaced envelopes, so a conversation that moves to another provider has
them dropped by that provider's translator instead of rejected upstream.

Item references cannot be hijacked: the global item index holds only ids the gateway made (output items,
and input items that came without an id), each pointing at the response that made it. An ``item_reference``
resolves to an item of the response chain being continued (``previous_response_id``, whose record holds its
ancestors' items), then (WebSocket) to this connection's responses, then through that index; an id a client
chose is never indexed, so sending an item with someone else's id cannot change what their references mean.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import MutableMapping

import msgspec
from msgspec import UNSET, Struct

from .errors import GatewayError, InvalidRequestError, NotFoundError
from .exchange import current_exchange
from .ids import new_id
from .store import RecordTooLarge, ResponseStore, StoreSettings
from .types import (
    Compaction,
    CustomToolCall,
    CustomToolCallOutput,
    FunctionCall,
    FunctionCallOutput,
    InputItem,
    ItemReference,
    Message,
    OutputFunctionCall,
    OutputItem,
    OutputMessage,
    OutputReasoning,
    Reasoning,
    ResponseRequest,
    ResponseResource,
    WebSearchCall,
)

logger = logging.getLogger("gateway.store")

_ID_PREFIX = {Message: "msg", FunctionCall: "fc", FunctionCallOutput: "fco", Reasoning: "rs", Compaction: "cmp",
              CustomToolCall: "ctc", CustomToolCallOutput: "ctco", WebSearchCall: "ws"}


def store_unavailable(exc: BaseException) -> GatewayError:
    """The store could not be read (logged with its cause): 503, worth retrying."""
    logger.warning("the response store failed: %s: %s", type(exc).__name__, exc)
    return GatewayError("the response store is unavailable; try again", code="store_unavailable", status=503,
                        retryable=True, retry_after=1)


class StoredResponse(Struct):
    """What the store keeps per response (encoded with msgspec)."""

    response: ResponseResource
    input: list[InputItem]
    instance: str
    owner: str = ""
    """The id of the gateway key that made it ("" on an open gateway): only that key (and admin keys) may
    read, continue or delete it."""


def visible(record: StoredResponse | None) -> StoredResponse | None:
    """``record`` if the caller being served (:data:`~gateway_core.exchange.current_exchange`) may see it: on
    an open gateway, with an admin key, or with the key that made it; else None (answered as not found,
    never as forbidden, so ids of other keys' responses cannot be probed)."""
    if record is None:
        return None
    return record if _may_see(record.owner) else None


def _may_see(owner: str) -> bool:
    """Whether the caller being served may see a record of ``owner`` (a key id, "" on an open gateway)."""
    exchange = current_exchange.get()
    key = exchange.key if exchange is not None else None
    return key is None or key.admin or owner == key.id


class _InputOnly(Struct):
    """A stored record read for its input items only, each left undecoded (a page decodes just its own)."""

    input: list[msgspec.Raw]
    owner: str = ""


_encode = msgspec.json.encode
_decode_record = msgspec.json.Decoder(StoredResponse).decode
_decode_input_only = msgspec.json.Decoder(_InputOnly).decode


def as_input(item: OutputItem) -> InputItem:
    """An output item as the input item that replays it."""
    if type(item) is OutputMessage:
        return Message(role="assistant", content=list(item.content), id=item.id, status=item.status)
    if type(item) is OutputFunctionCall:
        return FunctionCall(call_id=item.call_id, name=item.name, arguments=item.arguments, id=item.id,
                            status=item.status, namespace=item.namespace or None)
    if type(item) is not OutputReasoning:  # custom tool calls, web searches, hosted items: one type for both
        return item  # type: ignore[return-value]
    reasoning: OutputReasoning = item  # type: ignore[assignment]
    return Reasoning(summary=list(reasoning.summary), id=reasoning.id, content=list(reasoning.content) or None,
                     encrypted_content=reasoning.encrypted_content, status=reasoning.status)


def history(record: StoredResponse) -> list[InputItem]:
    """A stored response's input followed by its output: what a continuation starts from."""
    return [*record.input, *(as_input(item) for item in record.response.output)]


CALL_KEY = "call:"
"""Prefix of the store's index entries from a function call's ``call_id`` to the response that made it."""


def calls_without_reasoning(request: ResponseRequest) -> list[str]:
    """The call ids of a request that replays function calls but no reasoning item at all (a hand-written
    loop, chat-style code): the calls whose round-trip data the store may hold. Cheap for every other request."""
    kinds = set(map(type, request.items))  # in C: most requests have no calls, agents' have reasoning too
    if FunctionCall not in kinds or Reasoning in kinds:
        return []
    return [item.call_id for item in request.items if type(item) is FunctionCall]  # type: ignore[union-attr]


def has_references(request: ResponseRequest) -> bool:
    """Whether the request needs the store to be expanded."""
    return request.previous_response_id is not None or ItemReference in map(type, request.items)  # scanned in C


class Conversations:
    """The store as the request path uses it: expand, save, load, delete.

    A finished response is answered first and written to the store right after (:meth:`keep`); until the
    write is done it is served from memory, so a client continuing at once still finds it. A write that
    fails (the store restarting, a network blip) is tried again with backoff for ``store.write_retry_seconds``;
    at most ``store.max_pending_writes`` records wait at once, past which a response is answered with
    ``store: false``. A read that fails answers ``503 store_unavailable`` (retryable).
    """

    def __init__(self, store: ResponseStore, settings: StoreSettings, store_default: bool) -> None:
        self.store = store
        self.enabled = settings.backend != "none"
        # another gateway on the same Redis answers first and stores right after: a miss is asked again
        # briefly before it counts (only misses pay; the delays add up to 0.35 s)
        self.miss_retries: tuple[float, ...] = (0.05, 0.1, 0.2) if settings.backend == "redis" else ()
        self.default = store_default
        self.ttl = settings.retention_days * 86400.0
        self.max_record_bytes = settings.max_record_bytes
        self.write_retry_seconds = settings.write_retry_seconds
        self.max_pending_writes = settings.max_pending_writes
        self._closing = False
        self._saving: dict[str, tuple[StoredResponse, asyncio.Task[None]]] = {}
        self._saving_items: dict[str, str] = {}

    def wants_store(self, request: ResponseRequest) -> bool:
        """Whether this request's response is stored (and so what its ``store`` field says)."""
        return self.enabled and (self.default if request.store is None else request.store)

    async def load(self, response_id: str) -> StoredResponse | None:
        """A stored response the caller may see, or None."""
        return visible(await self._load(response_id))

    async def _load(self, response_id: str) -> StoredResponse | None:
        saving = self._saving.get(response_id)
        if saving is not None:
            return saving[0]
        try:
            raw = await self.store.load(response_id)
            for pause in self.miss_retries if raw is None else ():
                await asyncio.sleep(pause)
                raw = await self.store.load(response_id)
                if raw is not None:
                    break
        except Exception as exc:
            raise store_unavailable(exc) from exc
        return None if raw is None else _decode_record(raw)

    async def load_input(self, response_id: str) -> list[msgspec.Raw] | None:
        """A stored response's input items, each still encoded, or None: a page of them costs the decoding
        of that page, not of the whole record."""
        saving = self._saving.get(response_id)
        if saving is not None:
            if visible(saving[0]) is None:
                return None
            return [msgspec.Raw(_encode(item)) for item in saving[0].input]
        try:
            raw = await self.store.load(response_id)
        except Exception as exc:
            raise store_unavailable(exc) from exc
        if raw is None:
            return None
        record = _decode_input_only(raw)
        return record.input if _may_see(record.owner) else None

    async def delete(self, response_id: str) -> bool:
        """Delete a stored response the caller may see (after its write, if it is still being written)."""
        if await self.load(response_id) is None:
            return False
        saving = self._saving.get(response_id)
        if saving is not None:
            await asyncio.shield(saving[1])
        try:
            return await self.store.delete(response_id)
        except Exception as exc:
            raise store_unavailable(exc) from exc

    async def expand(
        self, request: ResponseRequest, local: MutableMapping[str, StoredResponse] | None = None
    ) -> StoredResponse | None:
        """Replace ``previous_response_id`` and ``item_reference`` items by what they stand for.

        ``local`` is a connection-local cache (the WebSocket mode) consulted before the store. Returns the
        previous response's record, if any. Raises ``previous_response_not_found`` (404) or, for an unknown
        item reference, a 400 naming ``input[i].id``.
        """
        previous = None
        items = request.items
        if request.previous_response_id is not None:
            previous = await self._find(request.previous_response_id, local)
            if previous is None:
                raise NotFoundError(
                    f"previous response '{request.previous_response_id}' was not found (it was not stored, "
                    "was deleted, or expired)",
                    code="previous_response_not_found",
                    param="previous_response_id",
                )
        expanded: list[InputItem] = history(previous) if previous is not None else []
        chain = len(expanded)
        for index, item in enumerate(items):
            if type(item) is ItemReference:
                found = next((earlier for earlier in expanded[:chain] if getattr(earlier, "id", None) == item.id),
                             None)
                expanded.append(found or await self._referenced(item.id, index, local))
            else:
                expanded.append(item)
        request.input = expanded
        return previous

    async def _find(
        self, response_id: str, local: MutableMapping[str, StoredResponse] | None
    ) -> StoredResponse | None:
        if local is not None and response_id in local:
            return local[response_id]
        return await self.load(response_id) if self.enabled else None

    async def _referenced(
        self, item_id: str, index: int, local: MutableMapping[str, StoredResponse] | None
    ) -> InputItem:
        candidates = list(local.values()) if local is not None else []
        if self.enabled:
            response_id = self._saving_items.get(item_id) or await self._find_item(item_id)
            record = await self.load(response_id) if response_id is not None else None
            if record is not None:
                candidates.append(record)
        for record in candidates:
            for item in record.input:
                if getattr(item, "id", None) == item_id:
                    return item
            for output in record.response.output:
                if output.id == item_id:
                    return as_input(output)
        raise InvalidRequestError(
            f"item '{item_id}' was not found in any stored response (it was not stored, was deleted, or expired)",
            code="item_not_found",
            param=f"input[{index}].id",
        )

    async def restore_reasoning(self, request: ResponseRequest, call_ids: list[str]) -> None:
        """Put back, before the first of its calls, the reasoning items (with their provider round-trip data:
        Gemini thought signatures, Anthropic thinking signatures) of each stored response that made one of
        ``call_ids``, for clients that send back only the calls and their outputs. Each envelope names its
        provider, so another provider ignores it; the owner check is the store's usual one."""
        if not self.enabled:
            return
        restored: dict[str, list[InputItem]] = {}  # response id -> its reasoning items
        made_by: dict[str, str] = {}  # call id -> the response that made it
        for call_id in dict.fromkeys(call_ids):
            if call_id in made_by:
                continue
            key = CALL_KEY + call_id
            response_id = self._saving_items.get(key) or await self._find_item(key)
            record = await self.load(response_id) if response_id is not None else None
            if record is None:
                continue
            restored[record.response.id] = [as_input(item) for item in record.response.output
                                            if type(item) is OutputReasoning and item.encrypted_content]
            made_by.update((item.call_id, record.response.id) for item in record.response.output
                           if type(item) is OutputFunctionCall)
        if not any(restored.values()):
            return
        items: list[InputItem] = []
        for item in request.items:
            if type(item) is FunctionCall:
                items.extend(restored.pop(made_by.get(item.call_id, ""), ()))  # type: ignore[union-attr]
            items.append(item)
        request.input = items

    async def _find_item(self, item_id: str) -> str | None:
        try:
            return await self.store.find_item(item_id)
        except Exception as exc:
            raise store_unavailable(exc) from exc

    def record(
        self, resource: ResponseResource, request: ResponseRequest, instance: str
    ) -> tuple[StoredResponse, list[str]]:
        """The record of a finished response, and the ids made for it (every output item's, and one for each
        input item that had none): the only ids :meth:`keep` indexes."""
        made: list[str] = []
        for item in request.items:
            if getattr(item, "id", 0) in (None, UNSET):
                item.id = new_id(_ID_PREFIX.get(type(item), "item"))  # type: ignore[union-attr]
                made.append(item.id)  # type: ignore[union-attr]
        made.extend(item.id for item in resource.output)  # type: ignore[misc]
        if any(type(item) is OutputReasoning and item.encrypted_content for item in resource.output):
            made.extend(CALL_KEY + item.call_id for item in resource.output if type(item) is OutputFunctionCall)
        exchange = current_exchange.get()
        owner = exchange.key_id if exchange is not None else None
        record = StoredResponse(response=resource, input=list(request.items), instance=instance, owner=owner or "")
        return record, made

    def keep(self, record: StoredResponse, item_ids: list[str]) -> bool:
        """Start storing a record with the item ids the gateway made for it (served from memory until
        written); False (logged) when it is too large to keep, which the response's ``store`` field must
        then say."""
        data = _encode(record)
        response_id = record.response.id
        if len(data) > self.max_record_bytes:
            logger.warning("response %s was not stored: %d bytes is over store.max_record_bytes", response_id,
                           len(data))
            return False
        if len(self._saving) >= self.max_pending_writes:
            logger.warning("response %s was not stored: %d writes are waiting for the store (store.max_pending_writes)",
                           response_id, len(self._saving))
            return False
        task = asyncio.ensure_future(self._write(response_id, data, item_ids))
        self._saving[response_id] = (record, task)
        for item_id in item_ids:
            self._saving_items[item_id] = response_id
        return True

    async def _write(self, response_id: str, data: bytes, item_ids: list[str]) -> None:
        deadline = asyncio.get_running_loop().time() + self.write_retry_seconds
        pause = 0.05
        try:
            while True:
                try:
                    await self.store.save(response_id, data, item_ids, self.ttl)
                    return
                except RecordTooLarge:
                    logger.warning("response %s was not stored: over the store's record size", response_id)
                    return
                except Exception as exc:  # the answer is gone already: try again, then log and keep serving
                    if self._closing or asyncio.get_running_loop().time() + pause > deadline:
                        logger.error("response %s could not be stored: %s: %s", response_id, type(exc).__name__, exc)
                        return
                    logger.warning("storing response %s failed (%s); trying again in %.2f s", response_id,
                                   type(exc).__name__, pause)
                await asyncio.sleep(pause)
                pause = min(pause * 2, 2.0)
        finally:
            self._saving.pop(response_id, None)
            for item_id in item_ids:
                if self._saving_items.get(item_id) == response_id:
                    del self._saving_items[item_id]

    async def drain(self) -> None:
        """Wait for the writes still under way (at shutdown, before the store closes); a write that fails now
        is not tried again."""
        self._closing = True
        while self._saving:
            await asyncio.gather(*(task for _, task in list(self._saving.values())), return_exceptions=True)

