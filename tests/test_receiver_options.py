"""Receiver options: TLS, a Unix socket, trusted proxies, an IP allow-list, HMAC signatures."""

from __future__ import annotations

import ssl
import time
from pathlib import Path
from typing import Any

import aiohttp
import pytest
import trustme
from _helpers import callback_url, complete_body, post

from anyint_music import AnyIntMusic, Model, TaskTimeoutError
from anyint_music._callbacks import signature
from anyint_music.testing import FakeGateway


async def test_tls_receiver(quiet_gateway: FakeGateway) -> None:
    ca = trustme.CA()
    server_ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("127.0.0.1").configure_cert(server_ctx)
    client_ctx = ssl.create_default_context()
    ca.configure_trust(client_ctx)
    async with AnyIntMusic(
        api_key=quiet_gateway.api_key, base_url=quiet_gateway.url, ssl_context=server_ctx
    ) as client:
        assert (client.public_url or "").startswith("https://127.0.0.1:")
        task = await client.submit_generate("secure", model=Model.V5)
        url = callback_url(quiet_gateway)
        assert url.startswith("https://")
        async with aiohttp.ClientSession() as session:
            async with session.post(url, json=complete_body(task.id), ssl=client_ctx) as r:
                assert r.status == 200
            with pytest.raises(aiohttp.ClientError):  # plain HTTP is not served
                await session.post(url.replace("https://", "http://"), json={})
        assert len((await task.wait(timeout=5)).tracks) == 2


async def test_unix_socket_receiver(quiet_gateway: FakeGateway, tmp_path: Path) -> None:
    sock = str(tmp_path / "cb.sock")
    async with AnyIntMusic(
        api_key=quiet_gateway.api_key,
        base_url=quiet_gateway.url,
        callback_socket=sock,
        public_url="https://hooks.example.test",
    ) as client:
        task = await client.submit_generate("through a socket", model=Model.V5)
        path = "/" + callback_url(quiet_gateway).split("/", 3)[3]
        unix = aiohttp.UnixConnector(path=sock)
        body = complete_body(task.id)
        async with (
            aiohttp.ClientSession(connector=unix) as session,
            session.post("http://local" + path, json=body) as r,
        ):
            assert r.status == 200
        assert len((await task.wait(timeout=5)).tracks) == 2


@pytest.mark.parametrize(
    ("options", "headers", "status"),
    [
        ({"allowed_ips": ["10.0.0.0/8"]}, {}, 403),
        ({"allowed_ips": ["127.0.0.1"]}, {}, 200),
        # X-Forwarded-For is believed only from a trusted proxy
        ({"allowed_ips": ["203.0.113.7"]}, {"X-Forwarded-For": "203.0.113.7"}, 403),
        (
            {"allowed_ips": ["203.0.113.0/24"], "trusted_proxies": ["127.0.0.1"]},
            {"X-Forwarded-For": "203.0.113.7"},
            200,
        ),
        (
            {"allowed_ips": ["203.0.113.0/24"], "trusted_proxies": ["127.0.0.1"]},
            {"X-Forwarded-For": "203.0.113.7, 198.51.100.9"},
            403,
        ),
    ],
)
async def test_allow_list_and_trusted_proxies(
    quiet_gateway: FakeGateway, options: dict[str, Any], headers: dict[str, str], status: int
) -> None:
    async with AnyIntMusic(
        api_key=quiet_gateway.api_key, base_url=quiet_gateway.url, **options
    ) as client:
        task = await client.submit_generate("guarded", model=Model.V5)
        got, _ = await post(callback_url(quiet_gateway), complete_body(task.id), headers=headers)
        assert got == status
        assert task.done() is (status == 200)


async def test_signed_deliveries_are_verified(anyint_gateway: FakeGateway) -> None:
    anyint_gateway.hmac_key = b"shared-secret"
    async with AnyIntMusic(
        api_key=anyint_gateway.api_key, base_url=anyint_gateway.url, hmac_key="shared-secret"
    ) as client:
        song = await client.generate(prompt="signed", model=Model.V5, timeout=10)
    assert len(song.tracks) == 2


async def test_wrongly_signed_deliveries_are_refused(anyint_gateway: FakeGateway) -> None:
    anyint_gateway.hmac_key = b"someone-else"
    anyint_gateway.retry_delays = ()
    async with AnyIntMusic(
        api_key=anyint_gateway.api_key,
        base_url=anyint_gateway.url,
        hmac_key="shared-secret",
        poll_interval=None,
    ) as client:
        with pytest.raises(TaskTimeoutError):
            await client.generate(prompt="forged", model=Model.V5, timeout=0.5)
    await anyint_gateway.wait_idle()
    assert {c.status for c in anyint_gateway.callbacks} == {401}


@pytest.mark.parametrize(
    ("make_headers", "reason"),
    [
        (lambda task_id: {}, "missing"),
        (
            lambda task_id: {"X-Webhook-Timestamp": "soon", "X-Webhook-Signature": "x"},
            "not a number",
        ),
        (
            lambda task_id: {
                "X-Webhook-Timestamp": str(int(time.time()) - 3600),
                "X-Webhook-Signature": signature(b"k", task_id, str(int(time.time()) - 3600)),
            },
            "off",
        ),
        (
            lambda task_id: {
                "X-Webhook-Timestamp": str(int(time.time())),
                "X-Webhook-Signature": signature(b"k", "another-task", str(int(time.time()))),
            },
            "does not match",
        ),
    ],
)
async def test_signature_failures_are_401_and_touch_nothing(
    quiet_gateway: FakeGateway, make_headers: Any, reason: str
) -> None:
    async with AnyIntMusic(
        api_key=quiet_gateway.api_key, base_url=quiet_gateway.url, hmac_key=b"k"
    ) as client:
        task = await client.submit_generate("x", model=Model.V5)
        status, text = await post(
            callback_url(quiet_gateway),
            complete_body(task.id),
            headers=make_headers(task.id),
        )
        assert status == 401
        assert reason in text
        assert not task.done()
        stamp = str(int(time.time()))
        good = {
            "X-Webhook-Timestamp": stamp,
            "X-Webhook-Signature": signature(b"k", task.id, stamp),
        }
        assert (await post(callback_url(quiet_gateway), complete_body(task.id), headers=good))[
            0
        ] == 200
        assert task.done()
