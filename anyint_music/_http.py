"""Transport to the gateway: the session, the auth header, envelopes and error mapping."""

from __future__ import annotations

import asyncio
import json
import logging
import random
from collections.abc import Mapping
from typing import Any

import aiohttp

from . import errors
from ._retry import RetryPolicy, Throttle, creates_no_task, is_transient, retry_after
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
    """One aiohttp session bound to the gateway's base URL and the API key, with retries."""

    def __init__(
        self,
        *,
        api_key: str,
        base_url: str,
        timeout: float,
        retry: RetryPolicy | None = None,
        rate_limit: tuple[int, float] | None = None,
    ) -> None:
        self._api_key = api_key
        self.base_url = base_url.rstrip("/")
        self._timeout = aiohttp.ClientTimeout(total=timeout)
        self._session: aiohttp.ClientSession | None = None
        self.retry = retry or RetryPolicy()
        self._rate_limit = rate_limit
        self._throttle: Throttle | None = None
        self._rng = random.Random()
        self.retries = 0

    def __repr__(self) -> str:
        return f"Transport(base_url={self.base_url!r})"

    async def open(self) -> None:
        self._throttle = Throttle(self._rate_limit)
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
        creates_task: bool = False,
    ) -> Any:
        """Send a request, retrying what is safe to retry; return the envelope's ``data``.

        Args:
            creates_task: the request creates a paid task, so it is sent again only when the
                failure proves no task was created (see ``_retry``).

        Raises:
            APIError, APIConnectionError: the last failure, when retrying is unsafe or used up.
        """
        if self._session is None or self._throttle is None:
            raise errors.ClientClosedError("the client is closed; create a new AnyIntMusic")
        throttle = self._throttle
        policy = self.retry
        loop = asyncio.get_running_loop()
        deadline = loop.time() + policy.max_time
        failures = 0
        while True:
            await throttle.acquire(creates_task=creates_task)
            try:
                data = await self._send(method, path, json_body, params)
            except (errors.APIError, errors.APIConnectionError) as exc:
                rate = isinstance(exc, errors.RateLimitError)
                asked = exc.retry_after if isinstance(exc, errors.APIError) else None
                failures += 1
                wait = asked if asked is not None else policy.delay(failures, self._rng)
                await throttle.release(rate_limited=rate, wait=wait if rate else None)
                safe = creates_no_task(exc) if creates_task else is_transient(exc)
                # Rate answers prove nothing was created and say when to come back: they are
                # bounded by time only. Other failures also count against max_attempts.
                attempts_left = rate or failures < policy.max_attempts
                if not safe or not attempts_left or loop.time() + wait > deadline:
                    if creates_task and isinstance(exc, errors.APIConnectionError) and exc.sent:
                        raise errors.SubmitUncertainError(method, path, exc) from exc
                    raise
                self.retries += 1
                log.info(
                    "%s %s failed (%s); retry %d in %.2f s",
                    method,
                    path,
                    exc,
                    failures,
                    wait,
                    extra={"route": path, "attempt": failures, "retry_in": wait},
                )
                if not rate:
                    await asyncio.sleep(wait)
                continue
            await throttle.release(rate_limited=False, wait=None)
            return data

    async def _send(
        self, method: str, path: str, json_body: Any, params: Mapping[str, str] | None
    ) -> Any:
        assert self._session is not None
        url = self.base_url + path
        try:
            async with self._session.request(method, url, json=json_body, params=params) as resp:
                text = await resp.text()
                status = resp.status
                headers = resp.headers
        except aiohttp.ClientConnectorError as exc:
            raise errors.APIConnectionError(
                f"could not connect to {self.base_url} ({exc.os_error}); check ANYINT_BASE_URL "
                "and the network. Nothing was sent.",
                sent=False,
            ) from exc
        except (aiohttp.ClientError, TimeoutError) as exc:
            raise errors.APIConnectionError(
                f"{method} {path} was sent but its answer was lost ({type(exc).__name__}: {exc})",
                sent=True,
            ) from exc
        try:
            body = json.loads(text) if text else None
        except ValueError:
            body = None
        log.debug("%s %s -> %s", method, path, status, extra={"route": path, "status": status})
        try:
            return unwrap(status, body, text)
        except errors.APIError as exc:
            exc.retry_after = retry_after(headers)
            raise
