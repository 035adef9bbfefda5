"""Write lyrics first, pick a variant, then sing it; finish with cover art.

python examples/lyrics_then_song.py "a lighthouse keeper's last night"
"""

from __future__ import annotations

import asyncio
import sys

from anyint_music import Model
from anyint_music.testing import client_from_env


async def main(theme: str) -> None:
    async with client_from_env() as client:
        lyrics = await client.generate_lyrics(theme)
        for i, variant in enumerate(lyrics.variants):
            print(f"--- variant {i}: {variant.title}\n{variant.text}\n")
        chosen = next(v for v in lyrics.variants if v.ok)
        song = await client.generate(
            chosen.text, model=Model.V5, custom_mode=True, title=chosen.title[:100], style="folk"
        )
        cover = await client.generate_cover(song.task_id)
        print("tracks:", [t.audio_url for t in song.tracks])
        print("cover art:", list(cover.images))


if __name__ == "__main__":
    asyncio.run(main(" ".join(sys.argv[1:]) or "a lighthouse keeper's last night"))
