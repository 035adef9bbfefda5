"""Picking tasks up again: the ``wait`` command Ctrl-C, SIGTERM and ``--timeout`` print, ``wait``
run as printed, and ``status``; driven as a user would, against ``anyint-music simulate``."""

from __future__ import annotations

import json
import select
import shlex
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from _helpers import on_terminal
from test_cli import Simulator, cli, events, simulator

pytestmark = pytest.mark.skipif(
    sys.platform == "win32", reason="select() on pipes and POSIX signals"
)


@pytest.fixture(scope="module")
def sim() -> Iterator[Simulator]:
    # Stages 1 s apart (a song takes 3 s): room to stop a command half-way, or to read a
    # running task's record, on a slow machine too.
    with simulator("--stage-delay", "1") as running:
        yield running


def start(*args: str, env: dict[str, str], cwd: Path) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "anyint_music", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
        cwd=cwd,
    )


def read_until(
    proc: subprocess.Popen[str], wanted: Callable[[dict[str, Any]], bool], seconds: float = 15
) -> dict[str, Any]:
    """The first JSON event on ``proc``'s stdout that is ``wanted``, within ``seconds``."""
    assert proc.stdout is not None
    deadline = time.monotonic() + seconds
    while (left := deadline - time.monotonic()) > 0:
        ready, _, _ = select.select([proc.stdout], [], [], left)
        line = proc.stdout.readline() if ready else ""
        assert line, "the command ended (or said nothing) before the event"
        event: dict[str, Any] = json.loads(line)
        if wanted(event):
            return event
    raise AssertionError(f"no such event within {seconds} s")


def submitted(event: dict[str, Any]) -> bool:
    return event["event"] == "submitted"


def run_as_printed(
    command: str, env: dict[str, str], cwd: Path
) -> subprocess.CompletedProcess[str]:
    """Run a command the CLI printed, word for word (``anyint-music`` being this checkout's)."""
    words = shlex.split(command)
    assert words[:2] == ["anyint-music", "wait"], command
    return subprocess.run(
        [sys.executable, "-m", "anyint_music", *words[1:]],
        capture_output=True,
        text=True,
        timeout=30,
        env=env,
        cwd=cwd,
    )


def test_ctrl_c_prints_the_wait_that_saves_the_song_as_generate_would(
    sim: Simulator, tmp_path: Path
) -> None:
    proc = start("generate", "a song to pick up", "--out", "songs", "--lrc", env=sim.env,
                 cwd=tmp_path)  # fmt: skip
    task_id = read_until(proc, submitted)["task_id"]
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=10)

    assert proc.returncode == 130
    command = f"anyint-music wait {task_id} --kind music --out songs --lrc"
    assert err.splitlines() == [
        "error: interrupted; the task goes on at AnyInt. To pick it up:",
        f"  {command}",
    ]

    picked = run_as_printed(command, sim.env, tmp_path)

    assert picked.returncode == 0, picked.stderr
    seen = events(picked.stdout)
    assert (seen[0]["event"], seen[0]["task_id"]) == ("attached", task_id)
    assert (seen[-1]["event"], seen[-1]["task_id"]) == ("done", task_id)
    songs = tmp_path / "songs"
    for suffix in ("mp3", "jpeg", "lrc"):
        assert len(list(songs.glob(f"*.{suffix}"))) == 2, suffix
    saved = [e for e in seen if e["event"] == "download" and e["what"] == "audio"]
    assert {e["track_id"] for e in saved} == {t["id"] for t in seen[-1]["tracks"]}


def test_sigterm_under_json_ends_with_the_final_event(sim: Simulator, tmp_path: Path) -> None:
    proc = start("generate", "stop me", "--json", env=sim.env, cwd=tmp_path)
    task_id = read_until(proc, submitted)["task_id"]
    proc.send_signal(signal.SIGTERM)
    out, err = proc.communicate(timeout=10)

    assert proc.returncode == 143
    assert "Traceback" not in err
    final = events(out)[-1]
    assert (final["event"], final["type"], final["exit"]) == ("error", "Terminated", 143)
    assert final["task_ids"] == [task_id]
    assert final["resume"] == [f"anyint-music wait {task_id} --kind music"]


