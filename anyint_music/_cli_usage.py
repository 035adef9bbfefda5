"""Rules between the command line's options, checked after parsing and before anything starts:
a broken one is a usage error (exit 2) and nothing is sent. The files options name are read
here too (``--lyrics``, ``--full-lyrics``), and a local ``FILE`` given as the audio to start
from must exist."""

from __future__ import annotations

import argparse
import os
import stat
from collections.abc import Callable

from ._cli_batch import check_lists
from ._cli_options import http_url, port
from ._cli_session import read_text
from ._settings import is_http_url

# Options that name a text file to read: the text goes to args.<dest>_text.
_TEXT_FILES = ("lyrics", "full_lyrics")


def check(parser: argparse.ArgumentParser, args: argparse.Namespace) -> None:
    """Apply the rules of ``args.command``; ``parser.error`` (exit 2) for a broken one."""
    _read_text_files(parser, args)
    check_lists(parser, args, _source)  # --from FILE
    if args.command in ("generate", "upload-cover"):
        _modes(parser, args)
    elif args.command in ("extend", "upload-extend"):
        _extension(parser, args)
    elif args.command in ("add-vocals", "replace-section"):
        _one_lyrics(parser, args)
        if not (args.prompt or args.lyrics is not None):
            parser.error(f"{args.command} needs the lyrics: --prompt TEXT or --lyrics FILE")
    if isinstance(getattr(args, "source", None), str):
        _source(parser, args.source)
    if args.command == "simulate" and not 0 <= args.port <= 65535:
        parser.error(f"--port must be 0..65535, got {args.port}")
    if args.command == "download":
        _download_dest(parser, args.out, len(args.urls))
    _receiver(parser, args)


# The receiver's options, and the environment variables that stand in for them.
_RECEIVER_ENV: tuple[tuple[str, str, Callable[[str], object], object], ...] = (
    ("public_url", "ANYINT_PUBLIC_URL", http_url, None),
    ("callback_host", "ANYINT_CALLBACK_HOST", str, "127.0.0.1"),
    ("callback_port", "ANYINT_CALLBACK_PORT", port, 0),
)


def _receiver(parser: argparse.ArgumentParser, args: argparse.Namespace) -> None:
    """``--public-url``, ``--callback-host``, ``--callback-port``: given, else from the
    environment (checked as the options are), else their defaults."""
    for dest, env, parse, default in _RECEIVER_ENV:
        if getattr(args, dest, None) is not None:
            continue
        text = os.environ.get(env)
        try:
            value = parse(text) if text else default
        except argparse.ArgumentTypeError as exc:
            parser.error(f"{env}={text!r}: {exc}")
        setattr(args, dest, value)


def _download_dest(parser: argparse.ArgumentParser, out: str, count: int) -> None:
    """Several URLs go to a directory: refuse a destination that looks like a file rather than
    make a folder named ``song.mp3``."""
    if count < 2 or out.endswith(("/", os.sep)) or os.path.isdir(out):
        return
    if os.path.lexists(out) or os.path.splitext(out)[1]:
        what = "is a file" if os.path.lexists(out) else "looks like a file name"
        parser.error(
            f"--out {out} {what}, but {count} URLs need a directory: give one "
            f"(e.g. --out {os.path.splitext(out)[0] or 'files'}/), or download one URL at a time"
        )


def _read_text_files(parser: argparse.ArgumentParser, args: argparse.Namespace) -> None:
    given: list[tuple[str, str]] = [
        (dest, getattr(args, dest)) for dest in _TEXT_FILES if getattr(args, dest, None) is not None
    ]
    if [path for _, path in given].count("-") > 1:
        parser.error("only one option can read stdin (-)")
    for dest, path in given:
        try:
            setattr(args, f"{dest}_text", read_text(path))
        except (OSError, UnicodeDecodeError) as exc:
            reason = "not UTF-8 text" if isinstance(exc, UnicodeDecodeError) else exc.strerror
            parser.error(f"cannot read --{dest.replace('_', '-')} {path}: {reason or exc}")


def _prompt_option(args: argparse.Namespace) -> str:
    return "PROMPT" if args.command == "generate" else "--prompt"


def _one_lyrics(parser: argparse.ArgumentParser, args: argparse.Namespace) -> None:
    if args.prompt and args.lyrics is not None:
        way = "as PROMPT" if args.command == "generate" else "with --prompt"
        parser.error(f"give the lyrics either {way} or with --lyrics, not both")


def _modes(parser: argparse.ArgumentParser, args: argparse.Namespace) -> None:
    """generate's and upload-cover's simple and custom modes."""
    prompt = _prompt_option(args)
    if not args.custom:
        extra = [f"--{n}" for n in ("title", "style", "lyrics", "persona") if getattr(args, n)]
        if extra:
            parser.error(f"{', '.join(extra)} need --custom (custom mode)")
        listed = args.command == "generate" and getattr(args, "listed", None)
        if not (args.prompt or listed):
            parser.error(f"{args.command} needs a {prompt} describing the song (or use --custom)")
        return
    _one_lyrics(parser, args)
    if not (args.title and args.style):
        parser.error("--custom needs --title and --style")
    if not (args.prompt or args.lyrics or args.instrumental):
        parser.error(f"--custom needs the lyrics ({prompt} or --lyrics FILE) or --instrumental")


def _extension(parser: argparse.ArgumentParser, args: argparse.Namespace) -> None:
    """extend's and upload-extend's rule: new parameters all together, or none."""
    _one_lyrics(parser, args)
    lyrics = args.prompt or args.lyrics
    upload = args.command == "upload-extend"
    given = [args.continue_at, lyrics, args.style, args.title]
    needed = [args.continue_at, args.style, args.title]
    if not getattr(args, "instrumental", False):
        needed.append(lyrics)
    if any(v is not None for v in given) and not all(v is not None for v in needed):
        unless = " unless --instrumental" if upload else ""
        parser.error(
            f"{args.command} with new parameters needs --continue-at, --style, --title and the "
            f"lyrics (--prompt or --lyrics){unless}; give none of them to inherit everything "
            f"from the {'recording' if upload else 'track'}"
        )


def _source(parser: argparse.ArgumentParser, source: str) -> None:
    """The audio to start from: an http(s) URL, or a readable local file."""
    if is_http_url(source):
        return
    hint = "give an audio file or an http(s) URL"
    try:
        if not stat.S_ISREG(os.stat(source).st_mode):
            parser.error(f"FILE {source} is not a regular file ({hint})")
        with open(source, "rb"):
            pass
    except OSError as exc:
        parser.error(f"cannot read FILE {source}: {exc.strerror or exc} ({hint})")
