"""A store in Redis shared by several workers behind one load balancer.

Any worker's receiver may get any callback. The worker that receives it records the event in
Redis; a Lua script makes "first event per stage wins" atomic across workers and, in the same
step, publishes it on the channels of the worker that owns the task and of those that watch it,
which wakes the waiters there.

Why pub/sub and not streams: a wake-up is only a shortcut. The event itself is already in
Redis when it is published, so a message lost while a worker's subscription was down costs
nothing: on every (re)subscribe the worker re-reads its unfinished tokens. Streams would add
consumer groups, acknowledgements and trimming to get a durability we already have. Nothing
polls Redis on the hot path.

A worker that re-attaches to another worker's task (``client.task(task_id)``, e.g. after that
worker died) becomes one of its watchers in one atomic step, which also returns the events
stored so far: an event stored before that step is in what it read, one stored after is
published to it (and to the owner, alive or not). The task also joins the watcher's pending
set, so the watcher resumes it after its own restart. Nothing is taken from the owner.

Keys (all under ``prefix``): ``tok:{token}`` (hash: kind, task_id, created_at, owner,
finished), ``task:{task_id}`` (the token), ``ev:{token}`` (hash: stage -> event JSON),
``evo:{token}`` (list: stages in arrival order), ``w:{token}`` (set: workers other than the
owner that watch the task), ``pending:{worker}`` (sorted set of the bound, unfinished tokens a
worker owns or watches, by creation time). Every key has a TTL.
"""

from __future__ import annotations

import asyncio
import json
import logging
import secrets
import time
from collections.abc import Sequence
from typing import Any

from .._models import TaskEvent, TaskKind
from ._base import EventHandler, ResyncHandler, StoredTask, event_from_json, event_to_json

try:
    import redis.asyncio as aioredis
    from redis.exceptions import RedisError
except ImportError as exc:  # pragma: no cover - only without the optional extra
    raise ImportError(
        "RedisStore needs the redis package: pip install 'anyint-music[redis]'"
    ) from exc

log = logging.getLogger("anyint_music")

# KEYS: tok, ev, evo. ARGV: stage, body, final, finished_ttl, prefix, token, publisher.
_ADD_EVENT = """
if redis.call('EXISTS', KEYS[1]) == 0 then return -1 end
if redis.call('HSETNX', KEYS[2], ARGV[1], ARGV[2]) == 0 then return 0 end
redis.call('RPUSH', KEYS[3], ARGV[1])
local owner = redis.call('HGET', KEYS[1], 'owner')
local ttl = redis.call('TTL', KEYS[1])
if ARGV[3] == '1' then
  ttl = tonumber(ARGV[4])
  redis.call('HSET', KEYS[1], 'finished', '1')
  redis.call('EXPIRE', KEYS[1], ttl)
  local task_id = redis.call('HGET', KEYS[1], 'task_id')
  if task_id then redis.call('EXPIRE', ARGV[5] .. 'task:' .. task_id, ttl) end
  if owner then redis.call('ZREM', ARGV[5] .. 'pending:' .. owner, ARGV[6]) end
end
local watchers = ARGV[5] .. 'w:' .. ARGV[6]
local watching = redis.call('SMEMBERS', watchers)
if ttl > 0 then
  redis.call('EXPIRE', KEYS[2], ttl)
  redis.call('EXPIRE', KEYS[3], ttl)
  redis.call('EXPIRE', watchers, ttl)
end
local message = ARGV[6] .. ' ' .. ARGV[2]
if owner and owner ~= ARGV[7] then
  redis.call('PUBLISH', ARGV[5] .. 'ch:' .. owner, message)
end
for _, watcher in ipairs(watching) do
  if ARGV[3] == '1' then redis.call('ZREM', ARGV[5] .. 'pending:' .. watcher, ARGV[6]) end
  if watcher ~= owner and watcher ~= ARGV[7] then
    redis.call('PUBLISH', ARGV[5] .. 'ch:' .. watcher, message)
  end
end
return 1
"""

