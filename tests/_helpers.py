"""Helpers shared by the tests: reading what the gateway got, posting as the service."""

from __future__ import annotations

from typing import Any

import aiohttp

from anyint_music.testing import FakeGateway


def callback_url(gateway: FakeGateway, index: int = -1) -> str:
    """The callBackUrl of a submit the gateway received (the last one by default)."""
    submits = [
        r for r in gateway.requests if r.method == "POST" and r.json and "callBackUrl" in r.json
    ]
    url = submits[index].json["callBackUrl"]
    assert isinstance(url, str)
    return url


async def post(
    url: str,
    body: Any = None,
    *,
    data: bytes | None = None,
    method: str = "POST",
    headers: dict[str, str] | None = None,
) -> tuple[int, str]:
    """Send one request to ``url`` as the service (or an attacker) would; return status, text."""
    async with (
        aiohttp.ClientSession() as session,
        session.request(
            method, url, json=body if data is None else None, data=data, headers=headers
        ) as resp,
    ):
        return resp.status, await resp.text()
