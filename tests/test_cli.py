"""The command line, driven as a user would: subprocesses against the simulator."""

from __future__ import annotations

import contextlib
import json
import os
import re
import select
import signal
import subprocess
import sys
import time
import tomllib
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from _helpers import on_terminal

from anyint_music._download import partial_path

pytestmark = pytest.mark.skipif(
    sys.platform == "win32", reason="uses a pseudo-terminal, select() on pipes and POSIX signals"
)

ROOT = Path(__file__).resolve().parent.parent
QUICK = ("--stage-delay", "0.02")


def _env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("ANYINT_")}
    env.update(extra)
    return env


def cli(
    *args: str, env: dict[str, str] | None = None, cwd: Path | None = None
) -> subprocess.CompletedProcess[str]:
    """Run ``python -m anyint_music ARGS`` with stdout captured (so: not a terminal)."""
    return subprocess.run(
        [sys.executable, "-m", "anyint_music", *args],
        capture_output=True,
        text=True,
        timeout=30,
        env=env or _env(),
        cwd=cwd,
    )


def events(stdout: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in stdout.splitlines()]


def one_line_error(done: subprocess.CompletedProcess[str]) -> str:
    assert "Traceback" not in done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, done.stderr
    assert lines[0].startswith("error: ")
    return lines[0]


class Simulator:
    """``anyint-music simulate --port 0`` as a server subprocess."""

    def __init__(self, *args: str) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "anyint_music", "simulate", "--port", "0", *args],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=_env(),
        )
        assert self.proc.stdout is not None
        ready, _, _ = select.select([self.proc.stdout], [], [], 15)
        assert ready, "the simulator did not start"
        self.listening = json.loads(self.proc.stdout.readline())
        self.env = _env(
            ANYINT_BASE_URL=self.listening["url"], ANYINT_API_KEY=self.listening["api_key"]
        )

    def stop(self) -> tuple[int, str]:
        """SIGTERM; the exit code and the rest of its output."""
        self.proc.send_signal(signal.SIGTERM)
        out, _ = self.proc.communicate(timeout=10)
        return self.proc.returncode, out


@contextlib.contextmanager
def simulator(*args: str) -> Iterator[Simulator]:
    sim = Simulator(*args)
    try:
        yield sim
    finally:
        if sim.proc.poll() is None:
            sim.stop()


@pytest.fixture(scope="module")
def sim() -> Iterator[Simulator]:
    with simulator("--stage-delay", "0.02") as running:
        yield running


# --- the main job -------------------------------------------------------------------------------


def test_generate_with_simulate_saves_tagged_songs_art_and_lrc(tmp_path: Path) -> None:
    done = cli(
        "generate",
        "a song about trains",
        "--simulate",
        *QUICK,
        "--out",
        "songs",
        "--lrc",
        cwd=tmp_path,
    )

    assert done.returncode == 0, done.stderr
    seen = events(done.stdout)
    kinds = [e["event"] for e in seen]
    assert kinds[0] == "submitted"
    assert [e["stage"] for e in seen if e["event"] == "stage"] == ["text", "first", "complete"]
    assert kinds[-1] == "done"
    assert kinds.count("download") == 4  # two MP3s, two images
    assert kinds.count("file") == 2  # two .lrc
    assert all(isinstance(e["elapsed"], float) for e in seen)
    final = seen[-1]
    assert len(final["tracks"]) == 2
    files = sorted(p.name for p in (tmp_path / "songs").iterdir())
    assert len(files) == 6
    assert sorted(Path(f).name for f in final["files"]) == files
    mp3 = next(tmp_path / "songs" / f for f in files if f.endswith(".mp3"))
    assert (tmp_path / "songs" / mp3.name.replace(".mp3", ".lrc")).read_text().startswith("[")
    id3 = pytest.importorskip("mutagen.id3")
    tags = id3.ID3(mp3)
    assert tags["TIT2"].text == ["A Song About Trains"]
    assert {"TCON", "APIC:Cover", "USLT::eng"} <= set(tags.keys())


def test_without_mutagen_it_says_once_how_to_enable_tags(tmp_path: Path) -> None:
    shim = tmp_path / "shim" / "mutagen"
    shim.mkdir(parents=True)
    (shim / "__init__.py").write_text("raise ImportError('not installed')\n")
    env = _env(PYTHONPATH=str(tmp_path / "shim"))
    done = cli("generate", "x", "--simulate", *QUICK, "--out", str(tmp_path / "out"), env=env)
    assert done.returncode == 0, done.stderr
    notices = [e["message"] for e in events(done.stdout) if e["event"] == "notice"]
    assert notices == [
        "MP3s are saved without ID3 tags (title, genre, cover, lyrics); "
        "to add them: pip install 'anyint-music[tags]'"
    ]


