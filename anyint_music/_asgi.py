"""The callback route as an ASGI application, to mount in FastAPI, Starlette or any ASGI app."""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

from multidict import CIMultiDict

from ._callbacks import CallbackHandler, encode_answer

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]

# Mounted at "/" the path is /anyint/callbacks/{token}; mounted at "/anyint/callbacks" it is
# /{token}.
_PATH = re.compile(r"(?:/anyint/callbacks)?/([A-Za-z0-9_-]+)")


class CallbackASGIApp:
    """An ASGI app answering the service's callbacks for an :class:`AnyIntMusic` client."""

    def __init__(self, handler: CallbackHandler) -> None:
        self._handler = handler

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await _lifespan(receive, send)
            return
        if scope["type"] != "http":
            return
        path: str = scope.get("path", "")
        root: str = scope.get("root_path", "")
        if root and path.startswith(root):
            path = path[len(root) :]
        match = _PATH.fullmatch(path)
        if match is None:
            await _respond(send, 404, encode_answer("not found"))
            return
        if scope.get("method") != "POST":
            await _respond(send, 405, encode_answer("method not allowed"), [(b"allow", b"POST")])
            return
        headers = CIMultiDict(
            (k.decode("latin-1"), v.decode("latin-1")) for k, v in scope.get("headers", ())
        )
        handler = self._handler
        client = scope.get("client")
        address = handler.client_address(client[0] if client else None, headers)
        raw = await _read_capped(receive, handler.max_body) if handler.admits(address) else b""
        status, answer = await handler.handle(match.group(1), raw, headers, address)
        await _respond(send, status, answer)


async def _read_capped(receive: Receive, cap: int) -> bytes | None:
    chunks: list[bytes] = []
    size = 0
    more = True
    while more:
        message = await receive()
        if message["type"] == "http.disconnect":
            break
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > cap:
            return None
        chunks.append(chunk)
        more = message.get("more_body", False)
    return b"".join(chunks)


async def _respond(
    send: Send, status: int, payload: bytes, extra: list[tuple[bytes, bytes]] | None = None
) -> None:
    headers = [
        (b"content-type", b"application/json"),
        (b"content-length", str(len(payload)).encode()),
    ]
    await send(
        {"type": "http.response.start", "status": status, "headers": headers + (extra or [])}
    )
    await send({"type": "http.response.body", "body": payload})


async def _lifespan(receive: Receive, send: Send) -> None:
    # Mounted apps may be sent lifespan events; the client's own lifecycle is `async with`.
    while True:
        message = await receive()
        if message["type"] == "lifespan.startup":
            await send({"type": "lifespan.startup.complete"})
        elif message["type"] == "lifespan.shutdown":
            await send({"type": "lifespan.shutdown.complete"})
            return
