"""Named entries of one kind (divergences, estimators): extension by registration.

A :class:`Registry` is a read-only mapping from a name to an entry that carries everything the
code reading it needs (a function, its unit, a description). The functions of the core look
names up in it instead of branching on literal strings, the command line lists its keys as the
choices of an option, and reports read an entry's unit. Adding a divergence or an estimator is
one call to :meth:`Registry.register` (or the module's ``register_*`` helper) in one file.

Examples
--------
>>> from dataclasses import dataclass
>>> @dataclass(frozen=True)
... class Colour:
...     name: str
...     rgb: tuple[int, int, int]
>>> COLOURS = Registry("colour")
>>> _ = COLOURS.register(Colour("red", (255, 0, 0)))
>>> COLOURS.lookup("red").rgb
(255, 0, 0)
>>> print(COLOURS)
['red']
>>> COLOURS.lookup("blue")
Traceback (most recent call last):
...
causal_influence.errors.ConfigError: colour: expected one of ['red']; got 'blue'
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Protocol, TypeVar

from causal_influence.errors import ConfigError, DTypeError, describe
from causal_influence.validation import check_choice

__all__ = ["Registry"]


class _Named(Protocol):
    @property
    def name(self) -> str: ...


EntryT = TypeVar("EntryT", bound=_Named)


class Registry(Mapping[str, EntryT]):
    """A mapping from names to entries, filled by :meth:`register`.

    Parameters
    ----------
    option : str
        Name of the option whose values are looked up here (``"divergence"``), used in error
        messages.
    hint : str
        Appended to the message of an unknown name (e.g. which name is the default).

    Notes
    -----
    ``str(registry)`` is the list of names, so messages written as
    ``f"expected one of {REGISTRY}"`` read naturally.
    """

    def __init__(self, option: str, *, hint: str = "") -> None:
        self.option = option
        self.hint = hint
        self._entries: dict[str, EntryT] = {}

    def register(self, entry: EntryT, *, replace: bool = False) -> EntryT:
        """Add ``entry`` under ``entry.name`` and return it.

        Raises
        ------
        DTypeError
            When the entry has no string ``name``.
        ConfigError
            When the name is taken and ``replace`` is False.
        """
        name = getattr(entry, "name", None)
        if not isinstance(name, str) or not name:
            raise DTypeError(
                f"{self.option} registry: expected an entry with a non-empty string name; got "
                f"{describe(entry)}"
            )
        if name in self._entries and not replace:
            raise ConfigError(
                f"{self.option} {name!r} is already registered; pass replace=True to replace it "
                f"or choose another name"
            )
        self._entries[name] = entry
        return entry

    def unregister(self, name: str) -> EntryT:
        """Remove and return the entry ``name`` (for tests and temporary extensions)."""
        return self._entries.pop(self.lookup(name).name)

    def lookup(self, name: str) -> EntryT:
        """The entry registered as ``name``; a :class:`ConfigError` listing the names otherwise."""
        check_choice(self.option, name, self._entries, hint=self.hint)
        return self._entries[name]

    def __getitem__(self, name: str) -> EntryT:
        return self._entries[name]

    def __iter__(self) -> Iterator[str]:
        return iter(self._entries)

    def __len__(self) -> int:
        return len(self._entries)

    def __str__(self) -> str:
        return str(list(self._entries))

    def __repr__(self) -> str:
        return f"Registry({self.option!r}: {list(self._entries)})"
