"""What the receiver does with one callback, whichever server carried it (the embedded aiohttp
server, routes mounted in the user's aiohttp app, or the ASGI app).

Checks run cheapest first: the sender's address, the token, the body, the signature. A known
token always gets 200 (duplicates too) so the sender stops retrying; an unknown one 404; a body
whose task id is not the token's task 409; a malformed body (or JSON nested deeper than
``MAX_JSON_DEPTH``) 400; a missing or wrong signature 401; an address outside the allow-list
403; a store that fails 503, so that the sender tries again. None of them touches any other
task.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import ipaddress
import json
import logging
import time
from collections.abc import AsyncIterable, Mapping, Sequence
from typing import Any

import attrs
from multidict import MultiMapping

from ._convert import WireFormatError
from ._kinds import parse_callback
from ._models import TaskEvent, TaskKind
from ._registry import TaskRegistry
from ._tasks import TaskState
from ._verdicts import Outcome
from .stores import StoredTask

log = logging.getLogger("anyint_music")

CALLBACK_PREFIX = "/anyint/callbacks/"
DEFAULT_MAX_BODY = 1024 * 1024
# Far beyond any real callback (about 5 levels), far below what recursive code copes with:
# the converter and the stores walk the event recursively.
MAX_JSON_DEPTH = 64

Network = ipaddress.IPv4Network | ipaddress.IPv6Network

_STATUS = {
    Outcome.ACCEPTED: 200,
    Outcome.DUPLICATE: 200,
    Outcome.UNKNOWN_TOKEN: 404,
    Outcome.MISMATCH: 409,
}


def networks(values: Sequence[str] | None, name: str) -> tuple[Network, ...] | None:
    """Parse addresses or CIDR ranges; ``None`` stays ``None``."""
    if values is None:
        return None
    try:
        return tuple(ipaddress.ip_network(v, strict=False) for v in values)
    except ValueError as exc:
        from .errors import ConfigurationError

        raise ConfigurationError(f"{name}: {exc}; use addresses or CIDR ranges") from None


def _within(address: str | None, nets: Sequence[Network]) -> bool:
    if not address:
        return False
    try:
        ip = ipaddress.ip_address(address.split("%", 1)[0])
    except ValueError:
        return False
    return any(ip in net for net in nets)


def _reject_constant(name: str) -> None:
    raise ValueError(f"{name} is not valid JSON")


# One decoder for every callback: json.loads with an option builds a new one per call.
_decoder = json.JSONDecoder(parse_constant=_reject_constant)


def decode_json(raw: bytes) -> Any:
    """A callback body as received (bytes), decoded as JSON."""
    # As json.loads does with bytes: UTF-8, or UTF-16/32 told apart by their leading bytes. An
    # object whose second byte is not NUL can only be UTF-8: the usual body skips the test.
    usual = raw[:1] == b"{" and raw[1:2] not in (b"", b"\x00")
    encoding = "utf-8" if usual else json.detect_encoding(raw)
    return _decoder.decode(raw.decode(encoding, "surrogatepass"))


def _too_deep(raw: bytes, value: Any, limit: int) -> bool:
    """Whether ``value`` (decoded from ``raw``) nests lists and objects more than ``limit``
    levels deep; a loop, not a recursion, so no depth can make the check itself fail."""
    if raw.count(b"[") + raw.count(b"{") <= limit:  # the usual case, at C speed
        return False
    stack = [(value, 1)] if isinstance(value, (dict, list)) else []
    while stack:
        node, depth = stack.pop()
        if depth > limit:
            return True
        children = node.values() if isinstance(node, dict) else node
        stack.extend((c, depth + 1) for c in children if isinstance(c, (dict, list)))
    return False


async def read_capped(chunks: AsyncIterable[bytes], cap: int) -> bytes | None:
    """The body gathered from ``chunks``, or ``None`` once it grows larger than ``cap`` (no
    chunk is taken after that). Each server adapts its own source of body bytes to this."""
    parts: list[bytes] = []
    size = 0
    async for chunk in chunks:
        size += len(chunk)
        if size > cap:
            return None
        parts.append(chunk)
    return b"".join(parts)


def encode_answer(answer: str) -> bytes:
    """The JSON body ``{"status": answer}``; the usual answers are encoded once, up front."""
    body = _ENCODED.get(answer)
    return body if body is not None else json.dumps({"status": answer}).encode()


_ENCODED = {
    answer: json.dumps({"status": answer}).encode()
    for answer in [
        *(o.value for o in Outcome),
        "unknown callback token",
        "sender not allowed",
        "unreadable body",
        "not found",
        "method not allowed",
        "JSON nested too deeply",
        "could not look the token up; try again",
        "could not record the callback; try again",
        "expectation failed",
    ]
}


def signature(key: bytes, task_id: str, timestamp: str) -> str:
    """The ``X-Webhook-Signature`` of a delivery: Base64 of HMAC-SHA256 over
    ``"{task_id}.{timestamp}"`` (PROTOCOL.md §8.2)."""
    # surrogatepass: a task id read from a hostile body may hold lone surrogates.
    message = f"{task_id}.{timestamp}".encode("utf-8", "surrogatepass")
    digest = hmac.new(key, message, hashlib.sha256).digest()
    return base64.b64encode(digest).decode()


@attrs.define
class CallbackStats:
    received: int = 0
    refused: int = 0


class CallbackHandler:
    """The receiver's logic, independent of the server that carries the request.

    Args:
        registry: where tokens are looked up and events delivered.
        max_body: the largest body accepted (413 above it).
        trusted_proxies: addresses of proxies whose ``X-Forwarded-For`` is believed.
        allowed_ips: if set, callbacks are taken only from these addresses or ranges (403).
        hmac_key: if set, every callback must carry a valid ``X-Webhook-Signature`` (401).
        hmac_tolerance: seconds a ``X-Webhook-Timestamp`` may be off from now.
    """

    def __init__(
        self,
        registry: TaskRegistry,
        *,
        max_body: int = DEFAULT_MAX_BODY,
        trusted_proxies: Sequence[Network] = (),
        allowed_ips: Sequence[Network] | None = None,
        hmac_key: bytes | None = None,
        hmac_tolerance: float = 300.0,
    ) -> None:
        self.registry = registry
        self.max_body = max_body
        self.trusted_proxies = tuple(trusted_proxies)
        self.allowed_ips = None if allowed_ips is None else tuple(allowed_ips)
        self.hmac_key = hmac_key
        self.hmac_tolerance = hmac_tolerance
        self.stats = CallbackStats()

    def client_address(self, peer: str | None, headers: MultiMapping[str]) -> str | None:
        """The sender's address: the socket peer, or, behind a trusted proxy, the last
        ``X-Forwarded-For`` hop that is not itself a trusted proxy."""
        if not self.trusted_proxies or not _within(peer, self.trusted_proxies):
            return peer
        # Every line, in order: a sender can put a forged line before the one a proxy adds.
        forwarded = ",".join(headers.getall("X-Forwarded-For", ()))
        hops = [h.strip() for h in forwarded.split(",") if h.strip()]
        for hop in reversed(hops):
            if not _within(hop, self.trusted_proxies):
                return hop
        return hops[0] if hops else peer

    def admits(self, address: str | None) -> bool:
        """Whether the allow-list (if any) admits ``address``."""
        return self.allowed_ips is None or _within(address, self.allowed_ips)

    async def handle(
        self, token: str, raw: bytes | None, headers: Mapping[str, str], address: str | None
    ) -> tuple[int, bytes]:
        """Process one callback body (``None``: it was larger than ``max_body``); return the
        HTTP status and the JSON body to answer with."""
        started = time.perf_counter()
        if not self.admits(address):
            log.warning("refused a callback from %s: not in allowed_ips", address)
            return self._answer(started, 403, "sender not allowed")
        registry = self.registry
        try:
            state = registry.get_token(token) or await registry.lookup(token)
        except Exception:
            # The store could not be asked: the token may well be ours, so not 404 but an
            # answer that makes the sender try again later.
            log.exception("could not look a callback token up in the store")
            return self._answer(started, 503, "could not look the token up; try again")
        if state is None:
            return self._answer(started, 404, "unknown callback token")
        event = self._read(raw, state.kind, headers)
        if not isinstance(event, TaskEvent):
            return self._answer(started, *event)
        if not isinstance(state, StoredTask) and registry.settles_now(state):
            return self._deliver_now(started, state, event)
        try:
            if isinstance(state, StoredTask):
                outcome = await registry.deliver_foreign(state, event)
            else:
                outcome = await registry.deliver(state, event, raw)
        except Exception:
            return self._not_recorded(started, event)
        return self._answer(started, _STATUS[outcome], outcome._value_, event)

    def handle_now(
        self, token: str, raw: bytes | None, headers: Mapping[str, str], address: str | None
    ) -> tuple[int, bytes] | None:
        """:meth:`handle`'s answer when it needs no waiting (the usual case with the memory
        store: a token in memory, a sender admitted); ``None``: await :meth:`handle`."""
        started = time.perf_counter()
        registry = self.registry
        state = registry.get_token(token)
        if state is None or not registry.settles_now(state) or not self.admits(address):
            return None
        event = self._read(raw, state.kind, headers)
        if not isinstance(event, TaskEvent):
            return self._answer(started, *event)
        return self._deliver_now(started, state, event)

    def _deliver_now(self, started: float, state: TaskState, event: TaskEvent) -> tuple[int, bytes]:
        try:
            outcome = self.registry.deliver_now(state, event)
        except Exception:
            return self._not_recorded(started, event)
        return self._answer(started, _STATUS[outcome], outcome._value_, event)

    def _not_recorded(self, started: float, event: TaskEvent) -> tuple[int, bytes]:
        # The event could not be recorded: a 503 makes the sender try again later.
        log.exception("could not record a callback for task %s", event.task_id)
        return self._answer(started, 503, "could not record the callback; try again", event)

    def _read(
        self, raw: bytes | None, kind: TaskKind, headers: Mapping[str, str]
    ) -> TaskEvent | tuple[int, str]:
        """The event a body reports for a task of ``kind``, or why it is refused (status and
        answer)."""
        if raw is None or len(raw) > self.max_body:
            log.warning("refused a callback body over %d bytes", self.max_body)
            return 413, f"body larger than {self.max_body} bytes"
        try:
            body = decode_json(raw)
            if _too_deep(raw, body, MAX_JSON_DEPTH):
                log.warning("refused a callback nested over %d levels deep", MAX_JSON_DEPTH)
                return 400, "JSON nested too deeply"
            event = parse_callback(kind, body)
        except (ValueError, WireFormatError, RecursionError) as exc:
            # json.JSONDecodeError and UnicodeDecodeError are ValueErrors too.
            log.warning("refused a malformed callback: %.200s", exc)
            return 400, f"malformed callback: {str(exc)[:200]}"
        if self.hmac_key is not None:
            problem = self._check_signature(event.task_id, headers)
            if problem:
                log.warning("refused a callback for task %s: %s", event.task_id, problem)
                return 401, problem
        return event

    def _answer(
        self, started: float, status: int, answer: str, event: TaskEvent | None = None
    ) -> tuple[int, bytes]:
        """Count the answer (and log it at debug level, with the seconds since ``started``);
        the status and JSON body to send."""
        stats = self.stats
        stats.received += 1
        if status >= 400:
            stats.refused += 1
        if event is not None and log.isEnabledFor(logging.DEBUG):  # spare the hot path
            log.debug(
                "callback %s for task %s: %s",
                event.stage.value,
                event.task_id,
                answer,
                extra={
                    "task_id": event.task_id,
                    "stage": event.stage.value,
                    "status": status,
                    "latency": time.perf_counter() - started,
                },
            )
        return status, encode_answer(answer)

    def _check_signature(self, task_id: str, headers: Mapping[str, str]) -> str | None:
        assert self.hmac_key is not None
        stamp = headers.get("X-Webhook-Timestamp", "")
        given = headers.get("X-Webhook-Signature", "")
        if not stamp or not given:
            return "missing X-Webhook-Timestamp or X-Webhook-Signature"
        # ASCII digits only: int() also takes other scripts' digits, and a huge number would
        # not convert to a float below.
        if not (stamp.isascii() and stamp.isdigit() and len(stamp) <= 20):
            return "X-Webhook-Timestamp is not a number of seconds"
        skew = abs(time.time() - int(stamp))
        if skew > self.hmac_tolerance:
            return f"X-Webhook-Timestamp is {skew:.0f} s off (tolerance {self.hmac_tolerance:g} s)"
        expected = signature(self.hmac_key, task_id, stamp)
        # Header bytes that are not UTF-8 arrive as surrogates (aiohttp) or Latin-1 (ASGI);
        # surrogatepass encodes any str, so they simply do not match.
        if not hmac.compare_digest(expected.encode(), given.encode("utf-8", "surrogatepass")):
            return "X-Webhook-Signature does not match"
        return None
