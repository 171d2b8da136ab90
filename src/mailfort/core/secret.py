"""``Secret[T]``: a value that never shows itself in a repr, str or log line."""

from __future__ import annotations

from typing import Generic, TypeVar

__all__ = ["Secret"]

T = TypeVar("T")


class Secret(Generic[T]):
    """Wraps a credential from parse time on. ``reveal()`` is the only way in."""

    __slots__ = ("_value",)

    def __init__(self, value: T) -> None:
        self._value = value

    def reveal(self) -> T:
        return self._value

    def __repr__(self) -> str:
        return "Secret(****)"

    __str__ = __repr__

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Secret) and other._value == self._value

    def __hash__(self) -> int:
        return hash(("Secret", self._value))

    def __reduce__(self) -> str | tuple[object, ...]:  # never pickle a secret by accident
        raise TypeError("Secret values cannot be pickled")
