"""Helpers shared by the tests: reading what the gateway got, posting as the service."""

from __future__ import annotations

import os
import select
import subprocess
import sys
import time
import tracemalloc
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from anyint_music.testing import FakeGateway

# Where a test saved screenshots; the run's summary names the folder (see conftest.py).
SCREENSHOTS = pytest.StashKey[Path]()


def callback_url(gateway: FakeGateway, index: int = -1) -> str:
    """The callBackUrl of a submit the gateway received (the last one by default)."""
    submits = [
        r for r in gateway.requests if r.method == "POST" and r.json and "callBackUrl" in r.json
    ]
    url = submits[index].json["callBackUrl"]
    assert isinstance(url, str)
    return url


async def post(
    url: str,
    body: Any = None,
    *,
    data: bytes | None = None,
    method: str = "POST",
    headers: dict[str, str] | None = None,
) -> tuple[int, str]:
    """Send one request to ``url`` as the service (or an attacker) would; return status, text."""
    async with (
        aiohttp.ClientSession() as session,
        session.request(
            method, url, json=body if data is None else None, data=data, headers=headers
        ) as resp,
    ):
        return resp.status, await resp.text()


def complete_body(task_id: str, *, prefix: str = "t") -> dict[str, Any]:
    """A wrapped ``complete`` callback with two playable tracks, as the service sends it."""
    tracks = [
        {
            "id": f"{prefix}{n}-{task_id[:8]}",
            "audio_url": f"https://files.example.test/{prefix}{n}.mp3",
            "stream_audio_url": f"https://files.example.test/stream/{prefix}{n}",
            "image_url": f"https://files.example.test/{prefix}{n}.jpeg",
            "title": "T",
            "tags": "pop",
            "duration": 120.5,
        }
        for n in (1, 2)
    ]
    return {
        "code": 200,
        "msg": "ok",
        "data": {"callbackType": "complete", "task_id": task_id, "data": tracks},
    }


# asyncio keeps up to 255 freed await iterators (40 B each) for reuse. Which of them tracemalloc
# counts depends on earlier tests; it counts them where they were made: at an SDK await.
FUTURE_ITER_FREE_LIST = 255 * 40


def sdk_growth(
    base: tracemalloc.Snapshot, after: tracemalloc.Snapshot, key: str = "lineno"
) -> list[tracemalloc.StatisticDiff]:
    """What the client's own code allocated between two snapshots and still holds (the
    simulator keeps every task it made, by design, so it is left out)."""
    return [
        s
        for s in after.compare_to(base, key)
        if "anyint_music" in str(s.traceback) and "testing" not in str(s.traceback)
    ]


def on_terminal(
    *args: str, env: dict[str, str], cwd: Path | None = None, seconds: float = 30
) -> tuple[int, bytes]:
    """``python -m anyint_music ARGS`` on a pseudo-terminal; its exit code and every byte."""
    primary, secondary = os.openpty()
    proc = subprocess.Popen(
        [sys.executable, "-m", "anyint_music", *args],
        stdin=secondary,
        stdout=secondary,
        stderr=secondary,
        env=env,
        cwd=cwd,
    )
    os.close(secondary)
    output = b""
    deadline = time.monotonic() + seconds
    try:
        while time.monotonic() < deadline:
            ready, _, _ = select.select([primary], [], [], 0.5)
            if not ready:
                continue
            try:
                chunk = os.read(primary, 4096)
            except OSError:  # EIO: the child closed the terminal
                break
            if not chunk:
                break
            output += chunk
        code = proc.wait(timeout=5)
    finally:
        os.close(primary)
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    return code, output
