"""What the command line shows: a live display on a terminal, JSON lines otherwise.

On a terminal, each event is one permanent line prefixed with the elapsed time, and one live
status line below them (a spinner while waiting, a bar while downloading) is redrawn in place.
Otherwise every event is one JSON object per line on stdout, flushed at once, and the live line
is never drawn.

Text from the network (titles, styles, ids, URLs, failure messages) may hold terminal escape
sequences or characters stdout cannot encode, so everything written passes :func:`visible`
(terminal) or :func:`json_text` (JSON lines) on its way out: no byte from the network can move
the cursor, retitle the window or abort the run.
"""

from __future__ import annotations

import asyncio
import json
import re
import shutil
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, TextIO

from ._download import FileProgress

_SPINNER_UNICODE = "⠋⠙⠹⠸⠼⠴⠦⠧⠇⠏"
_SPINNER_ASCII = "|/-\\"
_CLEAR = "\r\x1b[K"

# C0 and C1 controls (ESC starts CSI/OSC sequences; C1 0x9b and 0x9d are CSI and OSC on their
# own), lone surrogates (stdout cannot encode them), line separators and bidi controls (they
# reorder what is shown).
_RISKY = "\x7f-\x9f\ud800-\udfff\u061c\u200e\u200f\u2028-\u202e\u2066-\u2069"
_UNSAFE = re.compile(f"[\x00-\x1f{_RISKY}]")
# json.dumps(ensure_ascii=False) escapes C0 controls itself but leaves these raw.
_JSON_UNSAFE = re.compile(f"[{_RISKY}]")


def _escape(match: re.Match[str]) -> str:
    code = ord(match.group())
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def visible(text: str, *, lines: bool = False) -> str:
    """``text`` safe to print: control characters and the like shown as ``\\x1b``-style escapes.

    Args:
        text: anything, typically holding text from the network.
        lines: keep newlines and tabs (a multi-line document such as lyrics).
    """
    if lines:
        return _UNSAFE.sub(lambda m: m.group() if m.group() in "\n\t" else _escape(m), text)
    return _UNSAFE.sub(_escape, text)


def json_text(value: Any, *, indent: int | None = None) -> str:
    """``value`` as JSON that decodes to exactly ``value`` and is safe to print and encode."""
    text = json.dumps(value, ensure_ascii=False, indent=indent)
    # A \uXXXX escape decodes back to the very same character, lone surrogates included.
    return _JSON_UNSAFE.sub(lambda m: f"\\u{ord(m.group()):04x}", text)


class CommandError(Exception):
    """A command cannot go on; ``exit_code`` is what the process exits with."""

    def __init__(self, message: str, exit_code: int = 1) -> None:
        super().__init__(message)
        self.exit_code = exit_code


def human_bytes(count: float) -> str:
    """A size in binary units, labelled as such: ``1536`` -> ``"1.5 KiB"`` (1 KiB = 1024 B)."""
    for unit in ("B", "KiB", "MiB", "GiB"):
        if count < 1024 or unit == "GiB":
            return f"{count:.0f} {unit}" if unit == "B" else f"{count:.1f} {unit}"
        count /= 1024
    raise AssertionError("unreachable")


def _fit(name: str, room: int, ellipsis: str) -> str:
    """``name`` in at most ``room`` characters (at least 8), its middle elided: the start and
    the extension say which file it is."""
    room = max(room, 8)
    if len(name) <= room:
        return name
    tail = (room - len(ellipsis)) // 3
    return f"{name[: room - len(ellipsis) - tail]}{ellipsis}{name[-tail:]}"


def clock(seconds: float | None) -> str:
    """``192.4`` -> ``"3:12"``; ``None`` -> ``"?:??"``."""
    if seconds is None:
        return "?:??"
    whole = round(seconds)
    return f"{whole // 60}:{whole % 60:02d}"