def test_progress_on_a_terminal(tmp_path: Path) -> None:
    code, output = on_terminal(
        "generate",
        "a song",
        "--simulate",
        "--stage-delay",
        "0.15",
        "--out",
        str(tmp_path),
        env=_env(TERM="xterm"),
        seconds=20,
    )
    text = output.decode(errors="replace")

    assert code == 0, text
    assert "{" not in text  # no JSON on a terminal
    for expected in (
        "submitted",
        "lyrics ready",
        "first track streamable",
        "complete       2 tracks",
        "saved",
        "100%",
        "done           2 tracks",
    ):
        assert expected in text
    assert "waiting for the first track" in text  # the live line, redrawn in place
    assert "\r\x1b[K" in text
    assert "0.1s" in text or "0.2s" in text  # elapsed time on every stage line


def test_against_a_simulate_server_chained_commands(sim: Simulator, tmp_path: Path) -> None:
    done = cli("generate", "rainy jazz", "--out", str(tmp_path), env=sim.env)
    assert done.returncode == 0, done.stderr
    song = events(done.stdout)[-1]
    task_id, audio_id = song["task_id"], song["tracks"][0]["id"]

    srt = cli("timestamps", task_id, audio_id, "--format", "srt", env=sim.env)
    assert srt.returncode == 0, srt.stderr
    assert srt.stdout.startswith("1\n00:00:")  # the document itself, ready for `> song.srt`

    extended = cli("extend", audio_id, "--no-download", env=sim.env)
    assert extended.returncode == 0, extended.stderr
    assert events(extended.stdout)[-1]["tracks"][0]["title"] == "Rainy Jazz"

    cover = cli("cover", task_id, "--out", str(tmp_path / "art"), env=sim.env)
    assert cover.returncode == 0, cover.stderr
    images = sorted((tmp_path / "art").iterdir())
    assert [p.suffix for p in images] == [".png", ".png"]
    assert images[0].read_bytes().startswith(b"\x89PNG")


def test_lyrics_style_and_custom_mode_from_a_file(sim: Simulator, tmp_path: Path) -> None:
    lyrics = cli("lyrics", "a lighthouse keeper", "--out", str(tmp_path), env=sim.env)
    assert lyrics.returncode == 0, lyrics.stderr
    variants = events(lyrics.stdout)[-1]["variants"]
    assert len(variants) == 2
    assert "[Verse]" in variants[0]["text"]

    style = cli("style", "sad", "piano", env=sim.env)
    assert style.returncode == 0, style.stderr
    assert events(style.stdout)[-1]["text"].startswith("sad piano")

    words = tmp_path / "words.txt"
    words.write_text(variants[0]["text"])
    custom = cli(
        "generate",
        "--custom",
        "--title",
        "Keeper",
        "--style",
        "folk",
        "--lyrics",
        str(words),
        "--no-download",
        env=sim.env,
    )
    assert custom.returncode == 0, custom.stderr
    assert events(custom.stdout)[-1]["tracks"][0]["title"] == "Keeper"


def test_timestamps_as_json_into_a_directory(sim: Simulator, tmp_path: Path) -> None:
    song = events(cli("generate", "x", "--no-download", env=sim.env).stdout)[-1]
    audio_id = song["tracks"][0]["id"]
    done = cli(
        "timestamps",
        song["task_id"],
        audio_id,
        "--format",
        "json",
        "--out",
        str(tmp_path),
        env=sim.env,
    )
    assert done.returncode == 0, done.stderr
    written = tmp_path / f"{audio_id}.json"
    assert events(done.stdout)[0]["path"] == str(written)
    lines = json.loads(written.read_text())["lines"]
    assert lines[0]["start"] < lines[0]["end"]


def test_download_by_url_needs_no_key_and_finishes_a_partial_file(
    sim: Simulator, tmp_path: Path
) -> None:
    song = events(cli("generate", "keep me", "--no-download", env=sim.env).stdout)[-1]
    url = song["tracks"][0]["audio_url"]
    first = cli("download", url, "--out", str(tmp_path / "whole.mp3"))
    assert first.returncode == 0, first.stderr
    whole = (tmp_path / "whole.mp3").read_bytes()
    partial = partial_path(url, tmp_path / "again.mp3")
    partial.write_bytes(whole[:100])  # as an interrupted run leaves it

    again = cli("download", url, "--out", str(tmp_path / "again.mp3"))

    assert again.returncode == 0, again.stderr
    assert (tmp_path / "again.mp3").read_bytes() == whole
    assert not partial.exists()


def test_the_simulate_server_prints_its_url_and_key_and_stops_cleanly_on_sigterm() -> None:
    running = Simulator()
    assert running.listening["url"].startswith("http://127.0.0.1:")
    assert running.listening["api_key"] == "sk-fake-anyint"
    code, rest = running.stop()
    assert code == 0
    assert events(rest)[-1]["event"] == "stopped"


