"""``anyint-music doctor``: one line per check (key, gateway, clock, callbacks) with what to do
when it fails, driven as a user would: subprocesses against the simulator, and tiny servers
standing for a user's app, tunnel or gateway."""

from __future__ import annotations

import asyncio
import contextlib
import email.utils
import socket
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest
from _helpers import on_terminal
from _redis_server import free_port
from aiohttp import web
from test_cli import _env, cli, events, one_line_error, simulator

pytestmark = pytest.mark.skipif(
    sys.platform == "win32", reason="uses a pseudo-terminal, select() on pipes and POSIX signals"
)


def checks(stdout: str) -> dict[str, dict[str, Any]]:
    """The check events of a doctor run, by name."""
    return {e["check"]: e for e in events(stdout) if e["event"] == "check"}


async def doctor(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    """``anyint-music doctor ARGS`` while this test's own servers keep serving."""
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "anyint_music",
        "doctor",
        *args,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=env,
    )
    try:
        out, err = await asyncio.wait_for(proc.communicate(), 30)
    finally:
        if proc.returncode is None:
            proc.kill()
            await proc.wait()
    assert proc.returncode is not None
    return subprocess.CompletedProcess(
        ["doctor", *args], proc.returncode, out.decode(), err.decode()
    )


@contextlib.asynccontextmanager
async def serving(app: web.Application) -> AsyncIterator[str]:
    """``app`` on a free port of 127.0.0.1; its base URL."""
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    try:
        yield f"http://127.0.0.1:{runner.addresses[0][1]}"
    finally:
        await runner.cleanup()


@contextlib.contextmanager
def occupied_port() -> Iterator[int]:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen(1)
        yield taken.getsockname()[1]


# --- passing ------------------------------------------------------------------------------------


def test_every_check_passes_under_simulate() -> None:
    done = cli("doctor", "--simulate")

    assert done.returncode == 0, done.stderr
    assert done.stderr == ""
    seen = checks(done.stdout)
    assert list(seen) == ["gateway", "api key", "clock", "callbacks"]
    assert {c["status"] for c in seen.values()} == {"ok"}
    assert "no public URL needed" in seen["callbacks"]["message"]
    final = events(done.stdout)[-1]
    assert (final["event"], final["checks"], final["warnings"]) == ("done", 4, 0)


def test_on_a_terminal_one_line_per_check() -> None:
    code, output = on_terminal("doctor", "--simulate", env=_env(TERM="xterm"), seconds=20)
    text = output.decode(errors="replace")

    assert code == 0, text
    assert "{" not in text
    for line in ("ok    gateway    ", "ok    api key    accepted", "ok    clock      within"):
        assert line in text
    assert "ok    callbacks  the gateway runs on this machine" in text
    assert "all 4 checks passed" in text


def test_against_a_simulate_server_a_wrong_key_fails_with_its_hint() -> None:
    with simulator("--api-key", "sk-the-right-one") as sim:
        right = cli("doctor", env=sim.env)
        wrong = cli("doctor", env={**sim.env, "ANYINT_API_KEY": "sk-a-wrong-one"})
        unset = cli("doctor", env={k: v for k, v in sim.env.items() if k != "ANYINT_API_KEY"})

    assert right.returncode == 0, right.stderr
    assert {c["status"] for c in checks(right.stdout).values()} == {"ok"}

    assert wrong.returncode == 1
    assert one_line_error(wrong) == "error: 1 of 4 checks failed: api key"
    key = checks(wrong.stdout)["api key"]
    assert key["status"] == "fail"
    assert "Invalid API key" in key["message"]
    assert "HTTP 401" in key["message"]
    assert "ANYINT_API_KEY" in key["fix"]
    assert checks(wrong.stdout)["gateway"]["status"] == "ok"  # it did answer

    assert unset.returncode == 1  # doctor runs without a key, and says what is missing
    assert checks(unset.stdout)["api key"]["message"] == "ANYINT_API_KEY is not set"
    assert "--simulate" in checks(unset.stdout)["api key"]["fix"]


# --- callbacks ----------------------------------------------------------------------------------


async def test_a_public_url_to_an_app_without_the_mount_names_the_404_and_the_mount() -> None:
    asked: list[str] = []

    async def home(request: web.Request) -> web.Response:
        return web.Response(text="the user's own app")

    @web.middleware
    async def record(request: web.Request, handler: Any) -> web.StreamResponse:
        asked.append(request.path)
        response: web.StreamResponse = await handler(request)
        return response

    app = web.Application(middlewares=[record])
    app.router.add_get("/", home)  # and nothing at /anyint/callbacks
    port = free_port()
    async with serving(app) as url:
        done = await doctor(
            "--simulate", "--public-url", url, "--callback-port", str(port), env=_env()
        )

    assert done.returncode == 1, done.stderr
    assert one_line_error(done) == "error: 1 of 4 checks failed: callbacks"
    callbacks = checks(done.stdout)["callbacks"]
    assert callbacks["status"] == "fail"
    assert "answered 404" in callbacks["message"]
    assert "app.mount('/anyint/callbacks', client.asgi_app())" in callbacks["message"]
    assert f"127.0.0.1:{port}" in callbacks["fix"]  # where the tunnel must lead
    assert len(asked) == 1
    assert asked[0].startswith("/anyint/callbacks/probe/")


