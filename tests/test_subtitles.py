"""Lyric lines and LRC / SRT / WebVTT output from aligned words."""

from __future__ import annotations

import importlib.util
import math
import re
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

import attrs
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

try:
    from anyint_music import _subtitles as subs
    from anyint_music._models import AlignedWord, TimestampedLyrics
except Exception:  # other modules of the package may be mid-edit; test this one alone
    TimestampedLyrics = None  # type: ignore[assignment,misc]

    def _load_alone() -> ModuleType:
        path = Path(__file__).parents[1] / "anyint_music" / "_subtitles.py"
        spec = importlib.util.spec_from_file_location("_subtitles_under_test", path)
        assert spec is not None
        assert spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        sys.modules[spec.name] = module  # attrs resolves annotations through sys.modules
        spec.loader.exec_module(module)
        return module

    subs = _load_alone()

    @attrs.frozen
    class AlignedWord:  # type: ignore[no-redef]
        word: str
        start_s: float
        end_s: float
        success: bool = True
        palign: float = 0.0


def w(text: str, start: float, end: float, success: bool = True) -> Any:
    return AlignedWord(word=text, start_s=start, end_s=end, success=success)


def one(start: float, end: float | None = None) -> list[Any]:
    return [w("Hey\n", start, start + 1.0 if end is None else end)]


# --- strict parsers, as a player would read the files ---

_SRT_TIME = r"(\d{2,}):([0-5]\d):([0-5]\d),(\d{3})"
_VTT_TIME = r"(\d{2,}):([0-5]\d):([0-5]\d)\.(\d{3})"
_LRC_TIME = r"(\d{2,}):([0-5]\d)\.(\d{2})"


def _seconds(parts: tuple[str, ...]) -> float:
    h, m, s, ms = (int(p) for p in parts)
    return h * 3600 + m * 60 + s + ms / 1000


def _check_cues(cues: list[tuple[float, float, str]]) -> None:
    for k, (start, end, text) in enumerate(cues):
        assert start <= end, cues[k]
        assert text.strip() == text
        assert text
        if k + 1 < len(cues):
            assert end <= cues[k + 1][0], (cues[k], cues[k + 1])


def parse_srt(data: str) -> list[tuple[float, float, str]]:
    if data == "":
        return []
    assert data.endswith("\n")
    assert not data.endswith("\n\n")
    cues = []
    for n, block in enumerate(data[:-1].split("\n\n"), start=1):
        rows = block.split("\n")
        assert rows[0] == str(n), block
        timing = re.fullmatch(f"{_SRT_TIME} --> {_SRT_TIME}", rows[1])
        assert timing is not None, rows[1]
        text = rows[2:]
        assert text, block
        assert all(row.strip() for row in text), block
        groups = timing.groups()
        cues.append((_seconds(groups[:4]), _seconds(groups[4:]), "\n".join(text)))
    _check_cues(cues)
    return cues


def parse_vtt(data: str) -> list[tuple[float, float, str]]:
    if data == "WEBVTT\n":
        return []
    assert data.startswith("WEBVTT\n\n")
    assert data.endswith("\n")
    assert not data.endswith("\n\n")
    cues = []
    for block in data[len("WEBVTT\n\n") : -1].split("\n\n"):
        rows = block.split("\n")
        timing = re.fullmatch(f"{_VTT_TIME} --> {_VTT_TIME}", rows[0])
        assert timing is not None, rows[0]
        text = rows[1:]
        assert text, block
        for row in text:
            assert row.strip(), block
            assert "-->" not in row
            assert "<" not in row
            assert ">" not in row
            assert re.search(r"&(?!amp;|lt;|gt;)", row) is None, row
        groups = timing.groups()
        cues.append((_seconds(groups[:4]), _seconds(groups[4:]), "\n".join(text)))
    _check_cues(cues)
    return cues


def parse_lrc(data: str) -> list[tuple[float, str]]:
    if data == "":
        return []
    assert data.endswith("\n")
    rows = []
    for row in data[:-1].split("\n"):
        match = re.fullmatch(rf"\[{_LRC_TIME}\](.+)", row)
        assert match is not None, row
        m, s, cs, text = match.groups()
        rows.append((int(m) * 60 + int(s) + int(cs) / 100, text))
    assert [t for t, _ in rows] == sorted(t for t, _ in rows)
    return rows


def vtt_unescape(text: str) -> str:
    return text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")


# --- a realistic song ---

