"""The callback route as an ASGI application, to mount in FastAPI, Starlette or any ASGI app."""

from __future__ import annotations

import logging
import re
from collections.abc import AsyncGenerator, Awaitable, Callable, MutableMapping
from contextlib import aclosing
from typing import Any

from multidict import CIMultiDict

from ._callbacks import CallbackHandler, encode_answer, read_capped
from ._probe import Probes
from ._uploads import Uploads

log = logging.getLogger("anyint_music")

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]

# Mounted at "/" the path is /anyint/callbacks/{token}; mounted at "/anyint/callbacks" it is
# /{token}.
_PATH = re.compile(r"(?:/anyint/callbacks)?/([A-Za-z0-9_-]+)")
# The local files shared as upload_url (see _uploads), and check_callbacks()'s probe.
_FILE = re.compile(r"(?:/anyint/callbacks)?/files/([A-Za-z0-9_-]+)/([^/]+)")
_PROBE = re.compile(r"(?:/anyint/callbacks)?/probe/([A-Za-z0-9_-]+)")


class CallbackASGIApp:
    """The ASGI app that receives the service's callbacks for an :class:`AnyIntMusic` client,
    so that they come in through your own FastAPI, Starlette or other ASGI server rather than
    through a second port.

    Get it from :meth:`AnyIntMusic.asgi_app` rather than constructing it. It answers
    ``POST /anyint/callbacks/{token}`` mounted at the root, or ``POST /{token}`` mounted at
    ``/anyint/callbacks``; the usual way::

        client = AnyIntMusic(receiver=False, public_url="https://app.example.com")
        app.mount("/anyint/callbacks", client.asgi_app())  # FastAPI or Starlette

    ``public_url`` is your app's public base URL, which the service calls back. The client
    must be open (``async with client:``, e.g. in your app's lifespan) while the app serves:
    the app answers lifespan events but does not open or close the client. Callbacks get the
    same checks and answers as on the embedded receiver (200, 400, 401, 403, 404, 409, 413,
    503); other paths get 404 and other methods 405. Timeouts for slow senders and limits on
    connections are left to your server.
    """

    def __init__(
        self,
        handler: CallbackHandler,
        uploads: Uploads | None = None,
        probes: Probes | None = None,
    ) -> None:
        self._handler = handler
        self._uploads = uploads if uploads is not None else Uploads()
        self._probes = probes if probes is not None else Probes()
        self._warned = False

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
        shared = _FILE.fullmatch(path)
        if shared is not None:
            await self._file(scope, send, shared.group(1), shared.group(2))
            return
        probe = _PROBE.fullmatch(path)
        if probe is not None and scope.get("method") == "GET":
            answer = self._probes.arrived(probe.group(1))
            await _respond(send, 404 if answer is None else 200, answer or b'"not found"')
            return
        match = _PATH.fullmatch(path)
        if match is None:
            self._unexpected(path, root)
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
        raw: bytes | None = b""
        if handler.admits(address):  # before reading anything
            async with aclosing(_body(receive)) as chunks:
                raw = await read_capped(chunks, handler.max_body)
        status, answer = await handler.handle(match.group(1), raw, headers, address)
        await _respond(send, status, answer)

    def _unexpected(self, path: str, root: str) -> None:
        # Mounted under the wrong prefix, every callback is a silent 404: say so, once.
        if self._warned:
            return
        self._warned = True
        log.warning(
            "the callback app got a request for %r (mounted at %r), which it does not serve: "
            "it answers POST /anyint/callbacks/{token} when mounted at the root, or "
            "POST /{token} when mounted at /anyint/callbacks; check the mount path and "
            "public_url (client.check_callbacks() tests both)",
            path,
            root or "/",
        )

    async def _file(self, scope: Scope, send: Send, secret: str, name: str) -> None:
        method = scope.get("method")
        if method not in ("GET", "HEAD"):
            await _respond(send, 405, encode_answer("method not allowed"), [(b"allow", b"GET")])
            return
        headers = CIMultiDict(
            (k.decode("latin-1"), v.decode("latin-1")) for k, v in scope.get("headers", ())
        )
        client = scope.get("client")
        if not self._handler.admits(
            self._handler.client_address(client[0] if client else None, headers)
        ):
            await _respond(send, 403, encode_answer("forbidden"))
            return
        answer = self._uploads.answer(secret, name, headers.get("Range"))
        if answer is None:
            await _respond(send, 404, encode_answer("not found"))
            return
        try:
            start = [(k.lower().encode(), v.encode()) for k, v in answer.headers.items()]
            await send({"type": "http.response.start", "status": answer.status, "headers": start})
            if method == "GET":
                async for chunk in answer.chunks():
                    await send({"type": "http.response.body", "body": chunk, "more_body": True})
            await send({"type": "http.response.body", "body": b""})
        finally:
            answer.close()


async def _body(receive: Receive) -> AsyncGenerator[bytes, None]:
    """The request body's chunks as they are received, up to its end or a disconnect."""
    more = True
    while more:
        message = await receive()
        if message["type"] == "http.disconnect":
            return
        yield message.get("body", b"")
        more = message.get("more_body", False)


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
