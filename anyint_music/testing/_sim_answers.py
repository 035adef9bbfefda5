"""HTTP answers of the simulated gateway: success, refusals in both error styles, rate answers,
injected failures and lost answers (PROTOCOL §0.3, §0.4)."""

from __future__ import annotations

import asyncio
import contextlib
import math
from typing import Any, Literal

from aiohttp import web

from ._sim_rules import LostMode, SubmitFailure
from ._sim_validate import Refusal

__all__ = [
    "CODE_MESSAGES",
    "RATE_MESSAGE",
    "ErrorStyle",
    "envelope",
    "failure",
    "lose",
    "ok",
    "rate_refusal",
    "refusal",
]

ErrorStyle = Literal["body", "http"]

CODE_MESSAGES = {
    400: "Invalid parameters.",
    401: "Unauthorized.",
    402: "Insufficient credits.",
    403: "Forbidden by subscription or policy.",
    404: "Not found.",
    405: "Rate limit exceeded.",
    413: "Prompt too long.",
    422: "Parameter validation failed.",
    429: "Quota exhausted.",
    430: "Call frequency too high, try again later.",
    455: "System under maintenance.",
    500: "Server error.",
    503: "Upstream temporarily unavailable.",
}
# The upstream wording of body code 430 (PROTOCOL §0.4, sunoapi's ApiResponse set).
RATE_MESSAGE = "call frequency too high, try later"

# AnyInt's gateway envelope (PROTOCOL §0.4, A6): HTTP status -> (error.type, error.code).
_ENVELOPES = {
    400: ("invalid_request_error", "invalid_request"),
    401: ("authentication_error", "invalid_api_key"),
    402: ("billing_error", "insufficient_credits"),
    403: ("permission_error", "permission_denied"),
    404: ("not_found_error", "not_found"),
    405: ("rate_limit_error", "rate_limit_exceeded"),
    413: ("invalid_request_error", "request_too_large"),
    422: ("invalid_request_error", "invalid_request"),
    429: ("rate_limit_error", "rate_limit_exceeded"),
    430: ("rate_limit_error", "rate_limit_exceeded"),
}
# How often a hanging answer checks whether its client gave up.
_HANG_POLL = 0.02


def ok(data: Any) -> web.Response:
    """The success answer ``{code: 200, msg: "success", data}``."""
    return web.json_response({"code": 200, "msg": "success", "data": data})


def envelope(
    status: int, message: str, data: Any = None, headers: dict[str, str] | None = None
) -> web.Response:
    """A real HTTP error status with AnyInt's ``{"error": {message, type, code}}`` body."""
    kind, code = _ENVELOPES.get(status, ("api_error", "server_error"))
    body: dict[str, Any] = {"error": {"message": message, "type": kind, "code": code}}
    if data is not None:
        body["data"] = data
    return web.json_response(body, status=status, headers=headers)


def refusal(
    refused: Refusal, style: ErrorStyle, headers: dict[str, str] | None = None
) -> web.Response:
    """A refusal in the configured style: HTTP 200 + ``{code, msg, data}``, or a real status."""
    if style == "body":
        return web.json_response(
            {"code": refused.code, "msg": refused.msg, "data": refused.data}, headers=headers
        )
    status = refused.code if 400 <= refused.code <= 599 else 500
    return envelope(status, refused.msg, refused.data, headers)


def rate_refusal(style: ErrorStyle, wait: float | None) -> web.Response:
    """A rate answer: body code 430, or HTTP 429 in the ``"http"`` style.

    Args:
        style: The gateway's error style.
        wait: Seconds until a submit would be let through; sent as ``Retry-After`` (whole
            seconds, rounded up) and ``X-RateLimit-Reset-After`` (milliseconds, rounded up).
            ``None`` sends neither header.
    """
    headers = None
    if wait is not None:
        precise = max(math.ceil(wait * 1000), 1) / 1000
        headers = {
            "Retry-After": str(max(math.ceil(precise), 1)),
            "X-RateLimit-Reset-After": f"{precise:.3f}",
        }
    code = 430 if style == "body" else 429
    return refusal(Refusal(code, RATE_MESSAGE), style, headers)


def failure(rule: SubmitFailure, style: ErrorStyle) -> web.Response:
    """The answer of an injected `SubmitFailure`."""
    code = rule.code
    key = code if code is not None else rule.status
    msg = rule.message or CODE_MESSAGES.get(key or 500, "Request failed.")
    if rule.status is not None and code is not None:
        return web.json_response({"code": code, "msg": msg, "data": None}, status=rule.status)
    if rule.status is not None:
        return envelope(rule.status, msg)
    return refusal(Refusal(code or 500, msg), style)


def _connected(request: web.Request) -> bool:
    transport = request.transport
    return transport is not None and not transport.is_closing()


async def lose(request: web.Request, mode: LostMode, closing: asyncio.Event) -> web.StreamResponse:
    """Lose the answer to `request`: close the connection now, or once the client gave up.

    ``"hang"`` keeps the connection open without answering until the client closes it or
    `closing` is set (the gateway is closing), then closes it.
    """
    if mode == "hang":
        while not closing.is_set() and _connected(request):
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(_HANG_POLL):
                    await closing.wait()
    transport = request.transport
    if transport is not None:
        transport.close()
    # aiohttp's attempt to write this to the closed connection is dropped as a disconnect.
    return web.Response()