SONG = [
    w("[Verse]\nCity ", 12.0, 12.4),
    w("lights ", 12.4, 12.9),
    w("are ", 12.9, 13.1),
    w("calling\n", 13.1, 14.2),
    w("Down ", 14.5, 14.8),
    w("the ", 14.8, 15.0),
    w("avenue\n\n", 15.0, 16.3),
    w("[Chorus]\nWe ", 20.0, 20.3),
    w("sing ", 20.3, 20.8),
    w("all ", 20.8, 21.0),
    w("night\n", 21.0, 22.5),
    w("We ", 22.5, 22.7),
    w("sing ", 22.7, 23.1),
    w("till ", 23.1, 23.4),
    w("light\n", 23.4, 25.0),
]


def test_lines_of_a_song() -> None:
    got = subs.lines(SONG)
    assert [(ln.text, ln.start_s, ln.end_s) for ln in got] == [
        ("City lights are calling", 12.0, 14.2),
        ("Down the avenue", 14.5, 16.3),
        ("We sing all night", 20.0, 22.5),
        ("We sing till light", 22.5, 25.0),
    ]
    assert got[0].words == (
        ("City", 12.0, 12.4),
        ("lights", 12.4, 12.9),
        ("are", 12.9, 13.1),
        ("calling", 13.1, 14.2),
    )
    assert isinstance(got[0], subs.Line)


def test_lrc_of_a_song() -> None:
    assert subs.to_lrc(SONG) == (
        "[00:12.00]City lights are calling\n"
        "[00:14.50]Down the avenue\n"
        "[00:20.00]We sing all night\n"
        "[00:22.50]We sing till light\n"
    )


def test_enhanced_lrc_of_a_song() -> None:
    assert subs.to_lrc(SONG, word_level=True) == (
        "[00:12.00]<00:12.00>City <00:12.40>lights <00:12.90>are <00:13.10>calling\n"
        "[00:14.50]<00:14.50>Down <00:14.80>the <00:15.00>avenue\n"
        "[00:20.00]<00:20.00>We <00:20.30>sing <00:20.80>all <00:21.00>night\n"
        "[00:22.50]<00:22.50>We <00:22.70>sing <00:23.10>till <00:23.40>light\n"
    )


def test_srt_of_a_song() -> None:
    assert subs.to_srt(SONG) == (
        "1\n00:00:12,000 --> 00:00:14,200\nCity lights are calling\n"
        "\n"
        "2\n00:00:14,500 --> 00:00:16,300\nDown the avenue\n"
        "\n"
        "3\n00:00:20,000 --> 00:00:22,500\nWe sing all night\n"
        "\n"
        "4\n00:00:22,500 --> 00:00:25,000\nWe sing till light\n"
    )


def test_vtt_of_a_song() -> None:
    assert subs.to_vtt(SONG) == (
        "WEBVTT\n"
        "\n"
        "00:00:12.000 --> 00:00:14.200\nCity lights are calling\n"
        "\n"
        "00:00:14.500 --> 00:00:16.300\nDown the avenue\n"
        "\n"
        "00:00:20.000 --> 00:00:22.500\nWe sing all night\n"
        "\n"
        "00:00:22.500 --> 00:00:25.000\nWe sing till light\n"
    )


def test_parse_back_srt_and_vtt() -> None:
    texts = [ln.text for ln in subs.lines(SONG)]
    for cues in (parse_srt(subs.to_srt(SONG)), parse_vtt(subs.to_vtt(SONG))):
        assert len(cues) == 4
        assert [text for _, _, text in cues] == texts
        assert cues[0][:2] == (12.0, 14.2)
    assert len(parse_lrc(subs.to_lrc(SONG))) == 4


@pytest.mark.skipif(TimestampedLyrics is None, reason="_models not importable right now")
def test_timestamped_lyrics_delegates() -> None:
    lyrics = TimestampedLyrics(words=tuple(SONG))
    assert lyrics.lines() == subs.lines(SONG)
    assert lyrics.to_lrc() == subs.to_lrc(SONG)
    assert lyrics.to_lrc(word_level=True) == subs.to_lrc(SONG, word_level=True)
    assert lyrics.to_srt() == subs.to_srt(SONG)
    assert lyrics.to_vtt() == subs.to_vtt(SONG)


# --- time formatting ---


