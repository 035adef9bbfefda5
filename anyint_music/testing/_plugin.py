"""pytest fixtures for testing code that uses anyint-music (registered through ``pytest11``).

``anyint_gateway`` is a started :class:`FakeGateway`; ``anyint_client`` is an open
:class:`AnyIntMusic` pointed at it. Both are closed after the test. The fixtures are async and
run on pytest-asyncio (``pip install 'anyint-music[testing]'``).

No configuration is needed: in pytest-asyncio's strict mode (its default) the plugin marks each
``async def`` test that uses ``anyint_gateway`` or ``anyint_client`` (directly or through another
fixture) with ``pytest.mark.asyncio``, as if the test had been written with the mark. Tests that
already carry an ``asyncio``, ``anyio`` or ``trio`` mark, tests that use none of these fixtures
and every test in auto mode are left to pytest-asyncio as they are.

Knobs per test: ``@pytest.mark.anyint(stage_delay=0.1, skip_stages=True)`` passes
:class:`FakeGateway` keyword arguments for that test (on a class or as a module's ``pytestmark``
for all of its tests; the closest mark wins per knob, over the ``anyint_gateway_options``
fixture, which may be overridden too); ``@pytest.mark.anyint(inspector=True)`` serves the
simulator's live inspector page at ``anyint_gateway.url + "/"`` (handy while a test is stopped in
a debugger) and its ``/_sim/`` JSON API. Failures are injected in the test itself
(``anyint_gateway.fail_tasks(...)``), and what the simulator saw is on the gateway
(``requests``, ``callbacks``, ``uploads``, ``tasks``, ``stats``). When a test that used the
gateway fails, its report gets a "Captured anyint simulator" section: the requests received,
each callback delivery with the receiver's answer, and the tasks.
"""

from __future__ import annotations

import inspect
import json
import warnings
from collections.abc import AsyncIterator, Callable, Generator, Sequence
from typing import Any, TypeVar, cast

import pytest

from .._client import AnyIntMusic
from ._gateway import FakeGateway

F = TypeVar("F", bound=Callable[..., Any])

_ASYNC_FIXTURES = frozenset({"anyint_gateway", "anyint_client"})
# Marks of async test runners: a test with one of them is run by that runner, never marked here.
_RUNNER_MARKS = ("asyncio", "anyio", "trio")
_KNOBS = frozenset(inspect.signature(FakeGateway).parameters)
_SHOWN = 25  # records of each kind in the failure report; the rest are counted
_BODY_CHARS = 300


def _async_fixture(fn: F) -> F:
    # The plugin loads in every pytest run of an environment that has this package, so a
    # missing pytest-asyncio must not break those runs; only these fixtures need it.
    try:
        import pytest_asyncio
    except ImportError:  # pragma: no cover - then the user's own async plugin must run them
        return cast(F, pytest.fixture(fn))
    return cast(F, pytest_asyncio.fixture(fn))


# -- configuration ---------------------------------------------------------------------------


def _asyncio_mode(config: pytest.Config) -> str | None:
    """pytest-asyncio's mode (``"strict"``/``"auto"``), or ``None`` when it is not installed."""
    try:
        ini = config.getini("asyncio_mode")
    except ValueError:  # the ini option is unknown: pytest-asyncio is not loaded
        return None
    option = config.getoption("asyncio_mode", None)
    return str(option or ini)


def _asyncio_unconfigured(config: pytest.Config) -> bool:
    """Whether the run has no pytest configuration at all that could set up pytest-asyncio."""
    overrides = config.getoption("override_ini", None) or ()
    return (
        config.inipath is None
        and config.getoption("asyncio_mode", None) is None
        and not any(str(line).startswith("asyncio_") for line in overrides)
    )


@pytest.hookimpl(tryfirst=True)  # before pytest-asyncio's own pytest_configure
def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        "anyint(**knobs): FakeGateway keyword arguments for the anyint_gateway of these tests "
        "(e.g. stage_delay=0.1, skip_stages=True); the closest mark wins per knob.",
    )
    if _asyncio_mode(config) is not None and _asyncio_unconfigured(config):
        # A project with no pytest configuration at all (the README's three-line test) would
        # open every run with pytest-asyncio's note that its fixture loop scope is unset. That
        # note is about the project's own async fixtures, whose loop stays exactly as it was;
        # ours are function-scoped either way. A project with a configuration file keeps it.
        warnings.filterwarnings(
            "ignore",
            message='The configuration option "asyncio_default_fixture_loop_scope" is unset',
            category=pytest.PytestDeprecationWarning,
        )


# -- marking the tests that use the fixtures -------------------------------------------------


def _is_async_test(item: pytest.Function) -> bool:
    obj = item.obj
    inner = getattr(getattr(obj, "hypothesis", None), "inner_test", None)  # @given on async def
    return inspect.iscoroutinefunction(obj) or inspect.iscoroutinefunction(inner)


def _needs_asyncio_mark(item: pytest.Function) -> bool:
    return (
        not _ASYNC_FIXTURES.isdisjoint(item.fixturenames)  # the closure: fixtures of fixtures too
        and _is_async_test(item)
        and not any(item.get_closest_marker(name) for name in _RUNNER_MARKS)
    )


