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
from typing import Any, TextIO

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
    """``1536`` -> ``"1.5 KB"``."""
    for unit in ("B", "KB", "MB"):
        if count < 1024 or unit == "MB":
            return f"{count:.0f} {unit}" if unit == "B" else f"{count:.1f} {unit}"
        count /= 1024
    raise AssertionError("unreachable")


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
        out: where events go (stdout).
        err: where error lines and notes go on a terminal (stderr).
    """

    def __init__(
        self, *, json_lines: bool, out: TextIO | None = None, err: TextIO | None = None
    ) -> None:
        self.json_lines = json_lines
        self._out = out or sys.stdout
        self._err = err or sys.stderr
        self._start = time.monotonic()
        encoding = (getattr(self._out, "encoding", None) or "").lower().replace("-", "")
        self._unicode = encoding == "utf8"
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
        """Something the user should know that is not an error (a missing extra, a warning)."""
        if self.json_lines:
            self.emit("notice", message=message)
        else:
            self._line(f"note: {visible(message)}", stream=self._err)

    def error(self, kind: str, message: str, exit_code: int) -> None:
        """The one line a failed command ends with (stderr), plus its JSON event."""
        if self.json_lines:
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
        self.status(lambda: f"{self._spin()} {what}  {self.elapsed:.1f}s")

    def status(self, render: Callable[[], str] | None) -> None:
        """Set (or with ``None`` clear) the live line; ``render`` is called at every redraw."""
        if self.json_lines:
            return
        self._erase()
        self._status = render
        self._draw()

    def progress(self, label: str) -> Callable[[int, int | None], None]:
        """A download progress callback drawing ``label`` with a bar, percentage and sizes."""
        seen: list[int | None] = [0, None]

        def render() -> str:
            done, total = seen[0] or 0, seen[1]
            if total:
                width = 24
                filled = min(width, done * width // total)
                full, empty = ("█", "░") if self._unicode else ("#", "-")
                bar = full * filled + empty * (width - filled)
                return (
                    f"{label}  [{bar}] {done * 100 // total:3d}%  "
                    f"{human_bytes(done)} / {human_bytes(total)}"
                )
            return f"{self._spin()} {label}  {human_bytes(done)}"

        def update(done: int, total: int | None) -> None:
            seen[0], seen[1] = done, total
            now = time.monotonic()
            if now - self._last_draw >= 0.05 or (total is not None and done >= total):
                self._erase()
                self._draw()

        self.status(render)
        return update

    def _spin(self) -> str:
        frames = _SPINNER_UNICODE if self._unicode else _SPINNER_ASCII
        return frames[self._frame % len(frames)]

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
