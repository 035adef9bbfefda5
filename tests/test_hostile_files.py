"""The command line against a hostile service and hostile file servers: nothing from the network
reaches the terminal raw, names a file outside --out, replaces another file, or stops the run."""

from __future__ import annotations

import asyncio
import json
import os
import re
import subprocess
import sys
import threading
import unicodedata
from collections.abc import Callable
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from _helpers import on_terminal
from aiohttp import web

from anyint_music.testing._sim_content import file_bytes

pytestmark = pytest.mark.skipif(
    sys.platform == "win32", reason="uses a pseudo-terminal and select() on a pty"
)

TASK_ID = "task\x1b[1m-42"
EVIL = "\ud800\x1b]0;pwned\x07\x1b[31mRed\x9b2J\u202eTitle"
# Two tracks whose titles and id prefixes make the same file name: the second must not
# replace the first. Ids with NUL, separators and escapes; URLs and styles with escapes.
TRACKS: list[dict[str, Any]] = [
    {"id": "\x00../../../evil\x1b[31m", "title": EVIL, "tags": "\x1b[2Jpop", "duration": 120.0},
    {"id": "\x00../../../other", "title": EVIL, "tags": "rock\x07", "duration": 60.0},
]


class Served:
    """An aiohttp app on 127.0.0.1, served from a thread while a CLI subprocess talks to it."""

    def __init__(self, app: web.Application) -> None:
        self.app = app
        self.url = ""
        self._ready = threading.Event()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stop: asyncio.Event | None = None
        self._thread = threading.Thread(target=lambda: asyncio.run(self._serve()), daemon=True)

    async def _serve(self) -> None:
        self._loop, self._stop = asyncio.get_running_loop(), asyncio.Event()
        runner = web.AppRunner(self.app)
        await runner.setup()
        try:
            await web.TCPSite(runner, "127.0.0.1", 0).start()
            self.url = f"http://127.0.0.1:{runner.addresses[0][1]}"
            self._ready.set()
            await self._stop.wait()
        finally:
            await runner.cleanup()

    def __enter__(self) -> Served:
        self._thread.start()
        assert self._ready.wait(15), "the server did not start"
        return self

    def __exit__(self, *exc_info: object) -> None:
        assert self._loop is not None
        assert self._stop is not None
        self._loop.call_soon_threadsafe(self._stop.set)
        self._thread.join(15)


def _files(request: web.Request) -> web.Response:
    # Different bytes per URL, and real media so tagging has something to work on.
    kind = "jpeg" if request.raw_path.endswith(".jpeg") else "mp3"
    key = re.sub(r"[^a-z0-9]", "", request.raw_path.lower())
    body, content_type = file_bytes(f"{key}.{kind}")
    return web.Response(body=body, content_type=content_type)


def hostile_gateway(*, failure: str | None = None, lost: bool = False) -> web.Application:
    """A gateway whose one music task's callbacks carry hostile titles, ids, styles and URLs.

    ``failure``: the task fails with this message. ``lost``: the first track's MP3 is gone.
    """
    background: set[asyncio.Task[None]] = set()

    def tracks(base: str) -> list[dict[str, Any]]:
        return [
            {
                **track,
                "audio_url": f"{base}/{'gone' if lost and n == 0 else 'files'}/"
                f"{n}%2F..%2F..%2F%1B%5B2J{n}.mp3",
                "stream_audio_url": f"{base}/stream/\x1b[2J{n}",
                "image_url": f"{base}/files/{n}.jpeg",
                "prompt": "",
            }
            for n, track in enumerate(TRACKS)
        ]

    async def deliver(url: str, base: str) -> None:
        stages: list[tuple[str, list[dict[str, Any]] | None, int, str]]
        if failure is not None:
            stages = [("error", None, 501, failure)]
        else:
            done = tracks(base)
            text = [{**t, "audio_url": ""} for t in done]
            stages = [
                ("text", text, 200, "ok"),
                ("first", done[:1], 200, "ok"),
                ("complete", done, 200, "ok"),
            ]
        async with aiohttp.ClientSession() as http:
            for stage, items, code, msg in stages:
                body = {
                    "code": code,
                    "msg": msg,
                    "data": {"callbackType": stage, "task_id": TASK_ID, "data": items},
                }
                async with http.post(url, json=body) as resp:
                    assert resp.status == 200, await resp.text()

    async def generate(request: web.Request) -> web.Response:
        body = await request.json()
        task = asyncio.get_running_loop().create_task(
            deliver(body["callBackUrl"], f"http://{request.host}")
        )
        background.add(task)
        task.add_done_callback(background.discard)
        return web.json_response({"code": 200, "msg": "success", "data": {"taskId": TASK_ID}})

    async def files(request: web.Request) -> web.Response:
        return _files(request)

    app = web.Application()
    app.router.add_post("/suno/generate", generate)
    app.router.add_get("/files/{tail:.*}", files)
    return app


