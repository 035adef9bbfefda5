"""Timed lyric lines and LRC / SubRip / WebVTT files from the service's aligned words.

Kept free of run-time imports from ``_models`` (which imports this module); words are typed
with the ``WordLike`` protocol instead.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from decimal import ROUND_HALF_UP, Context, Decimal
from typing import Protocol

import attrs

__all__ = ["LyricLine", "WordLike", "lines", "to_lrc", "to_srt", "to_vtt"]

# Shortest display time given to a zero-length SubRip/WebVTT cue (capped at the next cue).
_MIN_CUE_MS = 500
# Times beyond this (about 31 years) are treated as unaligned, which keeps arithmetic finite.
_MAX_S = 1e9
# Time given to each line after the last aligned one, which has no later neighbour to use.
_TRAILING_LINE_S = 2.0

# A line made only of bracketed tokens: "[Verse]", "[Chorus 2]", "[Bridge] [x2]".
_MARKER_LINE = re.compile(r"(?:\[[^\[\]]*\]\s*)+")
# Enough digits for any finite float, so quantizing never raises.
_DECIMAL = Context(prec=400, rounding=ROUND_HALF_UP)


class WordLike(Protocol):
    """What this module reads from an aligned word (``_models.AlignedWord`` fits)."""

    @property
    def word(self) -> str: ...

    @property
    def start_s(self) -> float: ...

    @property
    def end_s(self) -> float: ...

    @property
    def success(self) -> bool: ...


@attrs.frozen
class LyricLine:
    """One timed line of lyrics, as :meth:`TimestampedLyrics.lines` gives them (immutable).

    Lines made only of section markers such as ``[Chorus]`` are not given, nor empty ones.

    Attributes:
        text: the line's words joined by single spaces.
        start_s: when the line starts, in seconds from the start of the audio; never before
            the previous line's start.
        end_s: when it ends, in seconds; never before ``start_s``, never after the next
            line's start.
        words: each word of the line as a ``(word, start_s, end_s)`` tuple, in order and
            within the line's span; a word the service could not align gets times taken
            from its neighbours (or spread over the line).
    """

    text: str
    start_s: float
    end_s: float
    words: tuple[tuple[str, float, float], ...]


Line = LyricLine  # the former name, still used by tests


@attrs.define
class _Piece:
    text: str
    start: float = 0.0
    end: float = 0.0
    timed: bool = False


def lines(words: Sequence[WordLike]) -> list[LyricLine]:
    """Group aligned words into timed lines; section markers and empty lines are dropped.

    Line times never decrease, never overlap, and are not taken from unaligned words.
    """
    groups = [g for g in _split_lines(words) if not _is_marker_line(g)]
    spans = _line_spans(groups)
    result: list[LyricLine] = []
    for pieces, (start, end) in zip(groups, spans, strict=True):
        _place_pieces(pieces, start, end)
        result.append(
            LyricLine(
                text=" ".join(p.text for p in pieces),
                start_s=start,
                end_s=end,
                words=tuple((p.text, p.start, p.end) for p in pieces),
            )
        )
    return result


def to_lrc(words: Sequence[WordLike], *, word_level: bool = False) -> str:
    """An LRC file, ``[mm:ss.xx]line`` per line; ``word_level`` adds ``<mm:ss.xx>`` word tags."""
    out: list[str] = []
    for line in lines(words):
        if word_level:
            body = " ".join(f"<{_lrc_time(s)}>{text}" for text, s, _ in line.words)
        else:
            body = line.text
        out.append(f"[{_lrc_time(line.start_s)}]{body}\n")
    return "".join(out)


def to_srt(words: Sequence[WordLike]) -> str:
    """A SubRip file: numbered cues ``HH:MM:SS,mmm --> HH:MM:SS,mmm``, one per line."""
    blocks = [
        f"{n}\n{_clock(start, ',')} --> {_clock(end, ',')}\n{text}\n"
        for n, (start, end, text) in enumerate(_cues(words), start=1)
    ]
    return "\n".join(blocks)


def to_vtt(words: Sequence[WordLike]) -> str:
    """A WebVTT file: ``WEBVTT``, then cues ``HH:MM:SS.mmm --> HH:MM:SS.mmm``, one per line."""
    blocks = [
        f"{_clock(start, '.')} --> {_clock(end, '.')}\n{_vtt_escape(text)}\n"
        for start, end, text in _cues(words)
    ]
    return "\n".join(["WEBVTT\n", *blocks])


# --- grouping ---


def _split_lines(words: Sequence[WordLike]) -> list[list[_Piece]]:
    groups: list[list[_Piece]] = [[]]
    for w in words:
        raw = w.word.replace("\r\n", "\n").replace("\r", "\n")
        parts = [" ".join(part.split()) for part in raw.split("\n")]
        # A word spanning a line break shares its time among its lyric parts by length;
        # marker parts ("[Verse]") get none.
        weights = [0 if not p or _is_marker(p) else len(p) for p in parts]
        total = sum(weights)
        timed = _is_timed(w) and total > 0
        start, end = float(w.start_s), float(w.end_s)
        done = 0
        for index, (text, weight) in enumerate(zip(parts, weights, strict=True)):
            if index:
                groups.append([])
            if not text:
                continue
            piece = _Piece(text)
            if timed and weight:
                piece.timed = True
                piece.start = start + (end - start) * (done / total)
                done += weight
                piece.end = end if done == total else start + (end - start) * (done / total)
            groups[-1].append(piece)
    return [g for g in groups if g]


def _is_timed(w: WordLike) -> bool:
    start, end = w.start_s, w.end_s
    return (
        bool(w.success)
        and math.isfinite(start)
        and math.isfinite(end)
        and start >= 0
        and end > 0
        and start <= end <= _MAX_S
    )


def _is_marker(text: str) -> bool:
    return _MARKER_LINE.fullmatch(text) is not None


def _is_marker_line(pieces: list[_Piece]) -> bool:
    return _is_marker(" ".join(p.text for p in pieces))


# --- timing ---


def _line_spans(groups: list[list[_Piece]]) -> list[tuple[float, float]]:
    raw: list[tuple[float, float] | None] = []
    for pieces in groups:
        timed = [p for p in pieces if p.timed]
        raw.append((timed[0].start, max(timed[-1].end, timed[0].start)) if timed else None)

    # Lines without any aligned word share the gap between their aligned neighbours.
    spans: list[tuple[float, float]] = []
    i = 0
    while i < len(raw):
        span = raw[i]
        if span is not None:
            spans.append(span)
            i += 1
            continue
        j = i
        while j < len(raw) and raw[j] is None:
            j += 1
        lo = spans[-1][1] if spans else 0.0
        nxt = raw[j] if j < len(raw) else None
        hi = max(lo, nxt[0]) if nxt is not None else lo + _TRAILING_LINE_S * (j - i)
        spans.extend(_spread(j - i, lo, hi))
        i = j

    # Non-decreasing starts: a line that goes back in time is moved after its predecessor.
    fixed: list[tuple[float, float]] = []
    for start, end in spans:
        if fixed and start < fixed[-1][0]:
            start = fixed[-1][1]
        fixed.append((start, max(start, end)))
    # No overlap: an end is clipped to the next line's start.
    return [
        (start, min(end, fixed[k + 1][0]) if k + 1 < len(fixed) else end)
        for k, (start, end) in enumerate(fixed)
    ]


def _place_pieces(pieces: list[_Piece], line_start: float, line_end: float) -> None:
    """Give every piece a span inside the line, in order; untimed ones take their neighbours'."""
    i = 0
    while i < len(pieces):
        if pieces[i].timed:
            i += 1
            continue
        j = i
        while j < len(pieces) and not pieces[j].timed:
            j += 1
        before = pieces[i - 1].end if i > 0 else None
        after = pieces[j].start if j < len(pieces) else None
        if before is not None and after is not None:
            lo, hi = before, max(before, after)
        elif before is not None:
            lo = hi = before
        elif after is not None:
            lo = hi = after
        else:
            lo, hi = line_start, line_end
        for piece, (start, end) in zip(pieces[i:j], _spread(j - i, lo, hi), strict=True):
            piece.start, piece.end = start, end
        i = j

    floor = line_start
    for piece in pieces:
        start = min(max(piece.start, floor), line_end)
        piece.start, piece.end = start, min(max(piece.end, start), line_end)
        floor = start


