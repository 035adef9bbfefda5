"""Transport to the gateway: the session, the auth header, envelopes and error mapping."""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping
from typing import Any

import aiohttp

from . import errors
from ._version import __version__

log = logging.getLogger("anyint_music")

USER_AGENT = f"anyint-music/{__version__}"


# Body codes of the upstream {code,msg,data} envelope (PROTOCOL.md §0.4). AnyInt's music table
# reads 429 as "quota exhausted"; 405 and 430 are its rate signals.
_BODY_CODE_ERRORS: dict[int, type[errors.APIError]] = {
    400: errors.BadRequestError,
    401: errors.AuthenticationError,
    402: errors.InsufficientCreditsError,
    403: errors.PermissionDeniedError,
    404: errors.BadRequestError,
    405: errors.RateLimitError,
    409: errors.BadRequestError,
    413: errors.BadRequestError,
    422: errors.BadRequestError,
    429: errors.InsufficientCreditsError,
    430: errors.RateLimitError,
    451: errors.BadRequestError,
    455: errors.ServerError,
}

# Real HTTP statuses (AnyInt's gateway table, PROTOCOL.md §0.4): here 429 is a limit reached.
_HTTP_STATUS_ERRORS: dict[int, type[errors.APIError]] = {
    **_BODY_CODE_ERRORS,
    429: errors.RateLimitError,
}

_HINTS: dict[type[errors.APIError], str] = {
    errors.BadRequestError: "Fix the request as the message says; unchanged it will fail again",
    errors.AuthenticationError: (
        "Check the API key (ANYINT_API_KEY or AnyIntMusic(api_key=...)); AI Music routes use "
        "'Authorization: Bearer <key>'"
    ),
    errors.PermissionDeniedError: "Check that your plan and key may use this route and model",
    errors.RateLimitError: "Too many requests: wait a little and try again, or send fewer at once",
    errors.InsufficientCreditsError: "Top up the account's credits, then try again",
    errors.ServerError: "The service is failing or under maintenance; try again later",
    errors.MalformedResponseError: "The gateway may have changed; report this with the body above",
}


def _error_class(code: int, *, in_body: bool) -> type[errors.APIError]:
    table = _BODY_CODE_ERRORS if in_body else _HTTP_STATUS_ERRORS
    if code in table:
        return table[code]
    if code >= 500:
        return errors.ServerError
    return errors.BadRequestError


def make_error(status: int, body: Any, text: str = "") -> errors.APIError:
    """The exception for a refused request, from its HTTP status and body.

    Understands AnyInt's ``{"error": {...}}`` envelope, the upstream ``{code,msg,data}``
    envelope with its code inside an HTTP 200, and bare text.
    """
    if isinstance(body, Mapping) and isinstance(body.get("error"), Mapping):
        err = body["error"]
        message = str(err.get("message") or err.get("type") or "request refused")
        code = err.get("code")
        cls = _error_class(status, in_body=False)
        if status < 400:
            # An error envelope inside a 200: judge by its type.
            kind = str(err.get("type", ""))
            cls = (
                errors.AuthenticationError
                if "auth" in kind
                else (errors.RateLimitError if "rate" in kind else errors.BadRequestError)
            )
        return cls(message, status=status, code=code, hint=_HINTS.get(cls))
    if isinstance(body, Mapping) and "code" in body:
        try:
            code = int(body["code"])
        except (TypeError, ValueError):
            code = status
        message = str(body.get("msg") or body.get("message") or "request refused")
        cls = _error_class(code, in_body=True)
        if status >= 400 and code == status:
            cls = _error_class(status, in_body=False)
        return cls(message, status=status, code=code, data=body.get("data"), hint=_HINTS.get(cls))
    cls = _error_class(status, in_body=False) if status >= 400 else errors.MalformedResponseError
    snippet = (text or "").strip()[:200] or "empty body"
    return cls(f"unexpected answer: {snippet}", status=status, hint=_HINTS.get(cls))


def unwrap(status: int, body: Any, text: str) -> Any:
    """The ``data`` of a successful answer; raises the mapped :class:`APIError` otherwise."""
    if status >= 300:
        raise make_error(status, body, text)
    if not isinstance(body, Mapping):
        raise errors.MalformedResponseError(
            f"expected a JSON object, got: {(text or '').strip()[:200] or 'empty body'}",
            status=status,
            hint=_HINTS[errors.MalformedResponseError],
        )
    if isinstance(body.get("error"), Mapping):
        raise make_error(status, body, text)
    if "code" in body:
        try:
            code = int(body["code"])
        except (TypeError, ValueError):
            raise errors.MalformedResponseError(
                f"'code' is not a number: {body['code']!r}", status=status
            ) from None
        if code != 200:
            raise make_error(status, body, text)
    return body.get("data", body)


class Transport:
    """One aiohttp session bound to the gateway's base URL and the API key."""

    def __init__(self, *, api_key: str, base_url: str, timeout: float) -> None:
        self._api_key = api_key
        self.base_url = base_url.rstrip("/")
        self._timeout = aiohttp.ClientTimeout(total=timeout)
        self._session: aiohttp.ClientSession | None = None

    def __repr__(self) -> str:
        return f"Transport(base_url={self.base_url!r})"

    async def open(self) -> None:
        self._session = aiohttp.ClientSession(
            headers={
                "Authorization": f"Bearer {self._api_key}",
                "User-Agent": USER_AGENT,
                "Accept": "application/json",
            },
            timeout=self._timeout,
        )

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None

    async def request(
        self,
        method: str,
        path: str,
        *,
        json_body: Any = None,
        params: Mapping[str, str] | None = None,
    ) -> Any:
        """Send one request; return the envelope's ``data`` or raise a mapped error."""
        if self._session is None:
            raise errors.ClientClosedError(
                "the client is closed; open it with 'async with AnyIntMusic()'"
            )
        url = self.base_url + path
        try:
            async with self._session.request(method, url, json=json_body, params=params) as resp:
                text = await resp.text()
                status = resp.status
        except aiohttp.ClientConnectorError as exc:
            raise errors.APIConnectionError(
                f"could not connect to {self.base_url} ({exc.os_error}); check ANYINT_BASE_URL "
                "and the network. Nothing was sent.",
                sent=False,
            ) from exc
        except (aiohttp.ClientError, TimeoutError) as exc:
            raise errors.APIConnectionError(
                f"{method} {path} was sent but its answer was lost ({type(exc).__name__}: {exc}); "
                "the request may have taken effect",
                sent=True,
            ) from exc
        try:
            body = json.loads(text) if text else None
        except ValueError:
            body = None
        log.debug("%s %s -> %s", method, path, status, extra={"route": path, "status": status})
        return unwrap(status, body, text)
