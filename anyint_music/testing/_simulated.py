"""A client bound to a private simulator, for demos, examples and quick experiments."""

from __future__ import annotations

import contextlib
import os
from collections.abc import AsyncIterator
from typing import Any

from .._client import AnyIntMusic
from ._gateway import FakeGateway


@contextlib.asynccontextmanager
async def simulated_client(**gateway_options: Any) -> AsyncIterator[AnyIntMusic]:
    """An open :class:`AnyIntMusic` talking to a fresh :class:`FakeGateway`; both closed on exit.

    Args:
        gateway_options: passed to ``FakeGateway`` (e.g. ``stage_delay=0.5``).
    """
    async with (
        FakeGateway(**gateway_options) as gateway,
        AnyIntMusic(api_key=gateway.api_key, base_url=gateway.url) as client,
    ):
        yield client


def client_from_env(**gateway_options: Any) -> contextlib.AbstractAsyncContextManager[AnyIntMusic]:
    """The real service when ``ANYINT_API_KEY`` is set, else :func:`simulated_client`.

    Use as ``async with client_from_env() as client:``.
    """
    if os.environ.get("ANYINT_API_KEY"):
        return AnyIntMusic()
    return simulated_client(**gateway_options)