@pytest.mark.parametrize(
    ("start", "lrc", "srt"),
    [
        (0.0, "00:00.00", "00:00:00,000"),
        (59.999, "01:00.00", "00:00:59,999"),
        (59.995, "01:00.00", "00:00:59,995"),
        (59.994, "00:59.99", "00:00:59,994"),
        (0.125, "00:00.13", "00:00:00,125"),  # half up, not half even
        (1.005, "00:01.01", "00:00:01,005"),  # the decimal value, not 1.00499999...
        (0.0005, "00:00.00", "00:00:00,001"),
        (3599.9996, "60:00.00", "01:00:00,000"),
        (3725.5, "62:05.50", "01:02:05,500"),
        (4503.25, "75:03.25", "01:15:03,250"),
        (360000.0, "6000:00.00", "100:00:00,000"),
    ],
)
def test_time_formatting(start: float, lrc: str, srt: str) -> None:
    words = [w("Hey\n", start, start + 2.0)]
    assert subs.to_lrc(words) == f"[{lrc}]Hey\n"
    assert subs.to_lrc(words, word_level=True) == f"[{lrc}]<{lrc}>Hey\n"
    assert subs.to_srt(words).split("\n")[1].startswith(f"{srt} --> ")
    assert subs.to_vtt(words).split("\n")[2].startswith(f"{srt.replace(',', '.')} --> ")


def test_end_rounding_carries() -> None:
    words = [w("Hey\n", 1.0, 59.9996), w("Ho\n", 3599.0, 3599.9999)]
    srt = subs.to_srt(words)
    assert "00:00:01,000 --> 00:01:00,000\n" in srt
    assert "00:59:59,000 --> 01:00:00,000\n" in srt
    assert "00:01:00.000\n" in subs.to_vtt(words)


# --- markers, whitespace, newlines ---


def test_marker_only_words_never_become_lines() -> None:
    words = [
        w("[Intro]\n", 0.0, 0.0, success=False),
        w("[Verse 1]\n", 1.0, 2.0),
        w("Hello ", 2.0, 2.5),
        w("world\n", 2.5, 3.0),
        w("[Chorus ", 3.0, 3.1),  # a marker split over two words
        w("2]\n", 3.1, 3.2),
        w("[Bridge] [x2]\n", 3.2, 3.3),
        w("Again\n", 4.0, 4.5),
        w("[Outro]", 5.0, 5.5),
    ]
    assert subs.to_lrc(words) == "[00:02.00]Hello world\n[00:04.00]Again\n"
    # The marker prefix takes no time from the word it is glued to.
    assert subs.lines([w("[Verse]\nFirst", 1.25, 1.8)])[0].words == (("First", 1.25, 1.8),)


def test_only_markers_is_like_instrumental() -> None:
    words = [w("[Instrumental]\n", 0.0, 10.0), w("[Outro]\n\n", 10.0, 20.0)]
    assert subs.lines(words) == []
    assert subs.to_lrc(words) == ""
    assert subs.to_srt(words) == ""
    assert subs.to_vtt(words) == "WEBVTT\n"


def test_brackets_inside_a_lyric_line_are_kept() -> None:
    words = [w("[Verse]\n", 0.5, 0.6), w("Hey ", 1.0, 1.5), w("[yeah]\n", 1.5, 2.0)]
    assert subs.to_lrc(words) == "[00:01.00]Hey [yeah]\n"


def test_stray_newlines_and_spaces() -> None:
    words = [
        w("\n\n", 0.5, 0.6),
        w("  Big   ", 1.0, 1.5),
        w("bad ", 1.5, 2.0),
        w("wolf\n\n", 2.0, 2.5),
        w("\n", 2.5, 2.6),
        w(" \n \n", 2.6, 2.7),
        w("\tRuns\r\n", 3.0, 3.5),
        w("away", 3.5, 4.0),
        w("home", 4.0, 4.5),
    ]
    got = subs.lines(words)
    assert [ln.text for ln in got] == ["Big bad wolf", "Runs", "away home"]
    assert got[0].words[0] == ("Big", 1.0, 1.5)
    assert subs.to_lrc(words) == "[00:01.00]Big bad wolf\n[00:03.00]Runs\n[00:03.50]away home\n"


def test_word_split_by_a_newline_shares_its_time() -> None:
    # By length: "end" gets 3/8 of the two seconds, "Start" 5/8.
    got = subs.lines([w("Hi ", 0.0, 1.0), w("end\nStart ", 1.0, 3.0), w("now\n", 3.0, 4.0)])
    assert [(ln.text, ln.start_s, ln.end_s) for ln in got] == [
        ("Hi end", 0.0, 1.75),
        ("Start now", 1.75, 4.0),
    ]


