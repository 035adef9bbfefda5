"""``anyint-music simulate``: the simulator as a standalone server, for apps in any language,
with its inspector (a live page of the tasks and their callbacks) at its own address."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import signal

from ._cli_output import CommandError, Output
from ._settings import is_loopback
from .testing import FakeGateway


async def simulate(args: argparse.Namespace, out: Output) -> None:
    """Serve a :class:`FakeGateway` until SIGINT or SIGTERM, showing what it receives."""
    gateway = FakeGateway(
        api_key=args.api_key,
        host=args.host,
        port=args.port,
        stage_delay=args.stage_delay,
        inspector=True,
    )
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    handled: list[signal.Signals] = []
    for sig in (signal.SIGINT, signal.SIGTERM):
        # Not on Windows: there Ctrl-C arrives as KeyboardInterrupt, which main() also treats
        # as a clean stop for this command.
        with contextlib.suppress(NotImplementedError, ValueError, RuntimeError):
            loop.add_signal_handler(sig, stop.set)
            handled.append(sig)
    try:
        try:
            await gateway.start()
        except OSError as exc:
            reason = exc.strerror or str(exc)
            raise CommandError(
                f"cannot listen on {args.host}:{args.port}: {reason}; choose another --port"
            ) from exc
        if args.fail_tasks:
            gateway.fail_tasks(times=args.fail_tasks)
        _announce(gateway, out, args.fail_tasks)
        watcher = loop.create_task(_watch(gateway, out))
        try:
            await stop.wait()
        finally:
            watcher.cancel()
            await asyncio.gather(watcher, return_exceptions=True)
    finally:
        for sig in handled:
            loop.remove_signal_handler(sig)
        await gateway.close()
    out.emit("stopped", "stopped")


def _announce(gateway: FakeGateway, out: Output, failing: int) -> None:
    inspector = f"{gateway.url}/"
    out.emit("listening", None, url=gateway.url, api_key=gateway.api_key, inspector=inspector)
    out.say(f"AnyInt simulator listening on {gateway.url}   (Ctrl-C to stop)")
    out.say(f"Inspector: {inspector}   (open it in a browser: tasks, callbacks, knobs)")
    out.say("Point any client at it:")
    out.say(f"  export ANYINT_BASE_URL={gateway.url}")
    out.say(f"  export ANYINT_API_KEY={gateway.api_key}")
    if not is_loopback(gateway.url):
        out.say("It sends callbacks to whatever callBackUrl a request names.")
    if failing:
        out.say(f"The next {failing} task(s) will fail, as the service reports failures.")
    out.say()


async def _watch(gateway: FakeGateway, out: Output) -> None:
    """Show requests and callback deliveries as they happen (and forget them: bounded memory)."""
    while True:
        await asyncio.sleep(0.05)  # often enough that requests and callbacks show in order
        requests = gateway.requests[:]
        del gateway.requests[: len(requests)]
        for request in requests:
            out.emit(
                "request",
                f"{request.method:<5} {request.path}",
                method=request.method,
                path=request.path,
            )
        callbacks = gateway.callbacks[:]
        del gateway.callbacks[: len(callbacks)]
        for sent in callbacks:
            answer = str(sent.status) if sent.status is not None else (sent.error or "failed")
            out.emit(
                "callback",
                f"callback {sent.stage:<8} task {sent.task_id} -> {answer}",
                task_id=sent.task_id,
                stage=sent.stage,
                url=sent.url,
                status=sent.status,
            )
