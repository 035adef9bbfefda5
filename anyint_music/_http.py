"""Transport to the gateway: the session, the auth header, envelopes and error mapping."""

from __future__ import annotations

import asyncio
import json
import logging
import random
import re
from collections.abc import Callable, Mapping
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
    409: errors.ConflictError,
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
    errors.ConflictError: "It exists already: use the one made before instead of asking again",
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


def _by_words(text: str) -> type[errors.APIError] | None:
    """The error a message names outright, where a code alone is ambiguous (429)."""
    if _CREDIT_WORDS.search(text):
        return errors.InsufficientCreditsError
    if _RATE_WORDS.search(text):
        return errors.RateLimitError
    return None


_CREDIT_WORDS = re.compile(r"credit|quota|balance|insufficient", re.IGNORECASE)
_RATE_WORDS = re.compile(r"\brate\b|rate[_ ]limit|frequen|too many|slow down", re.IGNORECASE)


def make_error(status: int, body: Any, text: str = "") -> errors.APIError:
    """The exception for a refused request, from its HTTP status and body.

    Understands AnyInt's ``{"error": {...}}`` envelope, the upstream ``{code,msg,data}``
    envelope (its code wins, also inside an HTTP 200), and bare text.
    """
    if isinstance(body, Mapping) and isinstance(body.get("error"), Mapping):
        err = body["error"]
        message = str(err.get("message") or err.get("type") or "request refused")
        code = err.get("code")
        kind = f"{err.get('type', '')} {code or ''}"
        if status >= 400:
            cls = _error_class(status, in_body=False)
            if status == 429:
                cls = _by_words(kind) or cls
        else:  # an error envelope inside a 200: judge by its type
            cls = _by_words(kind) or (
                errors.AuthenticationError if "auth" in kind else errors.BadRequestError
            )
        error = cls(message, status=status, code=code, hint=_HINTS.get(cls))
        error.from_gateway = True
        return error
    if isinstance(body, Mapping) and "code" in body:
        try:
            code = int(body["code"])
        except (TypeError, ValueError, OverflowError):
            code = status
        message = str(body.get("msg") or body.get("message") or "request refused")
        cls = _error_class(code, in_body=True)
        if code == 429:
            cls = _by_words(message) or cls
        error = cls(message, status=status, code=code, data=body.get("data"), hint=_HINTS.get(cls))
        error.from_envelope = error.from_gateway = True
        return error
    cls = _error_class(status, in_body=False) if status >= 400 else errors.MalformedResponseError
    snippet = (text or "").strip()[:200] or "empty body"
    return cls(f"unexpected answer: {snippet}", status=status, hint=_HINTS.get(cls))


def unwrap(status: int, body: Any, text: str) -> Any:
    """The ``data`` of a successful answer; raises the mapped :class:`APIError` otherwise."""
    if status >= 300:
        raise make_error(status, body, text)
    # dict first: an ABC's isinstance is a Python call, and every answer is a dict.
    if body.__class__ is not dict and not isinstance(body, Mapping):
        raise errors.MalformedResponseError(
            f"expected a JSON object, got: {(text or '').strip()[:200] or 'empty body'}",
            status=status,
            hint=_HINTS[errors.MalformedResponseError],
        )
    error = body.get("error")
    if error is not None and isinstance(error, Mapping):
        raise make_error(status, body, text)
    if "code" in body:
        try:
            code = int(body["code"])
        except (TypeError, ValueError, OverflowError):
            raise errors.MalformedResponseError(
                f"'code' is not a number: {body['code']!r}", status=status
            ) from None
        if code != 200:
            raise make_error(status, body, text)
    return body.get("data", body)


_DECODER: Any = json.JSONDecoder()  # json.loads's own settings
_scan: Callable[[str, int], tuple[Any, int]] = _DECODER.scan_once


def _loads(text: str) -> Any:
    """``json.loads(text)``, reading a text with nothing around its value (every answer the
    gateway sends) without the two whitespace matches and the wrappers around the scanner."""
    try:
        value, end = _scan(text, 0)
    except StopIteration:  # whitespace first, or not JSON: json.loads decides (and says why)
        return json.loads(text)
    if end != len(text):  # something after the value
        return json.loads(text)
    return value


def _body_encoder() -> Callable[[Any], str]:
    """``json.dumps`` for the session's request bodies: the same C encoder with json.dumps's
    defaults, made once, where json.dumps makes one per call through three Python frames.
    It keeps no record of the containers it is in (``check_circular``): a body is one flat
    object of strings, numbers and booleans. ``json.dumps`` itself where there is no C
    encoder."""
    try:
        from _json import make_encoder
    except ImportError:  # pragma: no cover - CPython has it
        return json.dumps
    default = json.JSONEncoder().default
    ascii_only = json.encoder.encode_basestring_ascii
    encode = make_encoder(None, default, ascii_only, None, ": ", ", ", False, False, True)

    def dumps(value: Any) -> str:
        return "".join(encode(value, 0))

    return dumps


_dumps = _body_encoder()


class Expired(Exception):  # a signal between the transport and the submit
    """The caller's deadline passed before the request could be sent: nothing was sent."""


