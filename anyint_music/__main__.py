"""``python -m anyint_music``: the command line (see ``anyint-music --help``)."""

from __future__ import annotations

from ._cli import main

raise SystemExit(main())
