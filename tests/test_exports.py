"""The public surface: every name in __all__ exists, is documented, and nothing private leaks."""

from __future__ import annotations

import anyint_music
import anyint_music.errors
import anyint_music.testing


def test_all_is_sorted_and_complete() -> None:
    assert anyint_music.__all__ == sorted(anyint_music.__all__)
    for name in anyint_music.__all__:
        assert getattr(anyint_music, name) is not None


def test_every_public_name_is_documented() -> None:
    for module in (anyint_music, anyint_music.testing):
        for name in module.__all__:
            obj = getattr(module, name)
            if callable(obj):
                assert obj.__doc__, f"{module.__name__}.{name} has no docstring"


def test_every_error_is_exported_from_the_root() -> None:
    assert set(anyint_music.errors.__all__) <= set(anyint_music.__all__)
    for name in anyint_music.errors.__all__:
        assert issubclass(getattr(anyint_music, name), anyint_music.AnyIntError)


def test_version() -> None:
    assert isinstance(anyint_music.__version__, str)
    assert anyint_music.__version__
