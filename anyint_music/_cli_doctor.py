"""``anyint-music doctor``: is everything in place for the whole job? One line per check, with
what to do when it fails:

- gateway: the gateway answers, as AnyInt's gateway does (its own error body);
- api key: it accepts the key. The request is harmless: it reads the record of a made-up task,
  so a 404 or 422 for the unknown id says the key works, and 401 or 403 that it is refused;
- clock: this machine's clock agrees with the ``Date`` of that answer (signed callbacks and
  timestamps depend on it);
- callbacks: a probe through ``--public-url`` (or ``ANYINT_PUBLIC_URL``) reaches this command's
  receiver (``AnyIntMusic.check_callbacks``). Without one, a gateway on this machine reaches
  the receiver directly; any other gets a warning: results will come by polling.

Warnings leave the exit code 0; a failed check makes it 1.
"""

from __future__ import annotations

import argparse
import contextlib
import email.utils
import json
import secrets
import time
from collections.abc import Callable
from typing import Any, Literal

import aiohttp
import attrs

from . import AnyIntMusic, CallbackUnreachableError, TaskKind, errors
from ._cli_output import CommandError, Output
from ._http import USER_AGENT, unwrap
from ._kinds import KINDS
from ._settings import is_http_url, is_loopback

# The command line's clients poll a task whose final callback is lost every this many seconds
# (see _polling: until they have seen tasks end, and while no callback reaches them).
POLL_INTERVAL = 30.0
# `wait`: someone waits at a terminal for a task this process did not submit.
WAIT_POLL_INTERVAL = 2.0
CLOCK_TOLERANCE = 60.0
DEFAULT_TIMEOUT = 10.0

TUNNEL_FIX = (
    "run a tunnel (cloudflared, ngrok...) to a fixed port and pass its address: "
    "--public-url https://YOUR-TUNNEL --callback-port 8080 "
    "(or ANYINT_PUBLIC_URL and ANYINT_CALLBACK_PORT)"
)

Status = Literal["ok", "warn", "fail", "skip"]


@attrs.frozen
class Gateway:
    """Where a command sends its requests, and the key it sends (``None``: none is set)."""

    url: str
    api_key: str | None


@attrs.frozen
class Check:
    name: str
    status: Status
    message: str
    fix: str | None = None
    fields: dict[str, Any] = attrs.field(factory=dict)


def polling_cadence() -> str:
    """How often a task is polled when no callback comes, in words."""
    return f"a poll every {POLL_INTERVAL:g} s from the submit until the task ends"


def polling_note(base_url: str, public_url: str | None) -> str | None:
    """What a command says once when the gateway cannot call its receiver back; else ``None``."""
    if public_url is not None or is_loopback(base_url):
        return None
    return (
        f"no public URL: {base_url} cannot call back this command's receiver, so results "
        f"will come by polling, which is slower: {polling_cadence()}. To get them at once, "
        f"{TUNNEL_FIX}; 'anyint-music doctor' checks the way"
    )


def port_note(public_url: str | None, callback_port: int) -> str | None:
    """What a command says when a public URL leads to a receiver on a port nobody knows."""
    if public_url is None or callback_port:
        return None
    return (
        f"--public-url {public_url} is set, but the receiver listens on a free port picked for "
        "this run, which no tunnel knows: pin it with --callback-port (or ANYINT_CALLBACK_PORT) "
        "and forward the tunnel there"
    )


async def doctor(
    args: argparse.Namespace, out: Output, gateway: Gateway, make_client: Callable[[], AnyIntMusic]
) -> None:
    """Run the checks, report each as it ends; raise :class:`CommandError` if one failed."""
    timeout = args.timeout or DEFAULT_TIMEOUT
    out.waiting(f"asking {gateway.url}")
    try:
        checks = await _gateway_checks(gateway, timeout)
    finally:
        out.status(None)
    for check in checks:
        _report(out, check)
    out.waiting("sending a probe to the callback receiver")
    try:
        callbacks = await _callbacks(args, gateway, make_client, timeout)
    finally:
        out.status(None)
    _report(out, callbacks)
    checks.append(callbacks)
    failed = [c.name for c in checks if c.status == "fail"]
    warned = sum(c.status == "warn" for c in checks)
    if failed:
        raise CommandError(f"{len(failed)} of {len(checks)} checks failed: {', '.join(failed)}")
    said = f", {warned} with a warning" if warned else ""
    out.say(f"all {len(checks)} checks passed{said}")
    out.emit("done", None, checks=len(checks), warnings=warned)


