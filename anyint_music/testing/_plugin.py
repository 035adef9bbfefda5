"""pytest fixtures for testing code that uses anyint-music (registered through ``pytest11``).

``anyint_gateway`` is a started :class:`FakeGateway`; ``anyint_client`` is an open
:class:`AnyIntMusic` pointed at it. Both are closed after the test. Configure the gateway in the
test itself (``anyint_gateway.fail_tasks(...)``, ``anyint_gateway.stage_delay = 0.1``), or
override the ``anyint_gateway_options`` fixture to pass constructor options. The fixtures are
async, so the test run needs an asyncio plugin such as pytest-asyncio.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from typing import Any, TypeVar, cast

import pytest

from .._client import AnyIntMusic
from ._gateway import FakeGateway

F = TypeVar("F", bound=Callable[..., Any])


def _async_fixture(fn: F) -> F:
    # The plugin loads in every pytest run of an environment that has this package, so a
    # missing pytest-asyncio must not break those runs; only these fixtures need it.
    try:
        import pytest_asyncio
    except ImportError:  # pragma: no cover - then the user's own async plugin must run them
        return cast(F, pytest.fixture(fn))
    return cast(F, pytest_asyncio.fixture(fn))


@pytest.fixture
def anyint_gateway_options() -> dict[str, Any]:
    """Keyword arguments for the ``anyint_gateway`` FakeGateway; override to change them."""
    return {}


@_async_fixture
async def anyint_gateway(anyint_gateway_options: dict[str, Any]) -> AsyncIterator[FakeGateway]:
    """A running FakeGateway on 127.0.0.1, closed after the test."""
    async with FakeGateway(**anyint_gateway_options) as gateway:
        yield gateway


@_async_fixture
async def anyint_client(anyint_gateway: FakeGateway) -> AsyncIterator[AnyIntMusic]:
    """An open AnyIntMusic client talking to ``anyint_gateway``, closed after the test."""
    async with AnyIntMusic(
        api_key=anyint_gateway.api_key,
        base_url=anyint_gateway.url,
        timeout=30.0,
        poll_interval=1.0,
        retry_backoff=0.01,  # retries still happen, but a test does not sit through backoffs
    ) as client:
        yield client