def test_sigterm_of_a_batch_names_every_unfinished_task(sim: Simulator, tmp_path: Path) -> None:
    (tmp_path / "list.txt").write_text("".join(f"tune {n}\n" for n in range(1, 6)))
    proc = start("generate", "--from", "list.txt", "-j", "2", "--out", "songs", "--json",
                 env=sim.env, cwd=tmp_path)  # fmt: skip
    read_until(proc, submitted)
    read_until(proc, submitted)
    proc.send_signal(signal.SIGTERM)
    out, err = proc.communicate(timeout=10)

    assert proc.returncode == 143
    assert "Traceback" not in err
    summary = events(out)[-1]
    assert (summary["event"], summary["stopped"], summary["exit"]) == ("summary", "Terminated", 143)
    assert summary["not_submitted"] == 3
    running = [t["task_id"] for t in summary["tasks"] if t["line"] in (1, 2)]
    assert summary["task_ids"] == running
    assert summary["resume"] == [f"anyint-music wait {t} --kind music --out songs" for t in running]
    assert (
        summary["resume_all"] == f"anyint-music wait {' '.join(running)} --kind music --out songs"
    )
    assert f"  {summary['resume_all'].join(['(or all at once: ', ')'])}" in err.splitlines()


def test_a_timeout_prints_the_wait_for_lyrics_and_it_saves_them(
    sim: Simulator, tmp_path: Path
) -> None:
    late = cli("lyrics", "a night ferry", "--out", "words", "--timeout", "0.5", env=sim.env,
               cwd=tmp_path)  # fmt: skip

    assert late.returncode == 3
    first, command = late.stderr.splitlines()
    assert first.startswith("error: task ")
    assert "has no result after 0.5 s; the task goes on at AnyInt" in first
    assert command.strip().endswith("--kind lyrics --out words")

    picked = run_as_printed(command.strip(), sim.env, tmp_path)

    assert picked.returncode == 0, picked.stderr
    assert len(list((tmp_path / "words").glob("*.txt"))) == 2


def test_status_of_a_running_and_of_a_finished_task(sim: Simulator, tmp_path: Path) -> None:
    proc = start("generate", "still going", "--json", "--no-download", env=sim.env, cwd=tmp_path)
    task_id = read_until(proc, submitted)["task_id"]

    running = cli("status", task_id, env=sim.env)

    assert running.returncode == 0, running.stderr
    (now,) = events(running.stdout)  # one object
    assert (now["event"], now["task_id"], now["kind"]) == ("status", task_id, "music")
    assert now["stage"] in ("pending", "text", "first")
    assert now["finished"] is False
    done = read_until(proc, lambda e: e["event"] == "done")
    proc.communicate(timeout=10)
    assert proc.returncode == 0

    finished = cli("status", task_id, "--kind", "music", env=sim.env)

    (then,) = events(finished.stdout)
    assert (then["stage"], then["finished"]) == ("complete", True)
    assert then["tracks"] == done["tracks"]  # full ids, URLs and all


def test_status_on_a_terminal_shows_full_track_ids_and_the_wait(
    sim: Simulator, tmp_path: Path
) -> None:
    song = events(cli("generate", "a short one", "--no-download", env=sim.env).stdout)[-1]

    code, output = on_terminal("status", song["task_id"], env=sim.env, seconds=20)
    text = output.decode(errors="replace")

    assert code == 0, text
    assert "stage     complete (finished)" in text
    for track in song["tracks"]:
        assert f"id {track['id']}" in text
    assert f"to save it: anyint-music wait {song['task_id']} --kind music" in text
