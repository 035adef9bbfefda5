"""Deterministic content for the simulated gateway: ids, tracks, lyrics, timings, files.

Everything here is a pure function of its inputs, so two runs with the same requests produce the
same results and tests can tell tasks apart by what they asked for.
"""

from __future__ import annotations

import hashlib
import math
import re
import struct
import uuid
import zlib
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


# --- served files: small but real MP3, PNG and JPEG bytes ------------------------------------

# MPEG-1 Layer III, 32 kbit/s, 48 kHz, mono, no CRC: every frame is exactly 96 bytes
# (144 * 32000 / 48000) and holds 1152 samples (24 ms).
_MP3_HEADER = bytes((0xFF, 0xFB, 0x14, 0xC0))
_MP3_FRAME = 96
_MP3_SIDE_INFO = 17  # mono


def mp3_bytes(name: str) -> bytes:
    """A short, valid MP3 of silence (6 to 9 frames, 0.14 to 0.22 s), deterministic per name.

    Side information of zeros means no Huffman data (part2_3_length 0), so decoders play
    silence; the rest of each frame is ancillary data, which they skip. It carries bytes from
    the name's digest, always below 0x80 so that no false frame sync can appear in it.
    """
    frames = 6 + digest("mp3 frames", name)[0] % 4
    filler = _MP3_FRAME - len(_MP3_HEADER) - _MP3_SIDE_INFO
    out = bytearray()
    for i in range(frames):
        ancillary = (digest("mp3", name, str(i)) * 3)[:filler]
        out += _MP3_HEADER + bytes(_MP3_SIDE_INFO) + bytes(b & 0x7F for b in ancillary)
    return bytes(out)


def _png_chunk(kind: bytes, data: bytes) -> bytes:
    body = kind + data
    return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))


def png_bytes(name: str, size: int = 32) -> bytes:
    """A valid ``size`` x ``size`` RGB PNG: a diagonal gradient between two colours of the name."""
    seed = digest("png", name)
    a, b = seed[:3], seed[3:6]
    rows = bytearray()
    for y in range(size):
        rows.append(0)  # filter type: none
        for x in range(size):
            t = (x + y) / (2 * size - 2)
            rows += bytes(round(a[c] + (b[c] - a[c]) * t) for c in range(3))
    header = struct.pack(">IIBBBBB", size, size, 8, 2, 0, 0, 0)  # 8-bit RGB, no interlace
    return (
        b"\x89PNG\r\n\x1a\n"
        + _png_chunk(b"IHDR", header)
        + _png_chunk(b"IDAT", zlib.compress(bytes(rows), 9))
        + _png_chunk(b"IEND", b"")
    )


def _segment(marker: int, payload: bytes) -> bytes:
    return bytes((0xFF, marker)) + struct.pack(">H", len(payload) + 2) + payload


class _Bits:
    """An entropy-coded JPEG segment: bits packed MSB first, 0xFF bytes stuffed with 0x00."""

    def __init__(self) -> None:
        self.out = bytearray()
        self.acc = 0
        self.count = 0

    def put(self, value: int, length: int) -> None:
        for shift in range(length - 1, -1, -1):
            self.acc = (self.acc << 1) | (value >> shift & 1)
            self.count += 1
            if self.count == 8:
                self.out.append(self.acc)
                if self.acc == 0xFF:
                    self.out.append(0)
                self.acc = self.count = 0

    def flush(self) -> bytes:
        if self.count:
            self.put((1 << (8 - self.count)) - 1, 8 - self.count)  # pad with 1 bits
        return bytes(self.out)


def jpeg_bytes(name: str, blocks: int = 4) -> bytes:
    """A valid baseline JPEG of ``blocks`` x ``blocks`` flat 8x8 tiles (32x32 px by default).

    Each tile is one colour (only DC coefficients; every AC run is an immediate end-of-block),
    so the Huffman tables need just the DC size categories (4-bit codes) and EOB (code ``0``).
    Luma rises across the tiles; the chroma tint comes from the name.
    """
    seed = digest("jpeg", name)
    quant = 8  # every coefficient; a flat tile of level L then has DC = L - 128
    tint = (seed[0] % 96 - 48, seed[1] % 96 - 48)
    dht_dc = bytes([0x00, 0, 0, 0, 12] + [0] * 12) + bytes(range(12))
    dht_ac = bytes([0x10, 1] + [0] * 15) + b"\x00"
    head = (
        b"\xff\xd8"
        + _segment(0xE0, b"JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00")
        + _segment(0xDB, b"\x00" + bytes([quant] * 64))
        + _segment(
            0xC0,
            struct.pack(">BHHB", 8, 8 * blocks, 8 * blocks, 3)
            + b"\x01\x11\x00\x02\x11\x00\x03\x11\x00",
        )
        + _segment(0xC4, dht_dc + dht_ac)
        + _segment(0xDA, b"\x03\x01\x00\x02\x00\x03\x00\x00\x3f\x00")
    )
    bits = _Bits()
    previous = [0, 0, 0]
    for row in range(blocks):
        for col in range(blocks):
            luma = 40 + (row * blocks + col) * 175 // max(blocks * blocks - 1, 1) + seed[2] % 32
            for component, dc in enumerate((min(luma, 255) - 128, tint[0], tint[1])):
                diff = dc - previous[component]
                previous[component] = dc
                category = abs(diff).bit_length()
                bits.put(category, 4)
                if category:
                    bits.put(diff if diff > 0 else diff + (1 << category) - 1, category)
                bits.put(0, 1)  # end of block: every AC coefficient is zero
    return head + bits.flush() + b"\xff\xd9"


def file_bytes(name: str) -> tuple[bytes, str]:
    """Return small, real, deterministic bytes and the content type for a served file name."""
    if name.endswith(".png"):
        return png_bytes(name), "image/png"
    if name.endswith((".jpeg", ".jpg")):
        return jpeg_bytes(name), "image/jpeg"
    return mp3_bytes(name), "audio/mpeg"


def byte_range(header: str | None, size: int) -> tuple[int, int] | None:
    """The inclusive ``(first, last)`` bytes a ``Range`` header asks for, or ``None`` for all.

    Handles one range (``bytes=N-``, ``bytes=N-M``, ``bytes=-K``); anything else (several
    ranges, other units, nonsense) is ignored, as RFC 9110 allows, and the whole file is sent.

    Raises:
        ValueError: the range lies entirely past the end (answer 416).
    """
    match = re.fullmatch(r"\s*bytes\s*=\s*(\d*)\s*-\s*(\d*)\s*", header or "")
    if match is None or match.group(1) == match.group(2) == "":
        return None
    first_text, last_text = match.groups()
    if first_text == "":
        suffix = int(last_text)
        if suffix == 0:
            raise ValueError("an empty suffix range")
        return max(size - suffix, 0), size - 1
    first = int(first_text)
    last = min(int(last_text), size - 1) if last_text else size - 1
    if last_text and int(last_text) < first:
        return None
    if first >= size:
        raise ValueError(f"the range starts at {first}, past the end ({size} bytes)")
    return first, last
