from __future__ import annotations

import pickle

import pytest

from mailfort.core.secret import Secret


def test_secret_never_shows_itself() -> None:
    s = Secret("hunter2-correct-horse")
    assert "hunter2" not in repr(s)
    assert "hunter2" not in str(s)
    assert "hunter2" not in f"{s} {s!r}"
    assert s.reveal() == "hunter2-correct-horse"


def test_secret_cannot_be_pickled() -> None:
    with pytest.raises(TypeError):
        pickle.dumps(Secret("x"))