def _env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("ANYINT_")}
    env.update(extra)
    return env


def cli(*args: str, env: dict[str, str], cwd: Path) -> subprocess.CompletedProcess[bytes]:
    """``python -m anyint_music ARGS`` with stdout captured as bytes (so: not a terminal)."""
    return subprocess.run(
        [sys.executable, "-m", "anyint_music", *args],
        capture_output=True,
        timeout=30,
        env=env,
        cwd=cwd,
    )


def assert_inert(output: bytes, *, ours: bytes = b"") -> None:
    """No control character, escape sequence or unencodable character from the network."""
    if ours:
        output = output.replace(ours, b"")
    text = output.decode()  # strict: a lone surrogate could not have been encoded
    risky = [
        ch
        for ch in text
        if ch not in "\r\n\t" and unicodedata.category(ch) in ("Cc", "Cf", "Cs", "Zl", "Zp")
    ]
    assert risky == [], text


def assert_plain_names(root: Path) -> list[Path]:
    files = sorted(p for p in root.rglob("*") if p.is_file())
    for path in files:
        assert path.name == path.name.lstrip("."), path
        assert all(unicodedata.category(ch)[0] != "C" for ch in path.name), path
    return files


def test_hostile_titles_and_ids_in_json_lines(tmp_path: Path) -> None:
    with Served(hostile_gateway()) as gateway:
        env = _env(ANYINT_BASE_URL=gateway.url, ANYINT_API_KEY="sk-test")
        done = cli("generate", "anything", "--out", "songs/", env=env, cwd=tmp_path)

    assert done.returncode == 0, done.stderr.decode(errors="replace")
    assert_inert(done.stdout)
    assert_inert(done.stderr)
    seen = [json.loads(line) for line in done.stdout.decode().splitlines()]
    assert seen[0]["task_id"] == TASK_ID  # JSON escapes it, and it decodes back exactly
    final = seen[-1]
    assert final["event"] == "done"
    assert [t["title"] for t in final["tracks"]] == [EVIL, EVIL]
    assert [t["id"] for t in final["tracks"]] == [t["id"] for t in TRACKS]
    saved = assert_plain_names(tmp_path)
    assert all(path.parent == tmp_path / "songs" for path in saved)
    names = [p.name for p in saved]
    assert len([n for n in names if n.endswith(".mp3")]) == 2  # the second did not replace
    assert len([n for n in names if n.endswith(".jpeg")]) == 2
    assert sorted(tmp_path / f for f in final["files"]) == saved
    assert not [e for e in seen if e["event"] == "notice"]  # nothing failed, not even tagging
    id3 = pytest.importorskip("mutagen.id3")
    assert id3.ID3(saved[1])["TIT2"].text == ["?]0;pwned[31mRed2J\u202eTitle"]


def test_hostile_titles_and_ids_on_a_terminal(tmp_path: Path) -> None:
    with Served(hostile_gateway()) as gateway:
        env = _env(ANYINT_BASE_URL=gateway.url, ANYINT_API_KEY="sk-test", TERM="xterm")
        code, output = on_terminal("generate", "anything", "--out", "songs", env=env, cwd=tmp_path)

    assert code == 0, output
    assert_inert(output, ours=b"\r\x1b[K")  # the live line's own redraw is the only escape
    text = output.decode()
    assert "\\ud800\\x1b]0;pwned\\x07\\x1b[31mRed\\x9b2J\\u202eTitle" in text
    assert "task task\\x1b[1m-42" in text
    assert "done           2 tracks" in text
    assert len(list((tmp_path / "songs").glob("*.mp3"))) == 2