# Watch a task by id. KEYS: task. ARGV: prefix, watcher, now.
# Returns nil, or {token, tok fields, stage order, event bodies}.
_WATCH_TASK = """
local token = redis.call('GET', KEYS[1])
if not token then return nil end
local tok = ARGV[1] .. 'tok:' .. token
local fields = redis.call('HGETALL', tok)
if #fields == 0 then return nil end
local owner = redis.call('HGET', tok, 'owner')
if redis.call('HGET', tok, 'finished') ~= '1' and owner ~= ARGV[2] then
  local watchers = ARGV[1] .. 'w:' .. token
  redis.call('SADD', watchers, ARGV[2])
  local ttl = redis.call('TTL', tok)
  if ttl > 0 then redis.call('EXPIRE', watchers, ttl) end
  local born = tonumber(redis.call('HGET', tok, 'created_at')) or tonumber(ARGV[3])
  redis.call('ZADD', ARGV[1] .. 'pending:' .. ARGV[2], born, token)
end
return {token, fields, redis.call('LRANGE', ARGV[1] .. 'evo:' .. token, 0, -1),
        redis.call('HGETALL', ARGV[1] .. 'ev:' .. token)}
"""


class RedisStore:
    """Tokens, task ids, stages and results in Redis, shared by several workers.

    Deploy N workers behind one load balancer with the same ``public_url`` and the same Redis:
    a callback may land on any of them; the one awaiting the task is woken through Redis.

    Args:
        url: the Redis URL, e.g. ``redis://localhost:6379/0``.
        worker_id: this worker's stable name. A worker restarted with the same name takes over
            its unfinished tasks (``client.pending()``); default a random name per process.
        prefix: the key prefix, to share one Redis between deployments.
        finished_ttl: seconds a finished task's keys are kept (late duplicates, ``task()``).
        unfinished_ttl: seconds an unfinished task's keys are kept.
    """

    def __init__(
        self,
        url: str = "redis://localhost:6379/0",
        *,
        worker_id: str | None = None,
        prefix: str = "anyint:",
        finished_ttl: float = 3600.0,
        unfinished_ttl: float = 86_400.0,
    ) -> None:
        self.url = url
        self.owner_id: str | None = worker_id or f"worker-{secrets.token_hex(6)}"
        self.prefix = prefix
        self._finished_ttl = max(int(finished_ttl), 1)
        self._unfinished_ttl = max(int(unfinished_ttl), 1)
        self._redis: aioredis.Redis | None = None
        self._add_event: Any = None
        self._watch_task: Any = None

    def __repr__(self) -> str:
        return f"RedisStore({self._safe_url()!r}, worker_id={self.owner_id!r})"

    def _safe_url(self) -> str:
        # A password in the URL must not reach logs or error messages, whether in the user
        # part (redis://user:pw@host) or as a query parameter (?password=pw).
        from urllib.parse import unquote  # only ever needed here, for a repr or a message

        url = self.url
        _, at, tail = url.rpartition("@")
        if at:  # everything up to the last "@" may be a password, even one holding "?" or "/"
            url = f"{url.split('//', 1)[0]}//***@{tail}"
        base, question, query = url.partition("?")
        params = query.split("&")
        for i, param in enumerate(params):
            name = param.partition("=")[0]
            if unquote(name).strip().lower() == "password":
                params[i] = f"{name}=***"
        return base + question + "&".join(params)

    def _key(self, *parts: str) -> str:
        return self.prefix + ":".join(parts)

    @property
    def _r(self) -> aioredis.Redis:
        if self._redis is None:
            raise RuntimeError("the RedisStore is not open")
        return self._redis

    async def open(self) -> None:
        if self._redis is not None:
            return
        self._redis = aioredis.Redis.from_url(
            self.url, decode_responses=True, socket_timeout=5, socket_connect_timeout=5
        )
        self._add_event = self._redis.register_script(_ADD_EVENT)
        self._watch_task = self._redis.register_script(_WATCH_TASK)
        try:
            await self._redis.ping()
        except BaseException:
            await self.close()
            raise

    async def close(self) -> None:
        if self._redis is not None:
            redis, self._redis = self._redis, None
            await redis.aclose()

    async def save_token(self, token: str, kind: TaskKind, created_at: float) -> None:
        key = self._key("tok", token)
        mapping: dict[Any, Any] = {
            "kind": kind.value,
            "created_at": repr(created_at),
            "finished": "0",
        }
        if self.owner_id is not None:
            mapping["owner"] = self.owner_id
        async with self._r.pipeline(transaction=True) as pipe:
            pipe.hset(key, mapping=mapping)
            pipe.expire(key, self._unfinished_ttl)
            await pipe.execute()

    async def bind(self, token: str, task_id: str) -> Sequence[TaskEvent]:
        tok = self._key("tok", token)
        async with self._r.pipeline(transaction=True) as pipe:
            pipe.hset(tok, "task_id", task_id)
            pipe.set(self._key("task", task_id), token, ex=self._unfinished_ttl)
            pipe.zadd(self._key("pending", self.owner_id or ""), {token: time.time()})
            pipe.lrange(self._key("evo", token), 0, -1)
            pipe.hgetall(self._key("ev", token))
            *_, order, bodies = await pipe.execute()
        return _events(order, bodies)

    async def forget(self, token: str) -> None:
        await self._r.delete(
            self._key("tok", token),
            self._key("ev", token),
            self._key("evo", token),
            self._key("w", token),
        )

    async def add_event(self, token: str, event: TaskEvent) -> bool:
        body = json.dumps(event_to_json(event), separators=(",", ":"))
        added = await self._add_event(
            keys=[self._key("tok", token), self._key("ev", token), self._key("evo", token)],
            args=[
                event.stage.value,
                body,
                "1" if event.is_final else "0",
                self._finished_ttl,
                self.prefix,
                token,
                self.owner_id or "",
            ],
        )
        return int(added) == 1

    async def load_token(self, token: str) -> StoredTask | None:
        async with self._r.pipeline(transaction=False) as pipe:
            pipe.hgetall(self._key("tok", token))
            pipe.lrange(self._key("evo", token), 0, -1)
            pipe.hgetall(self._key("ev", token))
            fields, order, bodies = await pipe.execute()
        return _stored(token, fields, order, bodies) if fields else None

    async def load_task(self, task_id: str) -> StoredTask | None:
        token = await self._r.get(self._key("task", task_id))
        return None if token is None else await self.load_token(str(token))

    async def watch_task(self, task_id: str) -> StoredTask | None:
        """As :meth:`load_task`, and watch the unfinished task from now on: every event any
        worker stores for it later is published to this worker too, and it is in this worker's
        ``pending()``. Atomic with the read, so no event falls between."""
        found = await self._watch_task(
            keys=[self._key("task", task_id)],
            args=[self.prefix, self.owner_id or "", time.time()],
        )
        if not found:
            return None
        token, flat, order, flat_bodies = found
        fields = dict(zip(flat[::2], flat[1::2], strict=True))
        bodies = dict(zip(flat_bodies[::2], flat_bodies[1::2], strict=True))
        return _stored(str(token), fields, order, bodies)

    async def pending(self) -> list[StoredTask]:
        key = self._key("pending", self.owner_id or "")
        tokens = await self._r.zrange(key, 0, -1)
        found = []
        for token in map(str, tokens):
            stored = await self.load_token(token)
            if stored is None or stored.finished:
                await self._r.zrem(key, token)  # expired or finished meanwhile
                continue
            found.append(stored)
        return found

    async def prune(self, *, finished_before: float, unfinished_before: float) -> int:
        # Keys expire by themselves; only the pending index needs trimming.
        key = self._key("pending", self.owner_id or "")
        removed: int = await self._r.zremrangebyscore(key, "-inf", unfinished_before)
        return removed

    async def listen(self, on_event: EventHandler, on_resync: ResyncHandler) -> None:
        """Wake this worker's waiters when other workers store their events."""
        channel = self._key("ch", self.owner_id or "")
        delay = 0.1
        while True:
            pubsub = self._r.pubsub(ignore_subscribe_messages=True)
            try:
                await pubsub.subscribe(channel)
                await on_resync()  # whatever was published while we were not subscribed
                delay = 0.1
                async for message in pubsub.listen():
                    token, _, body = str(message["data"]).partition(" ")
                    try:
                        event = event_from_json(json.loads(body))
                    except ValueError as exc:
                        log.warning("ignored a malformed store message: %s", exc)
                        continue
                    await on_event(token, event)
            except (RedisError, OSError) as exc:
                log.warning("lost the Redis subscription (%s); reconnecting in %.1f s", exc, delay)
                await asyncio.sleep(delay)
                delay = min(delay * 2, 5.0)
            finally:
                await pubsub.aclose()  # type: ignore[no-untyped-call]


def _stored(
    token: str, fields: dict[str, str], order: Sequence[str], bodies: dict[str, str]
) -> StoredTask:
    return StoredTask(
        token,
        TaskKind(fields["kind"]),
        fields.get("task_id"),
        float(fields.get("created_at", 0)),
        tuple(_events(order, bodies)),
        owner=fields.get("owner"),
    )


def _events(order: Sequence[str], bodies: dict[str, str]) -> list[TaskEvent]:
    events = []
    for stage in order:
        if stage not in bodies:
            continue
        try:
            events.append(event_from_json(json.loads(bodies[stage])))
        except Exception as exc:
            # One damaged record must not stop every other task's catch-up (a re-sync reads
            # them all); the stage counts as not stored, so a poll or redelivery can bring it.
            log.error("ignored a malformed stored %r event: %.200s", stage, exc)
    return events
