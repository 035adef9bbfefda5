"""Word timings of a track written as LRC, SRT and WebVTT files for players and video editors.

python examples/karaoke_subtitles.py [output-directory]
"""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

from anyint_music import Model
from anyint_music.testing import client_from_env

LYRICS = "[Verse]\nLight the lamp and climb the stair\nNo one sails tonight\n\n[Chorus]\nShine on\n"


async def main(out: Path) -> None:
    async with client_from_env() as client:
        song = await client.generate(
            LYRICS, model=Model.V5, custom_mode=True, title="Lamp", style="ballad"
        )
        track = song.tracks[0]
        timed = await client.timestamped_lyrics(song.task_id, track.id)
        for suffix, text in (
            (".lrc", timed.to_lrc()),
            (".srt", timed.to_srt()),
            (".vtt", timed.to_vtt()),
        ):
            path = out / f"{track.id}{suffix}"
            await asyncio.to_thread(path.write_text, text, encoding="utf-8")
            print(f"wrote {path}")
        print(timed.to_lrc())


if __name__ == "__main__":
    out = Path(sys.argv[1] if len(sys.argv) > 1 else "subtitles")
    out.mkdir(parents=True, exist_ok=True)
    asyncio.run(main(out))
