"""Key material that never shows itself."""

from __future__ import annotations

import hmac

__all__ = ["Secret"]


class Secret:
    """Bytes of key material with a masked ``repr`` and ``str``.

    The value is reachable only through :meth:`reveal`, so printing, logging or formatting a
    key (or an object holding one) shows ``****``.
    """

    __slots__ = ("__value", "label")

    def __init__(self, value: bytes, *, label: str = "key") -> None:
        self.__value = bytes(value)
        self.label = label

    def reveal(self) -> bytes:
        return self.__value

    def __len__(self) -> int:
        return len(self.__value)

    def __repr__(self) -> str:
        return f"<Secret {self.label} ****>"

    __str__ = __repr__

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Secret):
            return NotImplemented
        return hmac.compare_digest(self.__value, other.__value)

    def __hash__(self) -> int:
        return hash((Secret, self.label))

    def __reduce__(self) -> str | tuple[object, ...]:
        raise TypeError("key material cannot be pickled")
