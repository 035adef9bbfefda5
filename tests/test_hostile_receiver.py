"""Hostile requests to the receiver over real sockets: forged or undecodable headers, deeply
nested JSON, a store failing under a lookup; and the callback token, which is the receiver's
secret, kept out of store files other users can read and out of messages."""

from __future__ import annotations

import asyncio
import json
import os
import socket
import stat
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import pytest
import redis.asyncio as aioredis
import uvicorn
from _helpers import callback_url, complete_body, post
from _redis_server import RedisServer
from yarl import URL

from anyint_music import AnyIntMusic, Model, StoreError
from anyint_music._callbacks import MAX_JSON_DEPTH
from anyint_music.stores import MemoryStore, RedisStore, SQLiteStore, TaskStore
from anyint_music.testing import FakeGateway

Header = tuple[bytes, bytes]


async def raw_post(url: str, body: bytes, headers: list[Header]) -> int:
    """POST ``body`` to ``url`` with ``headers`` exactly as given (repeated names and bytes
    that are not UTF-8 included); return the answer's status."""
    target = URL(url)
    reader, writer = await asyncio.open_connection(target.host, target.port)
    try:
        lines = [
            b"POST " + target.raw_path.encode() + b" HTTP/1.1",
            b"Host: 127.0.0.1",
            b"Content-Type: application/json",
            b"Content-Length: " + str(len(body)).encode(),
            b"Connection: close",
            *(name + b": " + value for name, value in headers),
        ]
        writer.write(b"\r\n".join(lines) + b"\r\n\r\n" + body)
        await writer.drain()
        async with asyncio.timeout(10):
            status_line = await reader.readline()
    finally:
        writer.close()
        await writer.wait_closed()
    return int(status_line.split()[1])


