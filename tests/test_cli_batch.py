"""Many tasks in one command (``--from FILE``, ``-j N``), driven as a user would: subprocesses
against the simulator."""

from __future__ import annotations

import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from _helpers import on_terminal
from test_cli import Simulator, _env, cli, events, simulator

from anyint_music._cli import main

pytestmark = pytest.mark.skipif(
    sys.platform == "win32", reason="uses a pseudo-terminal, select() on pipes and POSIX signals"
)

FULL_ID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")


@pytest.fixture(scope="module")
def sim() -> Iterator[Simulator]:
    with simulator("--stage-delay", "0.02") as running:
        yield running


def _prompts(path: Path, count: int) -> Path:
    lines = ["# songs for the shop", ""]
    lines += [f"song {n} about the harbour" for n in range(1, count + 1)]
    path.write_text("\n".join(lines) + "\n")
    return path


def _most_at_once(seen: list[dict[str, Any]]) -> int:
    """The most tasks between their submit and their final stage at any point."""
    running = most = 0
    for event in seen:
        if event["event"] == "submitted":
            running += 1
            most = max(most, running)
        elif event["event"] == "stage" and event["stage"] == "complete":
            running -= 1
    return most


def test_a_batch_of_20_with_j5_saves_40_songs_and_each_event_names_its_task(
    sim: Simulator, tmp_path: Path
) -> None:
    prompts = _prompts(tmp_path / "prompts.txt", 20)

    done = cli("generate", "--from", str(prompts), "-j", "5", "--out", "songs", "--json",
               env=sim.env, cwd=tmp_path)  # fmt: skip

    assert done.returncode == 0, done.stderr
    assert len(list((tmp_path / "songs").glob("*.mp3"))) == 40
    seen = events(done.stdout)
    summary = seen[-1]
    assert (summary["event"], summary["done"], summary["failed"], summary["exit"]) == (
        "summary", 20, 0, 0
    )  # fmt: skip
    assert len(summary["files"]) == 80  # MP3 and art of every track
    submitted = {e["line"]: e["task_id"] for e in seen if e["event"] == "submitted"}
    assert sorted(submitted) == list(range(3, 23))  # the file's line numbers: 2 lines skipped
    assert len(set(submitted.values())) == 20
    for event in seen[:-1]:  # every stage of every task says which it is
        assert submitted[event["line"]] == event["task_id"], event
    assert {t["task_id"] for t in summary["tasks"]} == set(submitted.values())
    assert _most_at_once(seen) <= 5
    # Full track ids where files are saved, as `extend` and `timestamps` need them.
    tracks = {t["id"] for e in seen if e["event"] == "done" for t in e["tracks"]}
    saved = {e["track_id"] for e in seen if e["event"] == "download"}
    assert saved == tracks
    assert all(FULL_ID.fullmatch(t) for t in tracks)


def test_a_failed_task_fails_the_batch_and_stops_none_of_the_others(tmp_path: Path) -> None:
    prompts = _prompts(tmp_path / "prompts.txt", 3)
    with simulator("--stage-delay", "0.02", "--fail-tasks", "1") as failing:
        done = cli("generate", "--from", str(prompts), "-j", "1", "--out", "songs", "--json",
                   env=failing.env, cwd=tmp_path)  # fmt: skip

    assert done.returncode == 1
    assert "Traceback" not in done.stderr
    assert done.stderr.splitlines()[0] == "error: 1 of 3 failed (line 3)"
    seen = events(done.stdout)
    failed = [e for e in seen if e["event"] == "failed"]
    assert [(e["line"], e["type"]) for e in failed] == [(3, "TaskFailedError")]
    assert "code 501" in failed[0]["message"]
    summary = seen[-1]
    assert (summary["event"], summary["done"], summary["failed"], summary["exit"]) == (
        "summary", 2, 1, 1
    )  # fmt: skip
    assert summary["resume"] == []  # a failed task is not picked up again
    assert len(list((tmp_path / "songs").glob("*.mp3"))) == 4


def test_lyrics_from_stdin_saves_every_variant(sim: Simulator, tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "anyint_music", "lyrics", "--from", "-", "--out", "words"],
        input="a lighthouse\n\n# not this one\na harbour at night\n",
        capture_output=True,
        text=True,
        timeout=30,
        env=sim.env,
        cwd=tmp_path,
    )

    assert done.returncode == 0, done.stderr
    seen = events(done.stdout)
    assert [e["line"] for e in seen if e["event"] == "submitted"] == [1, 4]
    assert seen[-1]["done"] == 2
    assert len(list((tmp_path / "words").glob("*.txt"))) == 4


def test_on_a_terminal_a_live_line_per_task_and_an_overall_line(tmp_path: Path) -> None:
    prompts = _prompts(tmp_path / "prompts.txt", 3)
    code, output = on_terminal(
        "generate", "--from", str(prompts), "-j", "2", "--simulate", "--stage-delay", "0.2",
        "--out", str(tmp_path / "songs"), env=_env(TERM="xterm", COLUMNS="200"), seconds=30,
    )  # fmt: skip
    text = output.decode(errors="replace")

    assert code == 0, text
    assert "{" not in text  # no JSON on a terminal
    assert re.search(r"#3 +song 1 about the harbour +. waiting for the lyrics", text)
    assert re.search(r"3 tasks: (\d \w+, )*2 running, 1 queued", text)  # -j 2
    assert "\x1b[1A\x1b[K" in text  # the block is redrawn in place
    saved = re.findall(r"#\d +saved +\S+\.mp3 +\(\d+ B\) +track (\S+)", text)
    assert len(saved) == 6
    assert all(FULL_ID.fullmatch(track) for track in saved)
    assert "summary        3 tasks: 3 done; 12 files" in text


@pytest.mark.parametrize(
    ("argv", "reason"),
    [
        (["generate", "a song", "--from", "LIST"], "give either a PROMPT or --from"),
        (["generate", "--custom", "--from", "LIST"], "simple mode"),
        (["lyrics", "--from", "EMPTY"], "no prompt in it"),
        (["lyrics"], "lyrics needs a PROMPT (or --from FILE"),
        (["upload-cover", "--from", "LIST", "--model", "V5", "--prompt", "x"], "cannot read FILE"),
        (["generate", "--from", "MISSING"], "cannot read --from"),
        (["generate", "--from", "LIST", "-j", "0"], "must be 1..100"),
    ],
)
def test_bad_lists_are_usage_errors_before_anything_is_sent(
    argv: list[str], reason: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "LIST").write_text("no-such-recording.mp3\n")
    (tmp_path / "EMPTY").write_text("# nothing\n\n")
    paths = {name: str(tmp_path / name) for name in ("LIST", "EMPTY", "MISSING")}

    code = main([paths.get(arg, arg) for arg in argv] + ["--simulate"])

    assert code == 2
    assert reason in capsys.readouterr().err