def test_a_refused_port_says_start_the_tunnel_and_pin_the_port() -> None:
    closed = free_port()  # nothing listens there
    done = cli("doctor", "--simulate", "--public-url", f"http://127.0.0.1:{closed}")

    assert done.returncode == 1
    callbacks = checks(done.stdout)["callbacks"]
    assert callbacks["status"] == "fail"
    assert "could not connect" in callbacks["message"]
    assert "Start the tunnel" in callbacks["message"]
    assert "--callback-port" in callbacks["fix"]  # a free port picked per run: no tunnel knows it


def test_a_public_url_that_leads_to_the_receiver_passes() -> None:
    port = free_port()
    public = f"http://localhost:{port}"  # standing in for a tunnel to the pinned port
    done = cli("doctor", "--simulate", "--public-url", public, "--callback-port", str(port))

    assert done.returncode == 0, done.stderr
    callbacks = checks(done.stdout)["callbacks"]
    assert callbacks["message"] == f"a probe through {public} reached this command's receiver"


def test_a_port_in_use_is_a_failed_check() -> None:
    with occupied_port() as port:
        done = cli("doctor", "--simulate", "--callback-port", str(port))

    assert done.returncode == 1
    callbacks = checks(done.stdout)["callbacks"]
    assert f"cannot listen on 127.0.0.1:{port}" in callbacks["message"]
    assert "--callback-port" in callbacks["fix"]


# --- the gateway and its clock ------------------------------------------------------------------


async def test_a_gateway_clock_two_minutes_off_warns_and_a_foreign_server_fails() -> None:
    async def query(request: web.Request) -> web.Response:
        stamp = email.utils.formatdate(time.time() - 120, usegmt=True)
        body = {"code": 404, "msg": f"Task {request.query['taskId']} not found.", "data": None}
        return web.json_response(body, headers={"Date": stamp})

    app = web.Application()
    app.router.add_get("/skewed/suno/query/task", query)
    async with serving(app) as url:
        skewed, foreign = await asyncio.gather(
            doctor(env=_env(ANYINT_BASE_URL=f"{url}/skewed", ANYINT_API_KEY="sk-x")),
            doctor(env=_env(ANYINT_BASE_URL=f"{url}/elsewhere", ANYINT_API_KEY="sk-x")),
        )

    assert skewed.returncode == 0, skewed.stderr  # a warning is not a failure
    clock = checks(skewed.stdout)["clock"]
    assert clock["status"] == "warn"
    assert "s ahead of the gateway's" in clock["message"]
    assert 115 <= -clock["skew_s"] <= 125
    assert "time sync" in clock["fix"]
    assert checks(skewed.stdout)["api key"]["status"] == "ok"  # the 404 of a made-up task
    assert events(skewed.stdout)[-1]["warnings"] == 1

    assert foreign.returncode == 1
    gateway = checks(foreign.stdout)["gateway"]
    assert "not as AnyInt's gateway does" in gateway["message"]
    assert "ANYINT_BASE_URL" in gateway["fix"]
    assert checks(foreign.stdout)["api key"]["status"] == "skip"


def test_an_unreachable_gateway_fails_and_a_remote_one_without_public_url_warns() -> None:
    # .invalid never resolves (RFC 6761): a remote gateway that cannot be reached.
    remote = _env(ANYINT_BASE_URL="http://anyint-doctor.invalid", ANYINT_API_KEY="k")
    done = cli("doctor", "--timeout", "5", env=remote)

    assert done.returncode == 1
    seen = checks(done.stdout)
    assert seen["gateway"]["status"] == "fail"
    assert "cannot connect to http://anyint-doctor.invalid" in seen["gateway"]["message"]
    assert [seen["api key"]["status"], seen["clock"]["status"]] == ["skip", "skip"]
    callbacks = seen["callbacks"]
    assert callbacks["status"] == "warn"
    assert "local-only" in callbacks["message"]
    assert "a poll every 30 s from the submit" in callbacks["message"]
    assert "--public-url" in callbacks["fix"]
    assert one_line_error(done) == "error: 1 of 4 checks failed: gateway"