# --- unaligned words ---


@pytest.mark.parametrize(
    ("start", "end", "success"),
    [
        (99.0, 99.5, False),
        (0.0, 0.0, True),
        (-1.0, 1.4, True),
        (1.2, -3.0, True),
        (math.nan, 1.4, True),
        (1.2, math.nan, True),
        (math.inf, math.inf, True),
        (1.4, 1.2, True),
    ],
)
def test_unaligned_word_keeps_text_not_time(start: float, end: float, success: bool) -> None:
    words = [
        w("One ", 1.0, 1.2),
        w("two ", start, end, success),
        w("three\n", 1.6, 2.0),
        w("Four\n", 2.5, 3.0),
    ]
    got = subs.lines(words)
    assert [(ln.text, ln.start_s, ln.end_s) for ln in got] == [
        ("One two three", 1.0, 2.0),
        ("Four", 2.5, 3.0),
    ]
    # Placed between its neighbours.
    assert got[0].words[1] == ("two", 1.2, 1.6)
    assert subs.to_lrc(words, word_level=True).startswith(
        "[00:01.00]<00:01.00>One <00:01.20>two <00:01.60>three\n"
    )


def test_unaligned_words_at_line_edges_do_not_stretch_the_line() -> None:
    words = [
        w("Oh ", 0.0, 0.0, success=False),
        w("my\n", 5.0, 6.0),
        w("Last ", 7.0, 8.0),
        w("words\n", 500.0, 600.0, success=False),
        w("Next\n", 30.0, 31.0),
    ]
    got = subs.lines(words)
    assert [(ln.text, ln.start_s, ln.end_s) for ln in got] == [
        ("Oh my", 5.0, 6.0),
        ("Last words", 7.0, 8.0),
        ("Next", 30.0, 31.0),
    ]
    assert got[0].words == (("Oh", 5.0, 5.0), ("my", 5.0, 6.0))
    assert got[1].words == (("Last", 7.0, 8.0), ("words", 8.0, 8.0))


def test_fully_unaligned_lines_use_neighbours() -> None:
    words = [
        w("Lost\n", 0.0, 0.0, success=False),
        w("Found ", 4.0, 5.0),
        w("you\n", 5.0, 6.0),
        w("Where ", 0.0, 0.0, success=False),
        w("are\n", 0.0, 0.0, success=False),
        w("Here\n", 10.0, 11.0),
        w("Gone\n", -5.0, -4.0),
        w("Bye\n", math.nan, math.nan),
    ]
    got = subs.lines(words)
    assert [(ln.text, ln.start_s, ln.end_s) for ln in got] == [
        ("Lost", 0.0, 4.0),
        ("Found you", 4.0, 6.0),
        ("Where are", 6.0, 10.0),
        ("Here", 10.0, 11.0),
        ("Gone", 11.0, 13.0),
        ("Bye", 13.0, 15.0),
    ]
    assert got[2].words == (("Where", 6.0, 8.0), ("are", 8.0, 10.0))
    assert len(parse_srt(subs.to_srt(words))) == 6


def test_all_unaligned() -> None:
    words = [w("No\n", 0.0, 0.0, False), w("timing\n", 0.0, 0.0, False)]
    assert subs.to_lrc(words) == "[00:00.00]No\n[00:02.00]timing\n"
    assert parse_srt(subs.to_srt(words))[1] == (2.0, 4.0, "timing")


# --- ordering and overlap ---


def test_overlapping_line_is_clipped() -> None:
    words = [w("First ", 1.0, 3.0), w("line\n", 3.0, 5.0), w("Second\n", 4.0, 6.0)]
    got = subs.lines(words)
    assert [(ln.start_s, ln.end_s) for ln in got] == [(1.0, 4.0), (4.0, 6.0)]
    assert got[0].words == (("First", 1.0, 3.0), ("line", 3.0, 4.0))
    assert [c[:2] for c in parse_srt(subs.to_srt(words))] == [(1.0, 4.0), (4.0, 6.0)]


def test_line_going_back_in_time_is_moved_after_its_predecessor() -> None:
    words = [w("Late\n", 10.0, 12.0), w("Early\n", 2.0, 3.0), w("Later\n", 13.0, 14.0)]
    got = subs.lines(words)
    assert [(ln.start_s, ln.end_s) for ln in got] == [(10.0, 12.0), (12.0, 12.0), (13.0, 14.0)]
    assert [t for t, _ in parse_lrc(subs.to_lrc(words))] == [10.0, 12.0, 13.0]
    assert parse_srt(subs.to_srt(words))[1][:2] == (12.0, 12.5)


