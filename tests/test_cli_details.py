"""The command line's details, driven as a user would: the receiver's options reaching the
client, the word on polling against a remote gateway, stdout kept clean for the document a user
redirects, each command's own usage, downloads of several URLs, and progress bars that name
their file in units they label correctly."""

from __future__ import annotations

import contextlib
import functools
import http.server
import io
import ipaddress
import json
import socket
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from _helpers import on_terminal
from _redis_server import free_port
from test_cli import QUICK, Simulator, _env, cli, events, one_line_error, simulator

from anyint_music._cli_doctor import polling_note, port_note
from anyint_music._cli_output import Output, human_bytes

pytestmark = pytest.mark.skipif(
    sys.platform == "win32", reason="uses a pseudo-terminal, select() on pipes and POSIX signals"
)


def together(
    *runs: list[str], cwd: Path | None = None, env: dict[str, str] | None = None
) -> list[subprocess.CompletedProcess[str]]:
    """``python -m anyint_music RUN`` for each run, started at once; their results in order."""
    procs = [
        subprocess.Popen(
            [sys.executable, "-m", "anyint_music", *run],
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
        out, err = proc.communicate(timeout=30)
        done.append(subprocess.CompletedProcess(run, proc.returncode, out, err))
    return done


def callbacks_seen(sim: Simulator) -> list[dict[str, object]]:
    """Stop ``sim``; the callbacks it delivered, as it reported them."""
    code, rest = sim.stop()
    assert code == 0
    return [e for e in events(rest) if e["event"] == "callback"]


# --- the receiver's options ---------------------------------------------------------------------


def test_the_receiver_options_and_their_variables_reach_the_client() -> None:
    by_flag, by_env = free_port(), free_port()
    with simulator(*QUICK) as sim:
        flags = cli(
            "generate",
            "by flags",
            "--no-download",
            "--callback-port",
            str(by_flag),
            "--public-url",
            f"http://localhost:{by_flag}",  # standing in for a tunnel to that port
            env=sim.env,
        )
        variables = cli(
            "generate",
            "by variables",
            "--no-download",
            env={
                **sim.env,
                "ANYINT_CALLBACK_HOST": "127.0.0.1",
                "ANYINT_CALLBACK_PORT": str(by_env),
                "ANYINT_PUBLIC_URL": f"http://localhost:{by_env}/",
            },
        )
        delivered = callbacks_seen(sim)

    assert flags.returncode == 0, flags.stderr
    assert variables.returncode == 0, variables.stderr
    for done, port in ((flags, by_flag), (variables, by_env)):
        task_id = events(done.stdout)[-1]["task_id"]
        mine = [c for c in delivered if c["task_id"] == task_id]
        assert [c["stage"] for c in mine] == ["text", "first", "complete"]
        for callback in mine:
            assert str(callback["url"]).startswith(f"http://localhost:{port}/anyint/callbacks/")
            assert callback["status"] == 200  # it arrived at the receiver on that port


def test_a_receiver_port_in_use_is_one_line_naming_the_option() -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen(1)
        port = taken.getsockname()[1]
        done = cli("generate", "x", "--simulate", "--no-download", "--callback-port", str(port))

    assert done.returncode == 1
    line = one_line_error(done)
    assert f"the callback receiver cannot listen on 127.0.0.1:{port}" in line
    assert "choose another --callback-port" in line
    assert done.stdout == ""  # not asked for --json: the error is on stderr only


def test_bad_receiver_values_are_usage_errors_naming_their_source() -> None:
    bad_flag, bad_url = together(
        ["style", "x", "--callback-port", "70000", "--simulate"],
        ["style", "x", "--public-url", "hooks.example.com", "--simulate"],
    )
    (bad_variable,) = together(
        ["style", "x", "--simulate"], env=_env(ANYINT_CALLBACK_PORT="eighty")
    )

    assert bad_flag.returncode == 2
    assert "--callback-port: must be 0..65535, got 70000" in bad_flag.stderr
    assert bad_url.returncode == 2
    assert "not an http(s) URL with a host: 'hooks.example.com'" in bad_url.stderr
    assert bad_variable.returncode == 2
    assert "ANYINT_CALLBACK_PORT='eighty': not a port number" in bad_variable.stderr


# --- the word on polling ------------------------------------------------------------------------


def _outward_address() -> str | None:
    """An address of this machine that is not a loopback one, if it has one."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        try:
            probe.connect(("192.0.2.1", 9))  # a UDP "connect" sends nothing
        except OSError:
            return None
        address: str = probe.getsockname()[0]
    return None if ipaddress.ip_address(address).is_loopback else address


def test_against_a_remote_gateway_it_says_once_that_results_come_by_polling() -> None:
    address = _outward_address()
    if address is None:
        pytest.skip("this machine has no address but loopback (see the in-process test below)")
    with simulator(*QUICK, "--host", address) as sim:
        assert sim.listening["url"].startswith(f"http://{address}:")
        done = cli("generate", "far away", "--no-download", env=sim.env)
        asked = cli("style", "sad piano", env=sim.env)  # waits for no callback: no word

    assert done.returncode == 0, done.stderr
    notices = [e["message"] for e in events(done.stdout) if e["event"] == "notice"]
    assert len(notices) == 1, notices  # the SDK's own warning is not said twice
    assert "results will come by polling" in notices[0]
    assert "a poll every 30 s from the submit" in notices[0]
    assert "--public-url" in notices[0]
    assert events(done.stdout)[0]["event"] == "notice"  # before anything is sent
    assert asked.returncode == 0, asked.stderr
    assert [e for e in events(asked.stdout) if e["event"] == "notice"] == []


def test_the_polling_note_in_process() -> None:
    note = polling_note("https://gateway.api.anyint.ai", None)
    assert note is not None
    assert note.startswith("no public URL: https://gateway.api.anyint.ai cannot call back")
    assert "a poll every 30 s from the submit until the task ends" in note
    assert "--public-url https://YOUR-TUNNEL --callback-port 8080" in note
    assert polling_note("http://127.0.0.1:8787", None) is None
    assert polling_note("https://gateway.api.anyint.ai", "https://hooks.example.com") is None

    unpinned = port_note("https://hooks.example.com", 0)
    assert unpinned is not None
    assert "--callback-port" in unpinned
    assert port_note("https://hooks.example.com", 8080) is None
    assert port_note(None, 0) is None


# --- stdout is the user's -----------------------------------------------------------------------


def test_an_error_leaves_a_redirected_document_empty(tmp_path: Path) -> None:
    with simulator(*QUICK) as sim:
        song = events(cli("generate", "x", "--instrumental", "--no-download", env=sim.env).stdout)[
            -1
        ]
        runs = {
            "unknown": ["timestamps", "no-such-task", "no-such-track", "--format", "srt"],
            "asked": ["timestamps", "no-such-task", "no-such-track", "--json"],
            "no words": ["timestamps", song["task_id"], song["tracks"][0]["id"], "--format", "srt"],
        }
        done = {}
        for name, args in runs.items():
            target = tmp_path / f"{name}.out"
            with target.open("w") as stdout:  # `anyint-music ... > song.srt`
                proc = subprocess.run(
                    [sys.executable, "-m", "anyint_music", *args],
                    stdout=stdout,
                    stderr=subprocess.PIPE,
                    text=True,
                    timeout=30,
                    env=sim.env,
                )
            done[name] = (proc, target.read_text())

    proc, written = done["unknown"]
    assert proc.returncode == 1
    assert written == ""  # nothing of the error in the file
    assert "no-such-task not found" in proc.stderr
    assert proc.stderr.startswith("error: ")

    proc, written = done["asked"]  # --json asked for explicitly: the error event too
    assert proc.returncode == 1
    error = json.loads(written)
    assert (error["event"], error["type"], error["exit"]) == ("error", "BadRequestError", 1)
    assert proc.stderr.startswith("error: ")

    proc, written = done["no words"]  # a note while stdout is the document: on stderr
    assert proc.returncode == 0, proc.stderr
    assert "{" not in written
    assert proc.stderr == "note: this track has no timed lyrics (an instrumental?)\n"


# --- usage --------------------------------------------------------------------------------------

USAGE = [
    (["generate"], "generate", "generate needs a PROMPT describing the song"),
    (["timestamps", "t"], "timestamps", "the following arguments are required: AUDIO_ID"),
    (["cover", "t", "--bogus"], "cover", "unrecognized arguments: --bogus"),
    (["lyrics", "x", "--timeout", "soon"], "lyrics", "argument --timeout: not a number: 'soon'"),
    (["no-such-command"], "", "invalid choice: 'no-such-command'"),
]


def test_a_usage_error_shows_the_commands_usage_and_under_json_ends_with_an_event() -> None:
    runs = [args for args, _, _ in USAGE]
    results = together(*runs, *[[*args, "--json"] for args in runs])
    plain, asked = results[: len(runs)], results[len(runs) :]

    for done, as_json, (args, command, says) in zip(plain, asked, USAGE, strict=True):
        prog = f"anyint-music {command}".strip()
        for run in (done, as_json):
            assert run.returncode == 2, (args, run.stderr)
            lines = run.stderr.splitlines()
            assert lines[0].startswith(f"usage: {prog} "), (args, lines[0])
            assert lines[-1].startswith(f"{prog}: error: "), (args, lines[-1])
            assert says in lines[-1], (args, lines[-1])
            assert "Traceback" not in run.stderr
        assert done.stdout == ""
        event = json.loads(as_json.stdout.splitlines()[-1])
        assert (event["event"], event["type"], event["exit"]) == ("error", "UsageError", 2)
        assert says in event["message"]


# --- downloads ----------------------------------------------------------------------------------


def test_several_urls_refuse_a_file_name_and_fill_a_directory(tmp_path: Path) -> None:
    (tmp_path / "notes").write_text("mine")
    urls = ["http://127.0.0.1:9/a.mp3", "http://127.0.0.1:9/b.mp3"]
    named, existing = together(
        ["download", *urls, "--out", "x.mp3"], ["download", *urls, "--out", "notes"], cwd=tmp_path
    )

    assert named.returncode == 2
    assert named.stderr.startswith("usage: anyint-music download ")
    assert "--out x.mp3 looks like a file name, but 2 URLs need a directory" in named.stderr
    assert not (tmp_path / "x.mp3").exists()  # no folder named like a file
    assert existing.returncode == 2
    assert "--out notes is a file" in existing.stderr
    assert (tmp_path / "notes").read_text() == "mine"

    with simulator(*QUICK) as sim:
        track = events(cli("generate", "x", "--no-download", env=sim.env).stdout)[-1]["tracks"][0]
        both = cli(
            "download", track["audio_url"], track["image_url"], "--out", "songs", cwd=tmp_path
        )
    assert both.returncode == 0, both.stderr
    assert len(list((tmp_path / "songs").iterdir())) == 2


# --- progress and sizes -------------------------------------------------------------------------


def test_sizes_are_labelled_in_the_binary_units_they_are_counted_in() -> None:
    assert human_bytes(0) == "0 B"
    assert human_bytes(1023) == "1023 B"
    assert human_bytes(1536) == "1.5 KiB"
    assert human_bytes(3 * 1024**2) == "3.0 MiB"
    assert human_bytes(5 * 1024**3) == "5.0 GiB"
    assert human_bytes(4096 * 1024**3) == "4096.0 GiB"


def test_a_long_file_name_is_shortened_in_the_middle_to_fit(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("COLUMNS", "80")
    screen = io.StringIO()
    out = Output(json_lines=False, out=screen)
    bar = out.progress("track 1 audio")
    bar.file(Path("/songs") / ("very-long-title-" * 10 + "9a16eb57.mp3"))
    bar(512 * 1024, 1024 * 1024)
    out.redraw(now=True)  # not only every 50 ms
    line = screen.getvalue().rsplit("\r\x1b[K", 1)[-1]

    assert len(line) == 79  # as much of the name as fits, and no more
    assert line.startswith("track 1 audio: very-long-tit")
    assert "...b57.mp3  [" in line  # the middle elided; the end says what it is
    assert line.endswith(" 50%  512.0 KiB / 1.0 MiB")


class _Files(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:
        pass  # not on the test's stderr


@contextlib.contextmanager
def serving_files(folder: Path) -> Iterator[str]:
    """A plain HTTP server of ``folder`` in a thread; its base URL."""
    server = http.server.ThreadingHTTPServer(
        ("127.0.0.1", 0), functools.partial(_Files, directory=str(folder))
    )
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)


def test_the_progress_bar_names_the_file_and_its_size(tmp_path: Path) -> None:
    files = tmp_path / "served"
    files.mkdir()
    (files / "big-song.mp3").write_bytes(b"\xff" * (3 * 1024 * 1024 // 2))  # 1.5 MiB
    with serving_files(files) as url:
        code, output = on_terminal(
            "download",
            f"{url}/big-song.mp3",
            "--out",
            str(tmp_path / "saved") + "/",
            env=_env(TERM="xterm", COLUMNS="100"),
            seconds=20,
        )
    text = output.decode(errors="replace")

    assert code == 0, text
    assert "file 1: big-song.mp3  [" in text
    assert "100%  1.5 MiB / 1.5 MiB" in text
    assert "(1.5 MiB)" in text  # the saved line, in the same units
    assert (tmp_path / "saved" / "big-song.mp3").stat().st_size == 3 * 1024 * 1024 // 2