@asynccontextmanager
async def asgi_server(app: Any) -> AsyncIterator[str]:
    """``app`` under a real uvicorn on a socket that already listens: requests queue until it
    serves them, so nothing waits for it to start."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen()
    # proxy_headers off: the app itself must read X-Forwarded-For, not uvicorn for it.
    config = uvicorn.Config(app, lifespan="off", log_level="warning", proxy_headers=False)
    server = uvicorn.Server(config)
    serving = asyncio.ensure_future(server.serve(sockets=[sock]))
    try:
        yield f"http://127.0.0.1:{sock.getsockname()[1]}"
    finally:
        server.should_exit = True
        await serving
        sock.close()


@asynccontextmanager
async def receiving(
    gateway: FakeGateway, mode: str, **options: Any
) -> AsyncIterator[tuple[AnyIntMusic, str]]:
    """A client of ``gateway`` and the base URL its callbacks are posted to."""
    if mode == "embedded":
        async with AnyIntMusic(api_key=gateway.api_key, base_url=gateway.url, **options) as c:
            yield c, c.public_url or ""
        return
    async with (
        AnyIntMusic(
            api_key=gateway.api_key,
            base_url=gateway.url,
            receiver=False,
            public_url="https://hooks.example.test",
            **options,
        ) as client,
        asgi_server(client.asgi_app()) as base,
    ):
        yield client, base


def at(base: str, gateway: FakeGateway) -> str:
    """The last callBackUrl the gateway got, re-pointed at ``base``."""
    return base + URL(callback_url(gateway)).raw_path


# --- X-Forwarded-For over several header lines ---


@pytest.mark.parametrize("mode", ["embedded", "asgi"])
@pytest.mark.parametrize(
    ("lines", "status"),
    [
        # The sender forges the first line; the proxy appends the real address as another.
        ([b"203.0.113.7", b"198.51.100.9"], 403),
        ([b"198.51.100.9", b"203.0.113.7"], 200),
        ([b"203.0.113.7", b"198.51.100.9, 127.0.0.1"], 403),
    ],
)
async def test_x_forwarded_for_on_several_lines_is_read_whole(
    quiet_gateway: FakeGateway, mode: str, lines: list[bytes], status: int
) -> None:
    options = {"allowed_ips": ["203.0.113.0/24"], "trusted_proxies": ["127.0.0.1"]}
    async with receiving(quiet_gateway, mode, **options) as (client, base):
        task = await client.submit_generate("guarded", model=Model.V5)
        body = json.dumps(complete_body(task.id)).encode()
        headers = [(b"X-Forwarded-For", line) for line in lines]
        assert await raw_post(at(base, quiet_gateway), body, headers) == status
        assert task.done() is (status == 200)


# --- signature headers that are not UTF-8 ---


@pytest.mark.parametrize("mode", ["embedded", "asgi"])
@pytest.mark.parametrize(
    ("stamp", "given"),
    [
        (None, b"\xff\xfe\x80=="),  # None: the current time, so the signature is compared
        (None, b"\xed\xa0\x80"),  # an encoded surrogate
        (None, "\u00e9\u20ac".encode()),  # UTF-8, but not Base64
        (b"17\xe9\xff00", b"c2ln"),
        (b"9" * 400, b"c2ln"),  # a number too large for a float
    ],
    ids=["not-utf8", "surrogate", "not-base64", "stamp-not-utf8", "stamp-too-large"],
)
async def test_undecodable_signature_headers_are_401(
    quiet_gateway: FakeGateway, mode: str, stamp: bytes | None, given: bytes
) -> None:
    async with receiving(quiet_gateway, mode, hmac_key="k") as (client, base):
        task = await client.submit_generate("signed", model=Model.V5)
        body = json.dumps(complete_body(task.id)).encode()
        headers = [
            (b"X-Webhook-Timestamp", stamp or str(int(time.time())).encode()),
            (b"X-Webhook-Signature", given),
        ]
        assert await raw_post(at(base, quiet_gateway), body, headers) == 401
        assert not task.done()
        assert client.stats().callbacks_refused == 1


# --- JSON nested far deeper than any callback ---


def _nested(depth: int) -> str:
    return "[" * depth + "]" * depth


def _body_with_extra(task_id: str, extra_json: str) -> bytes:
    """A real ``complete`` callback whose first track carries one more key, ``extra_json``."""
    text = json.dumps(complete_body(task_id))
    return text.replace('"title": "T"', '"title": "T", "nest": ' + extra_json, 1).encode()


@pytest.fixture(params=["memory", "sqlite", "redis"])
def make_store(request: pytest.FixtureRequest, tmp_path: Path) -> Callable[[], TaskStore]:
    if request.param == "memory":
        return MemoryStore
    if request.param == "sqlite":
        return lambda: SQLiteStore(tmp_path / "tasks.db")
    server: RedisServer = request.getfixturevalue("redis_server")
    return lambda: RedisStore(server.url, prefix=f"deep-{os.urandom(4).hex()}:")


@pytest.mark.parametrize("depth", [100, 600])
async def test_deeply_nested_json_is_400_with_every_store(
    quiet_gateway: FakeGateway, make_store: Callable[[], TaskStore], depth: int
) -> None:
    async with AnyIntMusic(
        api_key=quiet_gateway.api_key, base_url=quiet_gateway.url, store=make_store()
    ) as client:
        task = await client.submit_generate("deep", model=Model.V5)
        url = callback_url(quiet_gateway)
        assert (await post(url, data=_body_with_extra(task.id, _nested(depth))))[0] == 400
        assert not task.done()
        # Nothing was stored: the real callback is taken, not answered as a duplicate.
        status, text = await post(url, complete_body(task.id))
        assert (status, json.loads(text)) == (200, {"status": "accepted"})
        assert len((await task.wait(timeout=5)).tracks) == 2


async def test_json_nested_up_to_the_limit_is_accepted_and_deeper_is_400(
    quiet_gateway: FakeGateway, anyint_client: AnyIntMusic
) -> None:
    task = await anyint_client.submit_generate("at the limit", model=Model.V5)
    url = callback_url(quiet_gateway)
    # The extra key sits 4 levels down: wrapper, data, the list of tracks, the track.
    too_deep = _body_with_extra(task.id, _nested(MAX_JSON_DEPTH - 3))
    status, text = await post(url, data=too_deep)
    assert (status, json.loads(text)) == (400, {"status": "JSON nested too deeply"})
    at_limit = _body_with_extra(task.id, _nested(MAX_JSON_DEPTH - 4))
    assert (await post(url, data=at_limit))[0] == 200
    assert len((await task.wait(timeout=5)).tracks) == 2


# --- a store that fails while a token is looked up ---


async def test_a_store_failing_during_a_token_lookup_is_503_and_counted(
    quiet_gateway: FakeGateway, tmp_path: Path
) -> None:
    store = SQLiteStore(tmp_path / "tasks.db")
    async with AnyIntMusic(
        api_key=quiet_gateway.api_key, base_url=quiet_gateway.url, store=store
    ) as client:
        await client.submit_generate("x", model=Model.V5)
        base = (client.public_url or "") + "/anyint/callbacks/"
        assert (await post(base + "not-a-token", complete_body("t")))[0] == 404  # store is up
        await store.close()  # the database goes away under the running client
        status, text = await post(base + "another-token", complete_body("t"))
        assert status == 503
        assert "try again" in text
        stats = client.stats()
        assert (stats.callbacks, stats.callbacks_refused) == (2, 2)


# --- the token kept out of reach ---


async def test_sqlite_store_files_are_readable_by_their_owner_only(
    quiet_gateway: FakeGateway, tmp_path: Path
) -> None:
    old = os.umask(0o022)  # the usual umask, under which files are world-readable
    try:
        async with AnyIntMusic(
            api_key=quiet_gateway.api_key,
            base_url=quiet_gateway.url,
            store=SQLiteStore(tmp_path / "tasks.db"),
        ) as client:
            await client.submit_generate("holds a token", model=Model.V5)
            modes = {p.name: stat.S_IMODE(p.stat().st_mode) for p in tmp_path.iterdir()}
    finally:
        os.umask(old)
    assert modes == {"tasks.db": 0o600, "tasks.db-wal": 0o600, "tasks.db-shm": 0o600}


def test_a_redis_password_given_as_a_query_parameter_is_masked() -> None:
    for url in [
        "redis://127.0.0.1:6379/0?password=hunter2",
        "redis://127.0.0.1:6379/0?socket_timeout=1&Password=hunter2&db=1",
        "redis://u:hunter2@127.0.0.1:6379/0?password=hunter2@x",
        "unix:///run/redis.sock?db=0&password=hunter2",
    ]:
        shown = repr(RedisStore(url))
        assert "hunter2" not in shown
        assert "=***" in shown or "***@" in shown


async def test_store_errors_do_not_show_a_query_password(
    quiet_gateway: FakeGateway, tmp_path: Path
) -> None:
    server = RedisServer(tmp_path)
    server.start()
    try:
        admin = aioredis.Redis.from_url(server.url)
        await admin.config_set("requirepass", "hunter2")
        await admin.aclose()
        store = RedisStore(server.url + "?password=hunter2", prefix="secret:")
        async with AnyIntMusic(
            api_key=quiet_gateway.api_key, base_url=quiet_gateway.url, store=store
        ) as client:
            server.stop()  # Redis goes away: the next submit cannot save its token
            with pytest.raises(StoreError) as caught:
                await client.submit_generate("x", model=Model.V5)
    finally:
        server.stop()
    assert "password=***" in str(caught.value)
    assert "hunter2" not in str(caught.value)
