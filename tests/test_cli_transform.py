"""The command line's transform and export commands, driven as a user would: subprocesses
against the simulator (started together where they do not interact: each is a whole
interpreter start-up)."""

from __future__ import annotations

import json
import os
import select
import shlex
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from _helpers import on_terminal
from test_cli import QUICK, Simulator, _env, cli, events, one_line_error, simulator

from anyint_music import _routes as routes
from anyint_music._cli import main

pytestmark = pytest.mark.skipif(
    sys.platform == "win32", reason="uses a pseudo-terminal, select() on pipes and POSIX signals"
)

SIMULATE = "--simulate --stage-delay 0.02"


def together(
    *runs: str, env: dict[str, str] | None = None, cwd: Path | None = None
) -> list[subprocess.CompletedProcess[str]]:
    """Run ``python -m anyint_music RUN`` (a shell-quoted command line) for each run at once;
    their results, in order."""
    procs = [
        subprocess.Popen(
            [sys.executable, "-m", "anyint_music", *shlex.split(run)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=env or _env(),
            cwd=cwd,
        )
        for run in runs
    ]
    done = []
    for run, proc in zip(runs, procs, strict=True):
        out, err = proc.communicate(timeout=45)
        done.append(subprocess.CompletedProcess(list(run), proc.returncode, out, err))
    return done


def finished(done: subprocess.CompletedProcess[str]) -> list[dict[str, Any]]:
    """The JSON events of a command that succeeded, checked: it ends with ``done``, which
    carries the task id it was ``submitted`` with."""
    assert done.returncode == 0, (done.args, done.stderr)
    seen = events(done.stdout)
    assert seen[-1]["event"] == "done"
    submitted = [e for e in seen if e["event"] == "submitted"]
    assert [e["task_id"] for e in submitted] == [seen[-1]["task_id"]]
    return seen


def is_mp3(data: bytes) -> bool:
    """An ID3 tag, or an MPEG audio frame's sync bits."""
    return data[:3] == b"ID3" or (data[0] == 0xFF and data[1] & 0xE0 == 0xE0)


def saved(folder: Path, seen: list[dict[str, Any]]) -> dict[str, bytes]:
    """The files in ``folder``, by name; exactly those the ``done`` event lists."""
    names = sorted(p.name for p in folder.iterdir())
    assert sorted(Path(f).name for f in seen[-1]["files"]) == names
    return {name: (folder / name).read_bytes() for name in names}


def check_songs(folder: Path, seen: list[dict[str, Any]], title: str, *, lrc: bool) -> None:
    """Saved as ``generate`` saves its songs: per track an MP3 and its art (and a .lrc)."""
    assert [e["stage"] for e in seen if e["event"] == "stage"] == ["text", "first", "complete"]
    tracks = seen[-1]["tracks"]
    assert {t["title"] for t in tracks} == {title}
    files = saved(folder, seen)
    for track in tracks:
        base = next(n.removesuffix(".mp3") for n in files if n.endswith(f"-{track['id'][:8]}.mp3"))
        assert is_mp3(files[f"{base}.mp3"])
        assert files[f"{base}.jpeg"].startswith(b"\xff\xd8")
        assert (f"{base}.lrc" in files) == lrc
    assert len(files) == len(tracks) * (3 if lrc else 2)


def test_upload_commands_make_songs_from_a_local_file(tmp_path: Path) -> None:
    # The simulator fetches each file from the client's receiver before its first stage.
    (tmp_path / "take.mp3").write_bytes(b"\xff\xfb\x90\x00" + bytes(400))
    (tmp_path / "words.txt").write_text("[Verse]\nSing it back to me\n")
    cover, extend, vocals, instrumental = together(
        f"upload-cover take.mp3 --model V5 --prompt 'rainy jazz' --lrc --out cover {SIMULATE} "
        "--json",
        "upload-extend take.mp3 --model V5 --continue-at 5 --title Longer --style rock "
        f"--lyrics words.txt --out extend {SIMULATE} --json",
        "add-vocals take.mp3 --lyrics words.txt --title Sung --style soul "
        f"--negative-tags screamo --out vocals {SIMULATE} --json",
        "add-instrumental take.mp3 --title Backed --tags piano --negative-tags metal "
        f"--model V4_5PLUS --out instrumental {SIMULATE} --json",
        cwd=tmp_path,
    )

    check_songs(tmp_path / "cover", finished(cover), "Rainy Jazz", lrc=True)
    check_songs(tmp_path / "extend", finished(extend), "Longer", lrc=False)
    check_songs(tmp_path / "vocals", finished(vocals), "Sung", lrc=False)
    check_songs(tmp_path / "instrumental", finished(instrumental), "Backed", lrc=False)


def test_track_commands_with_simulate_save_their_files(tmp_path: Path) -> None:
    # stdout is a pipe: JSON lines without --json
    replaced, split, every, wav, video, persona = together(
        "replace-section TASK AUDIO --start 10 --end 20 --prompt new --tags pop --title Mended "
        f"--out replaced {SIMULATE}",
        f"stems TASK AUDIO --out split {SIMULATE}",
        f"stems TASK AUDIO --all --out every {SIMULATE}",
        f"wav TASK AUDIO --out wav {SIMULATE}",
        f"video TASK AUDIO --author Me --domain example.test --out video {SIMULATE}",
        f"persona TASK AUDIO --name Nova --description 'a warm alto' {SIMULATE}",
        cwd=tmp_path,
    )

    check_songs(tmp_path / "replaced", finished(replaced), "Mended", lrc=False)

    seen = finished(split)
    task8 = seen[-1]["task_id"][:8]
    assert seen[-1]["stems"].keys() == {"vocal", "instrumental"}
    assert seen[-1]["vocal_url"] == seen[-1]["stems"]["vocal"]
    files = saved(tmp_path / "split", seen)
    assert sorted(files) == [f"{task8}-instrumental.mp3", f"{task8}-vocal.mp3"]
    assert all(is_mp3(data) for data in files.values())

    seen = finished(every)
    files = saved(tmp_path / "every", seen)
    assert len(files) == len(seen[-1]["stems"]) == 12
    assert is_mp3(files[f"{seen[-1]['task_id'][:8]}-drums.mp3"])
    assert f"{seen[-1]['task_id'][:8]}-backing-vocals.mp3" in files

    seen = finished(wav)
    assert seen[-1]["audio_wav_url"].endswith(".wav")
    (data,) = saved(tmp_path / "wav", seen).values()
    assert (data[:4], data[8:12]) == (b"RIFF", b"WAVE")
    assert (tmp_path / "wav" / f"{seen[-1]['task_id'][:8]}.wav").exists()

    seen = finished(video)
    (data,) = saved(tmp_path / "video", seen).values()
    assert data[4:8] == b"ftyp"
    assert (tmp_path / "video" / f"{seen[-1]['task_id'][:8]}.mp4").exists()

    assert persona.returncode == 0, persona.stderr
    seen = events(persona.stdout)
    assert (seen[-1]["event"], seen[-1]["name"]) == ("done", "Nova")
    assert seen[-1]["persona_id"]
    # The built-in simulator knows no TASK/AUDIO: it says it works on a song of its own.
    assert "knows no track AUDIO" in next(e["message"] for e in seen if e["event"] == "notice")


def test_track_commands_use_the_given_track_and_no_download_saves_nothing(
    tmp_path: Path,
) -> None:
    with simulator(*QUICK) as sim:
        song = events(cli("generate", "rainy jazz", "--no-download", env=sim.env).stdout)[-1]
        track = f"{song['task_id']} {song['tracks'][0]['id']}"
        replaced, split, wav, video, persona = together(
            f"replace-section {track} --start 10 --end 20 --prompt new --tags pop --title Mended "
            "--no-download",
            f"stems {track} --no-download",
            f"wav {track} --no-download",
            f"video {track} --no-download",
            f"persona {track} --name Nova --description 'a warm alto'",
            env=sim.env,
            cwd=tmp_path,
        )
        again = cli("wav", *track.split(), "--no-download", env=sim.env)

    for done in (replaced, split, wav, video):
        assert finished(done)[-1]["files"] == []
        assert "notice" not in done.stdout
    assert events(replaced.stdout)[-1]["tracks"][0]["title"] == "Mended"
    assert events(split.stdout)[-1]["instrumental_url"].startswith("http://127.0.0.1:")
    assert events(persona.stdout)[-1]["description"] == "a warm alto"
    assert list(tmp_path.iterdir()) == []
    # One WAV per track: the service's refusal, as one line.
    assert again.returncode == 1
    assert "already exists" in one_line_error(again)


def test_no_download_prints_the_urls(tmp_path: Path) -> None:
    run = ("stems", "TASK", "AUDIO", "--all", "--no-download", "--simulate", *QUICK)
    code, output = on_terminal(*run, env=_env(TERM="xterm"), cwd=tmp_path, seconds=20)
    text = output.decode(errors="replace")

    assert code == 0, text
    assert "complete       12 stems: vocal, backing_vocals, drums" in text
    lines = [line.split() for line in text.splitlines() if "/files/stem-" in line]
    assert len(lines) == 12
    assert lines[2][0] == "drums"
    assert lines[2][1].startswith("http://127.0.0.1:")
    assert "done           12 files" in text
    assert list(tmp_path.iterdir()) == []


def _requests_until(sim: Simulator, path: str, seconds: float = 15) -> list[str]:
    """The paths of the requests the simulator reports, up to the first to ``path``."""
    assert sim.proc.stdout is not None
    # Read the pipe itself: a buffered reader could hold lines select() no longer sees.
    fd = sim.proc.stdout.fileno()
    pending = b""
    seen: list[str] = []
    deadline = time.monotonic() + seconds
    while path not in seen:
        ready, _, _ = select.select([fd], [], [], max(deadline - time.monotonic(), 0))
        assert ready, f"no request to {path} within {seconds} s; saw {seen}"
        chunk = os.read(fd, 65536)
        assert chunk, f"the simulator stopped; saw {seen}"
        *lines, pending = (pending + chunk).split(b"\n")
        reported = [json.loads(line) for line in lines]
        seen += [e["path"] for e in reported if e["event"] == "request"]
    return seen


def test_a_missing_local_file_is_a_usage_error_and_nothing_is_sent(tmp_path: Path) -> None:
    with simulator(*QUICK) as sim:
        refused = together(
            "upload-cover gone.mp3 --model V5 --prompt x",
            "upload-extend gone.mp3 --model V5",
            "add-vocals gone.mp3 --prompt x --title T --style s --negative-tags n",
            "add-instrumental gone.mp3 --title T --tags t --negative-tags n",
            env=sim.env,
            cwd=tmp_path,
        )
        # A request made after them: the simulator reports requests in order.
        assert cli("style", "sad piano", env=sim.env).returncode == 0
        requests = _requests_until(sim, "/suno/style-generate")

    for done in refused:
        command = "".join(done.args).split()[0]  # the usage error is the command's own
        assert done.returncode == 2, (done.args, done.stderr)
        assert done.stdout == ""
        assert done.stderr.splitlines()[-1] == (
            f"anyint-music {command}: error: cannot read FILE gone.mp3: No such file or "
            "directory (give an audio file or an http(s) URL)"
        )
    assert requests == ["/suno/style-generate"]  # no task was created


REFUSED = [
    # Rules between options, before anything starts.
    ("upload-cover - --model V5", "upload-cover needs a --prompt describing the song"),
    ("upload-cover x.mp3 --prompt x", "the following arguments are required: --model"),
    ("upload-extend https://a.test/x.mp3 --model V5 --title T", "needs --continue-at, --style"),
    ("add-vocals https://a.test/x.mp3 --title T --style s", "required: --negative-tags"),
    ("add-vocals https://a.test/x.mp3 --title T --style s --negative-tags n", "needs the lyrics"),
    ("stems TASK", "the following arguments are required: AUDIO_ID"),
    # Rules the SDK checks, named as the command line spells them.
    (
        "add-instrumental https://a.test/x.mp3 --title T --tags t --negative-tags n --model V4",
        "error: --model: model='V4' is not taken by this route",
    ),
    (
        "persona T A --name N --description D --end 45",
        "error: --end: vocal_end - vocal_start must be 10 to 30 seconds, got 45",
    ),
    (
        "replace-section T A --start 30 --end 20 --prompt p --tags t --title T",
        "error: --end: infill_end_s (20) must be after infill_start_s (30)",
    ),
    (f"video T A --domain {'x' * 51}", "error: --domain: domain_name is 51 characters"),
]


def test_bad_usage_and_refused_arguments_exit_2_with_the_reason() -> None:
    runs = [f"{args} {SIMULATE}" for args, _ in REFUSED]
    for done, (args, says) in zip(together(*runs), REFUSED, strict=True):
        assert done.returncode == 2, (args, done.stderr)
        assert says in done.stderr, (args, done.stderr)
        assert "Traceback" not in done.stderr
        if says.startswith("error: "):  # the SDK's: one line, as today's commands report it
            assert one_line_error(done).startswith(says)


ROUTES = {
    "upload-cover": routes.UPLOAD_COVER,
    "upload-extend": routes.UPLOAD_EXTEND,
    "add-vocals": routes.ADD_VOCALS,
    "add-instrumental": routes.ADD_INSTRUMENTAL,
    "replace-section": routes.REPLACE_SECTION,
    "stems": routes.VOCAL_REMOVAL,
    "wav": routes.WAV,
    "video": routes.VIDEO,
    "persona": routes.PERSONA,
}


@pytest.mark.parametrize(("command", "route"), ROUTES.items())
def test_each_command_help_names_its_route(
    command: str, route: routes.Route[..., Any], capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exited:
        main([command, "--help"])
    assert exited.value.code == 0
    assert f"(POST {route.path})" in " ".join(capsys.readouterr().out.split())