def _report(out: Output, check: Check) -> None:
    word = check.status.upper() if check.status in ("warn", "fail") else check.status
    fix = f"  Fix: {check.fix}" if check.fix else ""
    out.say(f"{word:<5} {check.name:<10} {check.message}{fix}")
    out.emit(
        "check",
        None,
        check=check.name,
        status=check.status,
        message=check.message,
        fix=check.fix,
        **check.fields,
    )


def _not_checked(why: str) -> list[Check]:
    return [Check("api key", "skip", why), Check("clock", "skip", why)]


async def _gateway_checks(gateway: Gateway, timeout: float) -> list[Check]:
    """The gateway, the key and the clock, from one harmless request."""
    if not is_http_url(gateway.url):
        return [
            Check(
                "gateway",
                "fail",
                f"ANYINT_BASE_URL={gateway.url!r} is not an http(s) URL",
                "unset it (the default is AnyInt's gateway) or give the gateway's https:// URL",
            ),
            *_not_checked("the gateway was not asked"),
        ]
    task_id = f"doctor-{secrets.token_hex(8)}"
    headers = {"User-Agent": USER_AGENT, "Accept": "application/json"}
    if gateway.api_key:
        headers["Authorization"] = f"Bearer {gateway.api_key}"
    query = KINDS[TaskKind.MUSIC].query
    try:
        async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=timeout)) as http:
            sent, started = time.time(), time.monotonic()
            async with http.get(
                f"{gateway.url}{query}",
                params={"taskId": task_id},
                headers=headers,
                allow_redirects=False,
            ) as answer:
                raw = await answer.content.read(65536)
                status, date = answer.status, answer.headers.get("Date")
            seconds = time.monotonic() - started
    except (aiohttp.ClientError, TimeoutError) as exc:
        return [_unreached(gateway.url, exc, timeout), *_not_checked("the gateway did not answer")]
    text = raw.decode("utf-8", errors="replace")
    try:
        body = json.loads(text) if text else None
    except ValueError:
        body = None
    try:
        unwrap(status, body, text)
        refusal: errors.APIError | None = None
    except errors.APIError as exc:
        refusal = exc
    # The middle of the exchange: the gateway's clock was read somewhere in it.
    local = (sent + time.time()) / 2
    return _judge(gateway, refusal, status, seconds, task_id, date, local)


def _unreached(url: str, exc: BaseException, timeout: float) -> Check:
    if isinstance(exc, TimeoutError | aiohttp.ServerTimeoutError):
        message = f"no answer from {url} within {timeout:g} s"
    elif isinstance(exc, aiohttp.ClientConnectorError):
        message = f"cannot connect to {url} ({exc.os_error or exc})"
    else:
        message = f"the request to {url} failed ({type(exc).__name__}: {exc})"
    return Check(
        "gateway",
        "fail",
        message,
        "check ANYINT_BASE_URL (unset, it is AnyInt's gateway), the network, a firewall or a "
        "proxy on the way",
    )


def _judge(
    gateway: Gateway,
    refusal: errors.APIError | None,
    status: int,
    seconds: float,
    task_id: str,
    date: str | None,
    local: float,
) -> list[Check]:
    if refusal is not None and not refusal.from_gateway and status not in (401, 403):
        return [
            Check(
                "gateway",
                "fail",
                f"{gateway.url} answered, but not as AnyInt's gateway does: {refusal.message} "
                f"(HTTP {status})",
                "check ANYINT_BASE_URL (unset, it is AnyInt's gateway): it may lead to another "
                "server, or a proxy answers for it",
            ),
            *_not_checked("the gateway did not answer as a gateway"),
        ]
    if isinstance(refusal, errors.ServerError):
        return [
            Check(
                "gateway",
                "fail",
                f"{gateway.url} answered with a failure: {refusal.message} (HTTP {status})",
                "the service is failing or under maintenance; try again later",
            ),
            *_not_checked("the gateway is failing"),
        ]
    reached = Check(
        "gateway", "ok", f"{gateway.url} answered in {seconds:.2f} s", fields={"url": gateway.url}
    )
    return [reached, _key(gateway, refusal, task_id), _clock(date, local)]