def test_a_track_that_cannot_be_saved_does_not_stop_the_others(tmp_path: Path) -> None:
    with Served(hostile_gateway(lost=True)) as gateway:
        env = _env(ANYINT_BASE_URL=gateway.url, ANYINT_API_KEY="sk-test")
        done = cli("generate", "anything", "--out", "songs", env=env, cwd=tmp_path)

    assert done.returncode == 1
    assert_inert(done.stdout)
    assert "1 of 2 tracks could not be saved" in done.stderr.decode()
    seen = [json.loads(line) for line in done.stdout.decode().splitlines()]
    assert [e["message"][:19] for e in seen if e["event"] == "notice"] == ["track 1 not saved: "]
    saved = [p.name for p in assert_plain_names(tmp_path)]
    assert [n.rsplit(".", 1)[1] for n in saved] == ["jpeg", "mp3"]  # track 2, and only it


def test_a_hostile_failure_message_is_shown_escaped(tmp_path: Path) -> None:
    with Served(hostile_gateway(failure="\x1b]0;pwned\x07bad \x9b31m\ud800luck")) as gateway:
        env = _env(ANYINT_BASE_URL=gateway.url, ANYINT_API_KEY="sk-test")
        done = cli("generate", "anything", "--no-download", "--json", env=env, cwd=tmp_path)

    assert done.returncode == 1
    assert_inert(done.stdout)
    assert_inert(done.stderr)
    assert "\\x1b]0;pwned\\x07bad \\x9b31m\\ud800luck" in done.stderr.decode()
    assert json.loads(done.stdout.decode().splitlines()[-1])["event"] == "error"


# --- anyint-music download ---------------------------------------------------------------------


def file_server(handler: Callable[[web.Request], Any]) -> web.Application:
    app = web.Application()
    app.router.add_get("/{tail:.*}", handler)
    return app


async def _any_file(request: web.Request) -> web.Response:
    return _files(request)


def test_download_by_url_keeps_a_hostile_name_inside_out(tmp_path: Path) -> None:
    victim = tmp_path / "victim.mp3"
    victim.write_bytes(b"precious")
    with Served(file_server(_any_file)) as files:
        urls = [
            f"{files.url}/a/..%2Fvictim.mp3",
            f"{files.url}/b/{str(victim).replace('/', '%2F')}",
            f"{files.url}/c/%1B%5D0%3Bpwned%07.mp3",
        ]
        done = cli("download", *urls[:1], "--out", "songs/", env=_env(), cwd=tmp_path)
        more = cli("download", *urls[1:], "--out", "songs", env=_env(), cwd=tmp_path)

    assert done.returncode == 0, done.stderr
    assert more.returncode == 0, more.stderr
    assert victim.read_bytes() == b"precious"
    assert_inert(done.stdout + more.stdout)
    saved = assert_plain_names(tmp_path / "songs")
    # Two different files named victim.mp3 by their URLs: the second takes a free name.
    assert [p.name for p in saved] == ["]0;pwned.mp3", "victim-2.mp3", "victim.mp3"]


def test_download_max_bytes_refuses_a_larger_file(tmp_path: Path) -> None:
    async def chunked(request: web.Request) -> web.StreamResponse:
        response = web.StreamResponse()
        response.enable_chunked_encoding()  # the size is never announced
        await response.prepare(request)
        for _ in range(40):
            await response.write(b"x" * 1000)
        await response.write_eof()
        return response

    app = file_server(_any_file)
    app.router.add_get("/chunked/big.mp3", chunked)
    with Served(app) as files:
        announced = cli(
            "download", f"{files.url}/a.mp3", "--max-bytes", "100", env=_env(), cwd=tmp_path
        )
        streamed = cli(
            "download",
            f"{files.url}/chunked/big.mp3",
            "--max-bytes",
            "30000",
            env=_env(),
            cwd=tmp_path,
        )
        fits = cli(
            "download",
            f"{files.url}/chunked/big.mp3",
            "--max-bytes",
            "40000",
            env=_env(),
            cwd=tmp_path,
        )

    assert announced.returncode == 1
    assert "larger than the limit of 100 bytes" in announced.stderr.decode()
    assert streamed.returncode == 1
    assert "larger than the limit of 30000 bytes" in streamed.stderr.decode()
    assert fits.returncode == 0, fits.stderr
    assert [p.name for p in tmp_path.iterdir()] == ["big.mp3"]
    assert (tmp_path / "big.mp3").stat().st_size == 40000


def test_download_max_bytes_must_be_a_positive_number(tmp_path: Path) -> None:
    done = cli("download", "http://127.0.0.1:9/a.mp3", "--max-bytes", "0", env=_env(), cwd=tmp_path)
    assert done.returncode == 2
    assert "--max-bytes: must be at least 1" in done.stderr.decode()