# pytest-asyncio decides whether a test is an asyncio test while the test item is made, so a
# mark added later, in pytest_collection_modifyitems, comes too late. It looks twice, and the
# plugin marks before each look, as if the mark had been written on the test:
# - in pytest_generate_tests (tryfirst), on the test's definition, to parametrize it over the
#   loop factories of a `pytest_asyncio_loop_factories` hook. A wrapper's first half runs
#   before every plain implementation, tryfirst ones included.
# - in its pytest_pycollect_makeitem wrapper, which turns marked coroutine items into its own
#   item class. The wrapper below is `trylast`, hence inside pytest-asyncio's: it sees the new
#   items (they do not inherit the definition's marks) first.
# The fixture closure (fixtures of fixtures too) is known at both points.
@pytest.hookimpl(wrapper=True)
def pytest_generate_tests(metafunc: pytest.Metafunc) -> Generator[None, None, None]:
    definition = metafunc.definition
    if _asyncio_mode(metafunc.config) == "strict" and _needs_asyncio_mark(definition):
        definition.add_marker(pytest.mark.asyncio)
    return (yield)


@pytest.hookimpl(wrapper=True, trylast=True)
def pytest_pycollect_makeitem(
    collector: pytest.Module | pytest.Class, name: str, obj: object
) -> Generator[None, object, object]:
    result = yield
    if _asyncio_mode(collector.config) != "strict":
        return result  # auto mode marks every async test itself; without pytest-asyncio, none
    items = result if isinstance(result, Sequence) else (result,)
    for item in items:
        if isinstance(item, pytest.Function) and _needs_asyncio_mark(item):
            item.add_marker(pytest.mark.asyncio)
    return result


# -- the fixtures ----------------------------------------------------------------------------


@pytest.fixture
def anyint_gateway_options() -> dict[str, Any]:
    """Keyword arguments for the ``anyint_gateway`` FakeGateway; override to change them.

    ``@pytest.mark.anyint(...)`` on a test, class or module adds to them (and wins).
    """
    return {}


def _marked_options(node: pytest.Item) -> dict[str, Any]:
    options: dict[str, Any] = {}
    marks = list(node.iter_markers("anyint"))  # closest first: function, class, module
    for mark in reversed(marks):
        if mark.args:
            pytest.fail(
                f"@pytest.mark.anyint takes FakeGateway knobs as keywords only, not {mark.args!r}",
                pytrace=False,
            )
        unknown = sorted(set(mark.kwargs) - _KNOBS)
        if unknown:
            pytest.fail(
                f"@pytest.mark.anyint: unknown FakeGateway knob(s) {', '.join(unknown)}; "
                f"the knobs are {', '.join(sorted(_KNOBS))}",
                pytrace=False,
            )
        options.update(mark.kwargs)
    return options


@_async_fixture
async def anyint_gateway(
    request: pytest.FixtureRequest, anyint_gateway_options: dict[str, Any]
) -> AsyncIterator[FakeGateway]:
    """A running FakeGateway on 127.0.0.1, closed after the test.

    Its options: ``anyint_gateway_options``, then the ``@pytest.mark.anyint`` marks.
    """
    options = {**anyint_gateway_options, **_marked_options(request.node)}
    async with FakeGateway(**options) as gateway:
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


# -- what the simulator saw, in the report of a failed test ----------------------------------


def _short(value: object, limit: int = _BODY_CHARS) -> str:
    text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _tail(lines: list[str], what: str) -> list[str]:
    if len(lines) <= _SHOWN:
        return lines
    return [f"  ... {len(lines) - _SHOWN} earlier {what} not shown", *lines[-_SHOWN:]]


def _count(n: int, what: str) -> str:
    return f"{n} {what}" if n == 1 else f"{n} {what}s"


def transcript(gateway: FakeGateway) -> str:
    """What `gateway` received and sent so far, as text for a test report."""
    stats = gateway.stats
    out = [
        f"{_count(len(gateway.requests), 'request')} received, "
        f"{_count(stats.callbacks_sent, 'callback')} sent "
        f"({stats.callbacks_ok} answered 200), {_count(stats.tasks_created, 'task')} created"
        + ("" if gateway.record else " (record=False: requests and callbacks not kept)")
    ]
    requests = []
    for r in gateway.requests:
        query = "?" + "&".join(f"{k}={v}" for k, v in r.query.items()) if r.query else ""
        body = f"  {_short(r.json if r.json is not None else r.text)}" if r.text else ""
        requests.append(f"  {r.method} {r.path}{query}{body}")
    if requests:
        out += ["requests received:", *_tail(requests, "requests")]
    callbacks = []
    for c in gateway.callbacks:
        answer = str(c.status) if c.status is not None else f"nothing ({c.error})"
        again = (f", attempt {c.attempt}" if c.attempt > 1 else "") + (
            f", copy {c.copy}" if c.copy else ""
        )
        callbacks.append(f"  {c.stage:<8} task {c.task_id}{again}: receiver answered {answer}")
    if callbacks:
        out += ["callbacks sent, with the receiver's answers:", *_tail(callbacks, "callbacks")]
    uploads = [
        f"  GET {u.url}: {u.status} ({u.size} bytes){f', {u.error}' if u.error else ''}"
        for u in gateway.uploads
    ]
    if uploads:
        out += ["uploadUrl fetches:", *_tail(uploads, "fetches")]
    tasks = []
    for t in gateway.tasks:
        failure = f" (code {t.error_code}: {t.error_message})" if t.error_code is not None else ""
        tasks.append(f"  {t.id} {t.route} {t.status}{failure}")
    if tasks:
        out += ["tasks:", *_tail(tasks, "tasks")]
    return "\n".join(out) + "\n"


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    report = yield
    gateway = getattr(item, "funcargs", {}).get("anyint_gateway")
    if (
        report.failed
        and call.when in ("setup", "call")
        and isinstance(gateway, FakeGateway)  # in funcargs only once it was started
    ):
        report.sections.append((f"Captured anyint simulator {call.when}", transcript(gateway)))
    return report