def test_the_simulate_server_names_its_inspector_and_serves_it() -> None:
    running = Simulator()
    try:
        inspector = running.listening["inspector"]
        assert inspector == running.listening["url"] + "/"
        with urllib.request.urlopen(inspector, timeout=10) as page:
            assert page.status == 200
            assert b"/_sim/static/inspector.js" in page.read()
        with urllib.request.urlopen(inspector + "_sim/tasks", timeout=10) as tasks:
            assert json.load(tasks)["tasks"] == []
    finally:
        code, rest = running.stop()
    assert code == 0
    assert [e["event"] for e in events(rest)] == ["stopped"]  # its page's requests: not shown


def test_on_a_terminal_the_simulate_server_prints_the_inspector_address() -> None:
    primary, secondary = os.openpty()
    proc = subprocess.Popen(
        [sys.executable, "-m", "anyint_music", "simulate", "--port", "0"],
        stdin=secondary,
        stdout=secondary,
        stderr=secondary,
        env=_env(),
    )
    os.close(secondary)
    shown = re.compile(rb"listening on (http://127\.0\.0\.1:\d+).*Inspector: (\S+)\s", re.S)
    output = b""
    try:
        deadline = time.monotonic() + 20
        while (found := shown.search(output)) is None and time.monotonic() < deadline:
            if select.select([primary], [], [], 0.5)[0]:
                try:
                    output += os.read(primary, 4096)
                except OSError:  # EIO: the child closed the terminal (it exited)
                    break
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=10)
        os.close(primary)
    assert found is not None, output
    assert found.group(2) == found.group(1) + b"/"


# --- failures and usage -------------------------------------------------------------------------


def test_a_failed_task_exits_1_with_one_line() -> None:
    with simulator("--stage-delay", "0.02", "--fail-tasks", "1") as failing:
        done = cli("generate", "doomed", "--no-download", "--json", env=failing.env)
    assert done.returncode == 1
    assert "failed (code 501)" in one_line_error(done)
    error = events(done.stdout)[-1]
    assert (error["event"], error["type"], error["exit"]) == ("error", "TaskFailedError", 1)


def test_a_timeout_exits_3_and_debug_adds_the_traceback() -> None:
    args = ("generate", "slow", "--simulate", "--stage-delay", "2", "--timeout", "0.3", "--json")
    done = cli(*args)
    assert done.returncode == 3
    assert "no result after 0.3 s" in one_line_error(done)
    assert events(done.stdout)[-1]["type"] == "TaskTimeoutError"

    debug = cli(*args, "--debug")
    assert debug.returncode == 3
    assert "Traceback" in debug.stderr


def test_ctrl_c_exits_130_with_one_line() -> None:
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "anyint_music",
            "generate",
            "x",
            "--simulate",
            "--stage-delay",
            "5",
            "--no-download",
            "--json",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=_env(),
    )
    assert proc.stdout is not None
    ready, _, _ = select.select([proc.stdout], [], [], 15)
    assert ready
    assert json.loads(proc.stdout.readline())["event"] == "submitted"
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=10)
    assert proc.returncode == 130
    assert err.strip() == "error: interrupted"
    assert events(out)[-1]["exit"] == 130


def test_without_an_api_key_it_offers_the_simulator() -> None:
    done = cli("generate", "a song")
    assert done.returncode == 2
    line = one_line_error(done)
    assert "ANYINT_API_KEY" in line
    assert "--simulate" in line


BAD_USAGE = [
    (["generate"], "needs a PROMPT"),
    (["timestamps", "t", "a", "--format", "xml"], "invalid choice: 'xml'"),
    (["generate", "--custom", "--title", "T", "la la"], "--custom needs --title and --style"),
    (["generate", "x", "--timeout", "-1"], "must be more than 0"),
    (["generate", "x" * 600, "--no-download"], "at most 500"),  # a rule the SDK checks
]


def test_bad_usage_exits_2_with_the_reason() -> None:
    # Started together: each is a whole interpreter start-up, and they do not interact.
    procs = [
        subprocess.Popen(
            [sys.executable, "-m", "anyint_music", *args, "--simulate"],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=_env(),
        )
        for args, _ in BAD_USAGE
    ]
    for proc, (args, says) in zip(procs, BAD_USAGE, strict=True):
        _, err = proc.communicate(timeout=30)
        assert proc.returncode == 2, (args, err)
        assert says in err, (args, err)
        assert "Traceback" not in err


# --- packaging ----------------------------------------------------------------------------------


def test_the_console_script_is_declared() -> None:
    scripts = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["scripts"]
    module, _, name = scripts["anyint-music"].partition(":")
    assert (module, name) == ("anyint_music._cli", "main")
    done = cli("--version")
    assert done.returncode == 0
    assert done.stdout.startswith("anyint-music ")
