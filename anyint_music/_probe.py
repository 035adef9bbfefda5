"""Is my receiver reachable? A probe sent through ``public_url`` to this client's own receiver.

The client makes a one-time secret and GETs ``{public_url}/anyint/callbacks/probe/{secret}``.
Only a receiver of this client, embedded or mounted, knows the secret: it answers with a proof
derived from it and notes that the probe came. Anything else (a refused connection, a timeout,
a TLS failure, a 404 from an app that mounts the receiver elsewhere, an answer from another
program) becomes a :class:`CallbackUnreachableError` that names the cause and the fix. A probe
resolves no task, and to anyone without the secret the path is a plain 404.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import secrets
import ssl

import aiohttp

from ._callbacks import CALLBACK_PREFIX
from .errors import CallbackUnreachableError

PROBE_PREFIX = CALLBACK_PREFIX + "probe/"

_MOUNT_LINES = (
    "mount it where the service calls: app.mount('/anyint/callbacks', client.asgi_app()) "
    "(FastAPI, Starlette) or app.add_routes(client.callback_routes()) (aiohttp)"
)


def proof(secret: str) -> bytes:
    """What a receiver that knows ``secret`` answers to its probe."""
    digest = hashlib.sha256(f"anyint-music probe {secret}".encode()).hexdigest()
    return json.dumps({"probe": digest}).encode()


class Probes:
    """The probes this client expects right now, by secret."""

    def __init__(self) -> None:
        self._expected: dict[str, asyncio.Event] = {}

    def arrived(self, secret: str) -> bytes | None:
        """A probe came in: its proof, or ``None`` (404) when it is not one of ours."""
        came = self._expected.get(secret)
        if came is None:
            return None
        came.set()
        return proof(secret)

    async def check(self, public_url: str, timeout: float) -> None:
        """Send one probe through ``public_url``; return when it arrived, else raise."""
        secret = secrets.token_urlsafe(24)
        came = self._expected[secret] = asyncio.Event()
        url = f"{public_url}{PROBE_PREFIX}{secret}"
        shown = f"{public_url}{PROBE_PREFIX}<secret>"
        try:
            status, body = await _get(url, shown, timeout)
        finally:
            del self._expected[secret]
        if status == 404:
            raise CallbackUnreachableError(
                shown,
                f"{shown} answered 404: something is listening at {public_url}, but nothing "
                f"there serves {CALLBACK_PREFIX}. If this client's receiver is mounted in your "
                f"app, {_MOUNT_LINES}; otherwise public_url points at another server",
            )
        if status != 200 or body != proof(secret) or not came.is_set():
            raise CallbackUnreachableError(
                shown,
                f"{shown} was answered (HTTP {status}) by something that is not this client's "
                "receiver: check that public_url (or the tunnel behind it) leads to this "
                "process and its callback port",
            )


async def _get(url: str, shown: str, timeout: float) -> tuple[int, bytes]:
    # A session of its own: no API key, no proxy settings from the environment.
    try:
        async with (
            aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=timeout)) as session,
            session.get(url, allow_redirects=False) as answer,
        ):
            return answer.status, await answer.content.read(4096)
    except (aiohttp.ClientSSLError, ssl.SSLError) as exc:
        raise CallbackUnreachableError(
            shown,
            f"TLS failed on the way to {shown} ({exc}): the certificate of public_url's host "
            "is not trusted or does not match its name; fix the tunnel's or proxy's certificate",
        ) from exc
    except aiohttp.ClientConnectorError as exc:
        raise CallbackUnreachableError(
            shown,
            f"could not connect to {shown} ({exc.os_error or exc}): nothing accepts connections "
            "there. Start the tunnel, open the firewall or fix public_url",
        ) from exc
    except (TimeoutError, aiohttp.ServerTimeoutError) as exc:
        raise CallbackUnreachableError(
            shown,
            f"no answer from {shown} within {timeout:g} s: a firewall may drop the packets, "
            "or a tunnel is not forwarding; check that public_url reaches this machine",
        ) from exc
    except aiohttp.ClientError as exc:
        raise CallbackUnreachableError(
            shown, f"the probe to {shown} failed ({exc}); check public_url"
        ) from exc
