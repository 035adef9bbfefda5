"""Graceful shutdown: stop accepting, finish in-flight callbacks, persist them, fail the rest."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from pathlib import Path

import pytest
from _helpers import callback_url, complete_body, post

from anyint_music import AnyIntMusic, Model, ReceiverClosedError, TaskEvent
from anyint_music.stores import SQLiteStore
from anyint_music.testing import FakeGateway

ROOT = Path(__file__).resolve().parent.parent


class SlowStore(SQLiteStore):
    """A real SQLite store whose event writes take a while, so one is in flight at close."""

    def __init__(self, path: Path) -> None:
        super().__init__(path)
        self.writing = asyncio.Event()

    async def add_event(self, token: str, event: TaskEvent) -> bool:
        self.writing.set()
        await asyncio.sleep(0.3)
        return await super().add_event(token, event)


async def test_close_finishes_in_flight_callbacks_and_fails_the_rest(
    quiet_gateway: FakeGateway, tmp_path: Path
) -> None:
    store = SlowStore(tmp_path / "tasks.db")
    client = AnyIntMusic(api_key=quiet_gateway.api_key, base_url=quiet_gateway.url, store=store)
    await client.open()
    finishing = await client.submit_generate("in flight at close", model=Model.V5)
    url = callback_url(quiet_gateway)
    waiting = await client.submit_generate("never called back", model=Model.V5)
    body = complete_body(finishing.id)
    delivery = asyncio.ensure_future(post(url, body))
    await store.writing.wait()
    await client.aclose()
    assert (await delivery)[0] == 200
    assert len((await finishing).tracks) == 2
    with pytest.raises(ReceiverClosedError):
        await waiting
    with pytest.raises(OSError):  # noqa: PT011 - any refusal to connect is the point
        await post(url, body)
    reopened = SQLiteStore(tmp_path / "tasks.db")
    await reopened.open()
    try:
        record = await reopened.load_task(finishing.id)
    finally:
        await reopened.close()
    assert record is not None
    assert record.finished


@pytest.mark.skipif(sys.platform == "win32", reason="POSIX signals")
async def test_example_worker_stops_cleanly_on_sigterm(tmp_path: Path) -> None:
    async with FakeGateway(drop_callbacks=True) as gw:
        env = {**os.environ, "ANYINT_API_KEY": gw.api_key, "ANYINT_BASE_URL": gw.url}
        proc = await asyncio.create_subprocess_exec(
            sys.executable,
            str(ROOT / "examples" / "worker.py"),
            "--store",
            str(tmp_path / "worker.db"),
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.STDOUT,
            env=env,
        )
        assert proc.stdin is not None
        assert proc.stdout is not None
        proc.stdin.write(b"a song that will not finish\n")
        await proc.stdin.drain()
        async with asyncio.timeout(20):
            while b"submitted" not in await proc.stdout.readline():
                pass
            proc.send_signal(signal.SIGTERM)
            output = (await proc.stdout.read()).decode()
            code = await proc.wait()
    assert code == 0, output
    assert "shutting down" in output
    assert "Traceback" not in output
