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


# A 32x32 baseline JPEG of 4x4 flat, tinted tiles rising in brightness: only DC coefficients
# are coded (every AC run is an immediate end-of-block), so it is tiny yet real.
_JPEG = bytes.fromhex(
    "ffd8"  # start of image
    # APP0: JFIF 1.1, no density, no thumbnail
    "ffe000104a46494600010100000100010000"
    # DQT: 8 for every coefficient (`jpeg_bytes` replaces the AC entries)
    "ffdb004300080808080808080808080808080808080808080808080808080808080808080808080808080808"
    "08080808080808080808080808080808080808080808080808"
    # SOF0: baseline, 8 bit, 32x32, 3 components, no subsampling
    "ffc00011080020002003011100021100031100"
    # DHT: DC sizes 0-11 (4-bit codes), AC end-of-block only
    "ffc40031000000000c000000000000000000000000000102030405060708090a0b1001000000000000000000"
    "00000000000000"
    # SOS: the three components, then the entropy-coded DC differences
    "ffda000c03010002000300003f00"
    "750648904b000980013000258004c000980012c00260004c000960013000260004b0009800130007"
    "ffd9"  # end of image
)
_JPEG_AC_QUANT = slice(26, 89)  # the 63 AC entries of the quantization table


def jpeg_bytes(name: str) -> bytes:
    """A valid 32x32 baseline JPEG of 215 bytes; the bytes differ per name, the picture does not.

    The name's digest fills the quantization table's AC entries: every AC coefficient is zero,
    so they scale nothing, and a downloader still sees different files for different tracks.
    """
    ac = bytes(1 + b % 255 for b in (digest("jpeg", name) * 2)[:63])  # 0 is no valid quantizer
    return _JPEG[: _JPEG_AC_QUANT.start] + ac + _JPEG[_JPEG_AC_QUANT.stop :]


_WAV_RATE = 8000  # samples per second: mono, 16-bit PCM


def wav_bytes(name: str) -> bytes:
    """A valid RIFF/WAVE file: one second of 8 kHz, 16-bit mono silence.

    The samples alternate between 0 and a value of at most 3 picked from the name's digest,
    far below hearing, so different names give different files.
    """
    low = digest("wav", name)[0] % 4
    samples = struct.pack("<2h", 0, low) * (_WAV_RATE // 2)
    fmt = struct.pack("<HHIIHH", 1, 1, _WAV_RATE, _WAV_RATE * 2, 2, 16)  # PCM, 1 channel
    chunks = b"WAVE" + b"fmt " + struct.pack("<I", len(fmt)) + fmt
    chunks += b"data" + struct.pack("<I", len(samples)) + samples
    return b"RIFF" + struct.pack("<I", len(chunks)) + chunks


def _box(kind: bytes, payload: bytes) -> bytes:
    return struct.pack(">I", 8 + len(payload)) + kind + payload


def mp4_bytes(name: str) -> bytes:
    """An ISO base media file: a 24-byte ``ftyp`` box (brand ``isom``, minor version 0x200,
    compatible ``isom`` and ``mp41``), a ``free`` box with bytes of the name's digest and an
    empty ``mdat`` box. It has no ``moov``: players see a file with no tracks."""
    ftyp = _box(b"ftyp", b"isom" + struct.pack(">I", 0x200) + b"isom" + b"mp41")
    return ftyp + _box(b"free", digest("mp4", name)) + _box(b"mdat", b"")


_FILE_KINDS = (
    (".png", png_bytes, "image/png"),
    (".jpeg", jpeg_bytes, "image/jpeg"),
    (".jpg", jpeg_bytes, "image/jpeg"),
    (".wav", wav_bytes, "audio/wav"),
    (".mp4", mp4_bytes, "video/mp4"),
)


def file_bytes(name: str) -> tuple[bytes, str]:
    """Return small, real, deterministic bytes and the content type for a served file name."""
    for suffix, make, kind in _FILE_KINDS:
        if name.endswith(suffix):
            return make(name), kind
    return mp3_bytes(name), "audio/mpeg"
