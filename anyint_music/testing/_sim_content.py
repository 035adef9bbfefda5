"""Deterministic content for the simulated gateway: ids, tracks, lyrics, timings, files.

Everything here is a pure function of its inputs, so two runs with the same requests produce the
same results and tests can tell tasks apart by what they asked for.
"""

from __future__ import annotations

import hashlib
import math
import re
import uuid
from typing import Any

MODELS = ("V4", "V4_5", "V4_5PLUS", "V4_5ALL", "V5")

# Suno codenames other aggregators report for these models (PROTOCOL §1.3, O4); V4_5ALL has no
# published codename, so it shares V4_5's.
MODEL_NAMES = {
    "V4": "chirp-v4",
    "V4_5": "chirp-auk",
    "V4_5PLUS": "chirp-bluejay",
    "V4_5ALL": "chirp-auk",
    "V5": "chirp-crow",
}

_GENRES = (
    "pop",
    "indie rock",
    "synthwave",
    "folk",
    "lo-fi hip hop",
    "funk",
    "dream pop",
    "electro house",
)
_MOODS = ("upbeat", "melancholic", "warm", "energetic", "dreamy", "nostalgic", "uplifting")
_INSTRUMENTS = (
    "bright acoustic guitar",
    "analog synth pads",
    "punchy live drums",
    "warm electric piano",
    "deep sub bass",
    "layered string section",
)
_LINES = (
    "We keep on moving through the night",
    "Every road is leading home",
    "Hold the moment, hold it tight",
    "Running with the morning light",
    "Hear the city call my name",
    "Nothing here will stay the same",
    "Dancing where the rivers bend",
    "Singing till the very end",
)


def digest(*parts: str) -> bytes:
    """Return a SHA-256 digest of the parts (joined unambiguously)."""
    return hashlib.sha256("\x1f".join(parts).encode()).digest()


def unit(*parts: str) -> float:
    """Return a deterministic float in [0, 1) derived from the parts."""
    return int.from_bytes(digest(*parts)[:8], "big") / 2**64


def pick(options: tuple[str, ...], *parts: str) -> str:
    """Pick one option deterministically from the parts."""
    return options[int.from_bytes(digest(*parts)[:4], "big") % len(options)]


def audio_id(task_id: str, index: int) -> str:
    """Return the UUID-shaped audio id of track `index` of a music task."""
    return str(uuid.UUID(bytes=digest("audio", task_id, str(index))[:16], version=4))


def duration(audio: str) -> float:
    """Return a track's duration in seconds: 60.00 up to 239.99."""
    return round(60.0 + int.from_bytes(digest("duration", audio)[:4], "big") % 18000 / 100, 2)


def title_from_prompt(prompt: str) -> str:
    """Derive a song title from a description: its first words, title-cased."""
    words = re.findall(r"[A-Za-z0-9']+", prompt)[:4]
    return " ".join(w[:1].upper() + w[1:].lower() for w in words) or "Untitled"


def style_from_prompt(prompt: str) -> str:
    """Derive a style tag string from a description."""
    return f"{pick(_GENRES, 'genre', prompt)}, {pick(_MOODS, 'mood', prompt)}"


def lyrics_from_prompt(prompt: str, variant: int = 0) -> str:
    """Write lyrics that mention `prompt` verbatim, with ``[Verse]``/``[Chorus]`` markers."""
    seed = f"{variant}:{prompt}"
    lines = sorted(_LINES, key=lambda line: digest("line", seed, line))[:5]
    return (
        f"[Verse]\n{lines[0]}\n{prompt}\n{lines[1]}\n\n"
        f"[Chorus]\n{lines[2]}\n{lines[3]}\n\n"
        f"[Verse]\n{lines[4]}\n{lines[0]}"
    )


def lyric_variants(prompt: str) -> list[dict[str, str]]:
    """Return the two lyric variants of a lyrics task (sunoapi spelling ``errorMessage``)."""
    base = title_from_prompt(prompt)
    return [
        {
            "text": lyrics_from_prompt(prompt, i),
            "title": base if i == 0 else f"{base} (Version {i + 1})",
            "status": "complete",
            "errorMessage": "",
        }
        for i in range(2)
    ]


def aligned_words(lyrics: str, length: float) -> list[dict[str, Any]]:
    """Split lyrics into Suno-style aligned words spread over a track of `length` seconds.

    Marker lines (``[Verse]``) become a prefix of the next word (``"[Verse]\\nFirst "``); each
    word keeps its trailing separator: a space inside a line, ``"\\n"`` at a line end.
    """
    words: list[str] = []
    prefix = ""
    for raw in lyrics.splitlines():
        line = raw.strip()
        if not line:
            continue
        if re.fullmatch(r"\[[^\]]*\]", line):
            prefix += line + "\n"
            continue
        tokens = line.split()
        for i, token in enumerate(tokens):
            end = "\n" if i == len(tokens) - 1 else " "
            words.append(prefix + token + end)
            prefix = ""
    if not words:
        return []
    lead = min(8.0, length * 0.1)
    slot = (length * 0.95 - lead) / len(words)
    return [
        {
            "word": word,
            "success": True,
            "startS": round(lead + i * slot, 3),
            "endS": round(lead + i * slot + slot * 0.85, 3),
            "palign": 0,
        }
        for i, word in enumerate(words)
    ]


def waveform(audio: str, points: int = 120) -> list[float]:
    """Return a deterministic amplitude envelope of `points` floats in [0, 1]."""
    phase = unit("phase", audio) * math.tau
    values = []
    for i in range(points):
        swell = 0.35 + 0.65 * abs(math.sin(i / points * math.pi))
        jitter = 0.5 + 0.5 * unit("wave", audio, str(i))
        values.append(round(abs(math.sin(i * 0.37 + phase)) * swell * jitter, 3))
    return values


def hoot_cer(audio: str) -> float:
    """Return a deterministic alignment error rate for a track (0.05 to 0.35)."""
    return round(0.05 + 0.3 * unit("hoot", audio), 4)


def boosted_style(content: str) -> str:
    """Expand a short style hint into a richer, deterministic style description."""
    hint = content.strip()
    bpm = 80 + int(unit("bpm", hint) * 70)
    return (
        f"{hint}, {pick(_MOODS, 'mood', hint)} {pick(_GENRES, 'genre', hint)} feel "
        f"around {bpm} BPM, featuring {pick(_INSTRUMENTS, 'lead', hint)} over "
        f"{pick(_INSTRUMENTS, 'bed', hint)}, layered harmonies and a wide, polished mix"
    )


def file_bytes(name: str) -> tuple[bytes, str]:
    """Return small deterministic bytes and the content type for a served file name."""
    filler = b"".join(digest("file", name, str(i)) for i in range(10))  # 320 bytes
    if name.endswith(".png"):
        return b"\x89PNG\r\n\x1a\n" + filler, "image/png"
    if name.endswith((".jpeg", ".jpg")):
        return b"\xff\xd8\xff\xe0" + filler + b"\xff\xd9", "image/jpeg"
    # An ID3v2 header followed by filler: enough to look like an MP3 to a sniffer.
    return b"ID3\x04\x00\x00\x00\x00\x00\x00" + filler, "audio/mpeg"
