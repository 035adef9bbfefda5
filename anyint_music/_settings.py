"""The client's settings: its arguments and the environment, read and checked in one place."""

from __future__ import annotations

import ipaddress
import os
import ssl
from collections.abc import Callable, Sequence
from typing import Any
from urllib.parse import urlsplit

import attrs

from ._models import TaskEvent
from ._retry import RetryPolicy
from .errors import ConfigurationError
from .stores import TaskStore

DEFAULT_BASE_URL = "https://gateway.api.anyint.ai"


def is_http_url(url: object) -> bool:
    """Whether ``url`` is an http(s) URL with a host."""
    if not isinstance(url, str):
        return False
    parts = urlsplit(url)
    return parts.scheme in ("http", "https") and bool(parts.hostname)


def is_loopback(url: str) -> bool:
    """Whether ``url``'s host is this machine."""
    host = urlsplit(url).hostname or ""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _positive(**values: float) -> None:
    for name, value in values.items():
        if not value > 0:
            raise ConfigurationError(f"{name} must be a positive number of seconds, got {value!r}")


def _whole(name: str, value: object) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ConfigurationError(f"{name} must be an integer >= 1, got {value!r}")


@attrs.frozen(kw_only=True)
class Settings:
    """Every setting of one client, checked. See ``AnyIntMusic`` for what each one means."""

    api_key: str
    base_url: str
    public_url: str | None
    callback_host: str
    callback_port: int
    timeout: float
    poll_interval: float | None
    poll_concurrency: int
    http_timeout: float
    max_callback_bytes: int
    retry: RetryPolicy
    rate_limit: tuple[int, float] | None
    store: TaskStore | None
    retention: float
    max_task_age: float
    receiver: bool
    ssl_context: ssl.SSLContext | None
    callback_socket: str | None
    callback_max_connections: int | None
    callback_read_timeout: float
    trusted_proxies: Sequence[str]
    allowed_ips: Sequence[str] | None
    hmac_key: bytes | None
    hmac_tolerance: float
    on_event: Callable[[TaskEvent], object] | None

    @classmethod
    def read(
        cls,
        *,
        api_key: str | None,
        base_url: str | None,
        public_url: str | None,
        max_attempts: int,
        retry_backoff: float,
        retry_max_time: float,
        retry: RetryPolicy | None,
        hmac_key: str | bytes | None,
        **rest: Any,
    ) -> Settings:
        """The settings of these arguments, with the environment's defaults; or
        ``ConfigurationError`` naming the argument and what it accepts."""
        key = api_key if api_key is not None else os.environ.get("ANYINT_API_KEY")
        if not key:
            raise ConfigurationError(
                "no API key: pass AnyIntMusic(api_key=...) or set ANYINT_API_KEY. To try the SDK "
                "without one, run the simulator: anyint_music.testing.FakeGateway"
            )
        base = (base_url or os.environ.get("ANYINT_BASE_URL") or DEFAULT_BASE_URL).rstrip("/")
        public = public_url or os.environ.get("ANYINT_PUBLIC_URL")
        for name, url in (("base_url", base), ("public_url", public)):
            if url is not None and not is_http_url(url):
                raise ConfigurationError(
                    f"{name}={url!r} is not an http(s) URL with a host, e.g. https://example.com"
                )
        if retry is None:
            _whole("max_attempts", max_attempts)
            if not retry_backoff >= 0 or not retry_max_time >= 0:
                raise ConfigurationError("retry_backoff and retry_max_time must not be negative")
            retry = RetryPolicy(
                max_attempts=max_attempts,
                backoff=retry_backoff,
                max_backoff=max(30.0, retry_backoff),
                max_time=retry_max_time,
            )
        elif (max_attempts, retry_backoff, retry_max_time) != (5, 0.5, 120.0):
            raise ConfigurationError(
                "pass either retry=RetryPolicy(...) or max_attempts/retry_backoff/"
                "retry_max_time, not both"
            )
        _positive(timeout=rest["timeout"], http_timeout=rest["http_timeout"])
        rest["timeout"] = float(rest["timeout"])
        settings = cls(
            api_key=key,
            base_url=base,
            public_url=public,
            retry=retry,
            hmac_key=hmac_key.encode() if isinstance(hmac_key, str) else hmac_key,
            **rest,
        )
        settings._check()
        return settings

    def _check(self) -> None:
        limit = self.rate_limit
        if limit is not None and not (
            len(limit) == 2 and int(limit[0]) >= 1 and float(limit[1]) > 0
        ):
            raise ConfigurationError(
                f"rate_limit must be (count >= 1, seconds > 0), e.g. (20, 10.0); got {limit!r}"
            )
        if self.poll_interval is not None and not self.poll_interval > 0:
            raise ConfigurationError(
                f"poll_interval must be positive or None, got {self.poll_interval!r}"
            )
        _whole("poll_concurrency", self.poll_concurrency)
        for name, value in (("retention", self.retention), ("max_task_age", self.max_task_age)):
            if not value > 0:
                raise ConfigurationError(f"{name} must be a positive number of seconds")
        if (not self.receiver or self.callback_socket is not None) and not self.public_url:
            raise ConfigurationError(
                "public_url is required when the receiver is mounted in your own app or "
                "served on a Unix socket: the address at which the service reaches it"
            )
        if not self.hmac_tolerance > 0:
            raise ConfigurationError("hmac_tolerance must be a positive number of seconds")