class Output:
    """The CLI's reporter. ``json_lines`` picks JSON lines over the terminal display.

    Args:
        json_lines: write one JSON object per event instead of the terminal display.
        json_asked: JSON lines were asked for (``--json``), not implied by stdout being a file
            or a pipe: only then does a failed command end with a JSON error event on stdout.
            Default: ``json_lines``.
        document: stdout carries a document (``timestamps > song.srt``): notes go to stderr.
        out: where events go (stdout).
        err: where error lines and notes go on a terminal (stderr).
    """

    def __init__(
        self,
        *,
        json_lines: bool,
        json_asked: bool | None = None,
        document: bool = False,
        out: TextIO | None = None,
        err: TextIO | None = None,
    ) -> None:
        self.json_lines = json_lines
        self.json_asked = json_lines if json_asked is None else json_asked
        self.document = document
        self._out = out or sys.stdout
        self._err = err or sys.stderr
        self._start = time.monotonic()
        encoding = (getattr(self._out, "encoding", None) or "").lower().replace("-", "")
        self.unicode = encoding == "utf8"
        self._status: Callable[[], str] | None = None
        self._drawn = False
        self._frame = 0
        self._last_draw = 0.0
        self._ticker: asyncio.Task[None] | None = None

    @property
    def elapsed(self) -> float:
        """Seconds since the command started."""
        return time.monotonic() - self._start

    # --- events ---

    def emit(self, event: str, text: str | None = None, /, **fields: Any) -> None:
        """Report one event: ``text`` on a terminal (skipped when ``None``), else a JSON line."""
        if self.json_lines:
            record = {"event": event, **fields, "elapsed": round(self.elapsed, 2)}
            self._out.write(json_text(record) + "\n")
            self._out.flush()
        elif text is not None:
            self._line(f"{self.elapsed:6.1f}s  {visible(text)}")

    def say(self, text: str = "", *, lines: bool = False) -> None:
        """A plain line on a terminal (results, listings); nothing in JSON mode.

        ``lines`` keeps the newlines of a multi-line text (lyrics); else a newline from the
        network is shown as ``\\x0a`` and cannot fake a line of its own.
        """
        if not self.json_lines:
            self._line(visible(text, lines=lines))

    def raw(self, text: str) -> None:
        """Write ``text`` to stdout (a document that is the command's output), its lines and
        tabs as they are and any other control character made visible."""
        self._erase()
        self._out.write(visible(text, lines=True))
        self._out.flush()

    def notice(self, message: str) -> None:
        """Something the user should know that is not an error (a missing extra, a warning):
        a JSON event, or a line on stderr (on a terminal, or when stdout is a document)."""
        if self.json_lines and not self.document:
            self.emit("notice", message=message)
        else:
            self._line(f"note: {visible(message)}", stream=self._err)

    def error(self, kind: str, message: str, exit_code: int) -> None:
        """The one line a failed command ends with, on stderr; under ``--json`` also its JSON
        event on stdout. Without ``--json`` nothing of it goes to stdout, which may be a file
        the user is making (``timestamps ... > song.srt``)."""
        if self.json_lines and self.json_asked:
            self.emit("error", type=kind, message=message, exit=exit_code)
        self._line(f"error: {visible(message)}", stream=self._err)

    def _line(self, text: str, *, stream: TextIO | None = None) -> None:
        self._erase()
        target = stream or self._out
        target.write(text + "\n")
        target.flush()
        self._draw()

    # --- the live status line (terminal only) ---

    def waiting(self, what: str) -> None:
        """Show a spinner with the elapsed time while waiting for ``what``."""
        self.status(lambda: f"{self.spin()} {what}  {self.elapsed:.1f}s")

    def status(self, render: Callable[[], str] | None) -> None:
        """Set (or with ``None`` clear) the live line; ``render`` is called at every redraw."""
        if self.json_lines:
            return
        self._erase()
        self._status = render
        self._draw()

    def progress(self, label: str) -> FileProgress:
        """A download progress callback drawing ``label``, the file's name (once the download
        names it), a bar, the percentage and the sizes."""
        bar = _Bar(self, label)
        self.status(bar.render)
        return bar

    def spin(self) -> str:
        """The spinner's frame now."""
        frames = _SPINNER_UNICODE if self.unicode else _SPINNER_ASCII
        return frames[self._frame % len(frames)]

    def redraw(self, *, now: bool = False) -> None:
        """Redraw the live line, at most every 50 ms unless ``now``."""
        if now or time.monotonic() - self._last_draw >= 0.05:
            self._erase()
            self._draw()

    def _erase(self) -> None:
        if self._drawn:
            self._out.write(_CLEAR)
            self._drawn = False

    def _draw(self) -> None:
        if self._status is None or self.json_lines:
            return
        width = shutil.get_terminal_size((80, 24)).columns
        # A line wider than the terminal would wrap, and "\r" could not erase it.
        self._out.write(visible(self._status())[: max(width - 1, 10)])
        self._out.flush()
        self._drawn = True
        self._last_draw = time.monotonic()

    async def __aenter__(self) -> Output:
        if not self.json_lines:
            self._ticker = asyncio.get_running_loop().create_task(self._tick())
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        if self._ticker is not None:
            self._ticker.cancel()
            await asyncio.gather(self._ticker, return_exceptions=True)
            self._ticker = None
        self.status(None)

    async def _tick(self) -> None:
        while True:
            await asyncio.sleep(0.1)
            self._frame += 1
            if self._status is not None:
                self._erase()
                self._draw()


class _Bar(FileProgress):
    """A download's live line: ``track 1 audio: song.mp3  [████░░░░]  50%  1.2 MiB / 2.4 MiB``."""

    def __init__(self, out: Output, label: str) -> None:
        self._out = out
        self._label = label
        self._name = ""
        self._done = 0
        self._total: int | None = None

    def file(self, path: Path) -> None:
        self._name = path.name
        self._out.redraw(now=True)

    def __call__(self, done: int, total: int | None) -> None:
        self._done, self._total = done, total
        self._out.redraw(now=total is not None and done >= total)

    def render(self) -> str:
        done, total = self._done, self._total
        if total:
            head = self._label
            tail = f" {done * 100 // total:3d}%  {human_bytes(done)} / {human_bytes(total)}"
        else:
            head = f"{self._out.spin()} {self._label}"
            tail = f"  {human_bytes(done)}"
        if self._name:
            head += ": "
        # What the name and the bar share of a line that must not wrap (see Output._draw).
        room = shutil.get_terminal_size((80, 24)).columns - 1 - len(head) - len(tail)
        if total:
            # The bar gives way to the name, down to 8 cells.
            width = max(8, min(24, room - 4 - min(len(self._name), 24)))
            filled = min(width, done * width // total)
            full, empty = ("█", "░") if self._out.unicode else ("#", "-")
            tail = f"  [{full * filled}{empty * (width - filled)}]{tail}"
            room -= width + 4
        if not self._name:
            return head + tail
        return head + _fit(self._name, room, "…" if self._out.unicode else "...") + tail