def test_zero_length_cue_gets_minimal_duration() -> None:
    assert subs.to_srt([w("Hey\n", 5.0, 5.0)]) == "1\n00:00:05,000 --> 00:00:05,500\nHey\n"
    # ...but never runs into the next cue.
    words = [w("Hey\n", 5.0, 5.0), w("Ho\n", 5.2, 6.0)]
    assert subs.to_srt(words).split("\n")[1] == "00:00:05,000 --> 00:00:05,200"
    assert subs.to_vtt(words).split("\n")[2] == "00:00:05.000 --> 00:00:05.200"
    assert subs.lines(words)[0].end_s == 5.0


# --- instrumental, escaping ---


def test_instrumental() -> None:
    assert subs.lines([]) == []
    assert subs.to_lrc([]) == ""
    assert subs.to_lrc([], word_level=True) == ""
    assert subs.to_srt([]) == ""
    assert subs.to_vtt([]) == "WEBVTT\n"


def test_vtt_escaping() -> None:
    words = [
        w("Rock ", 1.0, 1.5),
        w("&amp; ", 1.5, 2.0),
        w("<roll> ", 2.0, 2.5),
        w("-->\n", 2.5, 3),
    ]
    assert subs.to_vtt(words) == (
        "WEBVTT\n\n00:00:01.000 --> 00:00:03.000\nRock &amp;amp; &lt;roll&gt; --&gt;\n"
    )
    cues = parse_vtt(subs.to_vtt(words))
    assert vtt_unescape(cues[0][2]) == "Rock &amp; <roll> -->"
    assert parse_srt(subs.to_srt(words))[0][2] == "Rock &amp; <roll> -->"


# --- properties ---

_TOKENS = st.sampled_from(
    [
        "[Verse]\n",
        "[Chorus 2]\n",
        "[Bridge]",
        "\n",
        "\n\n",
        " ",
        "\r\n",
        "\t",
        "la",
        "love ",
        "-->",
        "<b>",
        "&",
        "&amp;",
        "[",
        "]",
        "\u2028",
        "0",
        "1",
    ]
)
_WORD_TEXT = st.one_of(st.lists(_TOKENS, max_size=5).map("".join), st.text(max_size=8))
_TIME = st.one_of(
    st.floats(min_value=0, max_value=7200),
    st.floats(min_value=59.99, max_value=60.01),
    st.sampled_from([0.0, -1.0, math.nan, math.inf, -math.inf, 3599.9995, 1e300]),
)
_WORDS = st.lists(
    st.builds(w, _WORD_TEXT, _TIME, _TIME, st.booleans()),
    max_size=25,
)


@settings(max_examples=300, deadline=None, database=None)
@given(_WORDS)
def test_formats_stay_well_formed(words: list[Any]) -> None:
    got = subs.lines(words)
    for k, ln in enumerate(got):
        assert ln.text
        assert ln.text == " ".join(ln.text.split())
        assert ln.text == " ".join(text for text, _, _ in ln.words)
        assert re.fullmatch(r"(?:\[[^\[\]]*\]\s*)+", ln.text) is None
        assert math.isfinite(ln.start_s)
        assert math.isfinite(ln.end_s)
        assert 0 <= ln.start_s <= ln.end_s
        if k + 1 < len(got):
            assert ln.end_s <= got[k + 1].start_s
        starts = [s for _, s, _ in ln.words]
        assert starts == sorted(starts)
        assert starts[0] == ln.start_s
        for _, s, e in ln.words:
            assert ln.start_s <= s <= e <= ln.end_s

    lrc = parse_lrc(subs.to_lrc(words))
    assert [text for _, text in lrc] == [ln.text for ln in got]
    enhanced = subs.to_lrc(words, word_level=True)
    for row in enhanced.splitlines():
        assert re.fullmatch(rf"\[{_LRC_TIME}\]<{_LRC_TIME}>.+", row), row

    srt = parse_srt(subs.to_srt(words))
    vtt = parse_vtt(subs.to_vtt(words))
    assert len(srt) == len(vtt) == len(got)
    assert [text for _, _, text in srt] == [ln.text for ln in got]
    assert [vtt_unescape(text) for _, _, text in vtt] == [ln.text for ln in got]
    assert [c[:2] for c in srt] == [c[:2] for c in vtt]
