"""Custom mode: your own lyrics, style and title, sung as written.

python examples/custom_lyrics.py
"""

from __future__ import annotations

import asyncio

from anyint_music import Model
from anyint_music.testing import client_from_env

LYRICS = """[Verse]
Suitcase by the door, the kettle still warm
A ticket in my pocket, riding out the storm

[Chorus]
Take me where the summer never ends
Roads and rivers, old and brand-new friends
"""


async def main() -> None:
    async with client_from_env() as client:
        # A richer style description from a rough hint (answered synchronously).
        style = await client.style_generate("sunny indie pop, handclaps")
        song = await client.generate(
            LYRICS,
            model=Model.V5,
            custom_mode=True,
            title="Where the Summer Never Ends",
            style=style.text[:1000],
            vocal_gender="f",
            style_weight=0.7,
        )
        for track in song.tracks:
            print(track.title, track.audio_url)


if __name__ == "__main__":
    asyncio.run(main())