def _key(gateway: Gateway, refusal: errors.APIError | None, task_id: str) -> Check:
    if not gateway.api_key:
        return Check(
            "api key",
            "fail",
            "ANYINT_API_KEY is not set",
            "export ANYINT_API_KEY=<your AnyInt API key>, or try everything with --simulate",
        )
    if refusal is None or (
        isinstance(refusal, errors.BadRequestError) and 404 in (refusal.status, refusal.code)
    ):
        return Check(
            "api key", "ok", f"accepted (the gateway knows no task {task_id}, as it should)"
        )
    if isinstance(refusal, errors.BadRequestError) and 422 in (refusal.status, refusal.code):
        return Check(
            "api key", "ok", f"accepted (the made-up task id was refused: {refusal.message})"
        )
    if isinstance(refusal, errors.AuthenticationError | errors.PermissionDeniedError):
        return Check(
            "api key",
            "fail",
            f"refused: {refusal.message} (HTTP {refusal.status}, code {refusal.code})",
            "set ANYINT_API_KEY to a valid key of your AnyInt account (sent as "
            "'Authorization: Bearer <key>'); a 403 means this key may not read music tasks",
        )
    if isinstance(refusal, errors.RateLimitError):
        return Check(
            "api key",
            "warn",
            f"not judged: the gateway answered with a rate limit ({refusal.message})",
            "wait a minute and run doctor again",
        )
    if isinstance(refusal, errors.InsufficientCreditsError):
        return Check(
            "api key",
            "fail",
            f"accepted, but the account has no credits: {refusal.message}",
            "top up the account's credits",
        )
    return Check(
        "api key",
        "warn",
        f"not judged: the gateway answered {refusal.message} (HTTP {refusal.status}, "
        f"code {refusal.code})",
        "run doctor again with --debug, and report the answer if it stays",
    )


def _clock(date: str | None, local: float) -> Check:
    when = None
    if date:
        with contextlib.suppress(TypeError, ValueError):
            when = email.utils.parsedate_to_datetime(date)
    if when is None or when.tzinfo is None:
        return Check("clock", "skip", "the gateway's answer had no usable Date header")
    # The Date header has whole seconds (rounded down): its middle is the best guess.
    skew = when.timestamp() + 0.5 - local  # > 0: this machine is behind
    fields = {"skew_s": round(skew, 1) + 0.0}  # never -0.0
    if abs(skew) <= CLOCK_TOLERANCE:
        return Check(
            "clock", "ok", f"within {max(abs(skew), 1):.0f} s of the gateway's", fields=fields
        )
    where = "behind" if skew > 0 else "ahead of"
    return Check(
        "clock",
        "warn",
        f"this machine's clock is {abs(skew):.0f} s {where} the gateway's; signed callbacks "
        "and timestamps depend on it",
        "turn on time sync (timedatectl set-ntp true; or your system's date and time settings)",
        fields,
    )


async def _callbacks(
    args: argparse.Namespace,
    gateway: Gateway,
    make_client: Callable[[], AnyIntMusic],
    timeout: float,
) -> Check:
    public: str | None = args.public_url
    where = f"{args.callback_host}:{args.callback_port}" if args.callback_port else None
    remote = not is_loopback(gateway.url)
    try:
        async with make_client() as client:
            if public is None and remote:
                return Check(
                    "callbacks",
                    "warn",
                    f"no public URL: the receiver ({client.public_url}) is local-only, so "
                    f"{gateway.url} cannot call it and results will come by polling: "
                    f"{polling_cadence()}",
                    TUNNEL_FIX,
                )
            await client.check_callbacks(timeout=timeout)
            if public is None:
                message = (
                    f"the gateway runs on this machine and reaches the receiver at "
                    f"{client.public_url}; no public URL needed"
                )
            else:
                message = f"a probe through {public} reached this command's receiver"
            return Check("callbacks", "ok", message, fields={"public_url": client.public_url})
    except CallbackUnreachableError as exc:
        if where is None:
            fix = (
                "the receiver listened on a free port picked for this run, which no tunnel "
                "knows: pin it with --callback-port 8080 (or ANYINT_CALLBACK_PORT) and forward "
                f"the tunnel behind {public} to http://127.0.0.1:8080"
            )
        else:
            fix = f"the tunnel or proxy behind {public} must forward to the receiver at {where}"
        return Check("callbacks", "fail", str(exc), fix, {"public_url": public})
    except OSError as exc:
        return Check(
            "callbacks",
            "fail",
            f"the receiver cannot listen on {where or args.callback_host}: {exc.strerror or exc}",
            "choose another --callback-port (or 0 for any free one)",
        )
    except errors.ConfigurationError as exc:  # e.g. ANYINT_BASE_URL is not a URL (said above)
        return Check("callbacks", "skip", f"not checked: {exc}")