def _gave_up(failure: BaseException, attempts: int, seconds: float, why: str) -> BaseException:
    # The last refusal is the truth about what happened; say why no further try was made.
    failure.args = (f"{failure} [gave up after {attempts} attempts in {seconds:.1f} s: {why}]",)
    return failure


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
        # Two lanes: the documented limit is on task-creating submits (20 per 10 s), so a rate
        # answer to a submit holds back submits only, and polls keep bringing results meanwhile.
        self._submits: Throttle | None = None
        self._reads: Throttle | None = None
        self._rng = random.Random()
        self.retries = 0

    def __repr__(self) -> str:
        return f"Transport(base_url={self.base_url!r})"

    async def open(self) -> None:
        self._submits = Throttle(self._rate_limit)
        self._reads = Throttle()
        self._session = aiohttp.ClientSession(
            headers={
                "Authorization": f"Bearer {self._api_key}",
                "User-Agent": USER_AGENT,
                "Accept": "application/json",
            },
            timeout=self._timeout,
            json_serialize=_dumps,
        )

    async def close(self) -> None:
        for throttle in (self._submits, self._reads):
            if throttle is not None:
                throttle.close()
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
        deadline: float | None = None,
    ) -> Any:
        """Send a request, retrying what is safe to retry; return the envelope's ``data``.

        Args:
            creates_task: the request creates a paid task, so it is sent again only when the
                failure proves no task was created (see ``_retry``).
            deadline: the caller's deadline (loop time): no wait or retry goes past it.

        Raises:
            APIError, APIConnectionError: the last failure, when retrying is unsafe or used up;
                a request still unanswered at ``deadline`` is an ``APIConnectionError`` with
                ``sent=True``.
            Expired: ``deadline`` passed before the request was sent at all.
        """
        throttle = self._submits if creates_task else self._reads
        if throttle is None:
            raise errors.ClientClosedError("the client is closed; create a new AnyIntMusic")
        policy = self.retry
        loop = asyncio.get_running_loop()
        started = loop.time()
        budget = started + policy.max_time
        limit = budget if deadline is None else min(budget, deadline)
        failures = 0
        failure: errors.APIError | errors.APIConnectionError | None = None
        while True:
            try:
                if throttle.take(creates_task=creates_task):
                    pass  # the usual case: a slot at once, no coroutine or timeout to spend
                elif deadline is None:
                    await throttle.acquire(creates_task=creates_task)
                else:
                    async with asyncio.timeout_at(deadline):
                        await throttle.acquire(creates_task=creates_task)
            except TimeoutError:
                if failure is None:
                    raise Expired() from None
                raise _gave_up(
                    failure, failures, loop.time() - started, "the call's timeout ran out"
                ) from None
            rate = False
            wait = 0.0
            if deadline is not None and loop.time() >= deadline:  # a slot came, but too late
                throttle.release(rate_limited=False, wait=None)
                if failure is None:
                    raise Expired()
                raise _gave_up(
                    failure, failures, loop.time() - started, "the call's timeout ran out"
                )
            try:
                if deadline is None:
                    data = await self._send(method, path, json_body, params)
                else:
                    async with asyncio.timeout_at(deadline):
                        data = await self._send(method, path, json_body, params)
            except TimeoutError:  # the caller's deadline: _send turns its own timeouts into errors
                raise errors.APIConnectionError(
                    f"{method} {path} was sent, but the call's timeout ran out before its answer "
                    "came",
                    sent=True,
                ) from None
            except (errors.APIError, errors.APIConnectionError) as exc:
                failure = exc
                rate = isinstance(exc, errors.RateLimitError)
                failures += 1
                asked = exc.retry_after if isinstance(exc, errors.APIError) else None
                wait = asked if asked is not None else policy.delay(failures, self._rng)
            else:
                failure = None
            finally:
                # Also on cancellation: a slot that is never given back would stall the client.
                throttle.release(rate_limited=rate, wait=wait if rate else None)
            if failure is None:
                return data
            safe = creates_no_task(failure) if creates_task else is_transient(failure)
            # Rate answers prove nothing was created and say when to come back: they are
            # bounded by time only. Other failures also count against max_attempts.
            attempts_left = rate or failures < policy.max_attempts
            if not safe or not attempts_left:
                raise failure
            if loop.time() + wait > limit:
                why = (
                    "the call's timeout ran out"
                    if limit < budget
                    else f"retries may take at most {policy.max_time:g} s (retry_max_time)"
                )
                raise _gave_up(failure, failures, loop.time() - started, why)
            self.retries += 1
            log.info(
                "%s %s failed (%s); retry %d in %.2f s",
                method,
                path,
                failure,
                failures,
                wait,
                extra={"route": path, "attempt": failures, "retry_in": wait},
            )
            if not rate:  # after a rate answer the throttle holds every request back
                await asyncio.sleep(wait)

    async def _send(
        self, method: str, path: str, json_body: Any, params: Mapping[str, str] | None
    ) -> Any:
        if self._session is None:
            raise errors.ClientClosedError("the client closed while this request waited")
        url = self.base_url + path
        try:
            async with self._session.request(method, url, json=json_body, params=params) as resp:
                raw = await resp.read()
                status = resp.status
                headers = resp.headers
                text = raw.decode("utf-8", errors="replace")  # JSON is UTF-8 (RFC 8259)
        except aiohttp.InvalidURL as exc:
            raise errors.APIConnectionError(
                f"{url!r} is not a valid URL; check ANYINT_BASE_URL. Nothing was sent.", sent=False
            ) from exc
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
            body = _loads(text) if text else None
        except ValueError:
            body = None
        if log.isEnabledFor(logging.DEBUG):  # spare every request the record's extra fields
            log.debug("%s %s -> %s", method, path, status, extra={"route": path, "status": status})
        try:
            return unwrap(status, body, text)
        except errors.APIError as exc:
            exc.retry_after = retry_after(headers)
            raise