def _spread(count: int, lo: float, hi: float) -> list[tuple[float, float]]:
    step = (hi - lo) / count
    return [(lo + step * k, hi if k == count - 1 else lo + step * (k + 1)) for k in range(count)]


# --- formatting ---


def _units(seconds: float, per_second: int) -> int:
    """``seconds`` in whole ``1/per_second`` units, rounded half up on its decimal form."""
    value = Decimal(repr(max(seconds, 0.0))) * per_second
    return int(value.to_integral_value(context=_DECIMAL))


def _lrc_time(seconds: float) -> str:
    minutes, rest = divmod(_units(seconds, 100), 6000)
    return f"{minutes:02d}:{rest // 100:02d}.{rest % 100:02d}"


def _clock(ms: int, separator: str) -> str:
    hours, rest = divmod(ms, 3_600_000)
    minutes, rest = divmod(rest, 60_000)
    return f"{hours:02d}:{minutes:02d}:{rest // 1000:02d}{separator}{rest % 1000:03d}"


def _cues(words: Sequence[WordLike]) -> list[tuple[int, int, str]]:
    """Lines as ``(start_ms, end_ms, text)``; zero-length ones lengthened up to the next."""
    timed = [(_units(ln.start_s, 1000), _units(ln.end_s, 1000), ln.text) for ln in lines(words)]
    cues: list[tuple[int, int, str]] = []
    for k, (start, end, text) in enumerate(timed):
        if end <= start:
            end = start + _MIN_CUE_MS
            if k + 1 < len(timed):
                end = max(start, min(end, timed[k + 1][0]))
        cues.append((start, end, text))
    return cues


def _vtt_escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
