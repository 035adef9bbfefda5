"""Shared helpers. The fixtures ``anyint_gateway`` and ``anyint_client`` come from the package's
own pytest plugin, so these tests use it exactly as users do."""

from __future__ import annotations

import signal
from collections.abc import Iterator

import pytest
from _helpers import SCREENSHOTS
from _redis_server import RedisServer

from anyint_music.testing import FakeGateway

# A shell starts a command run with `&` with SIGINT ignored, and an ignored signal stays
# ignored in every child: the CLI processes the Ctrl-C tests interrupt would never see it. A
# handled signal is reset to the default in a child, which is what a terminal gives.
if signal.getsignal(signal.SIGINT) is signal.SIG_IGN:
    signal.signal(signal.SIGINT, signal.default_int_handler)

pytest_plugins = ["pytester"]


@pytest.fixture
def quiet_gateway(anyint_gateway: FakeGateway) -> FakeGateway:
    """The gateway with callbacks switched off: the test delivers them by hand."""
    anyint_gateway.drop_callbacks = True
    return anyint_gateway


@pytest.fixture(scope="session")
def redis_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RedisServer]:
    """A real redis-server for the whole run; tests use their own key prefix."""
    server = RedisServer(tmp_path_factory.mktemp("redis"))
    server.start()
    yield server
    server.stop()


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    folder = terminalreporter.config.stash.get(SCREENSHOTS, None)
    if folder is not None:
        terminalreporter.write_line(f"browser screenshots: {folder}")
