"""Regexes that fail fast where they cannot match: a first-character guard.

Python's regex engine tries a pattern at every position of the text. A pattern that
starts with a look-behind ("(?<![a-z])") or with several alternatives gets no help from
the engine's own first-character scan, so at every word start it tries every
alternative. ``guarded`` computes the set of characters any match can start with (from
the parsed pattern, ``re._parser``) and puts a one-character look-ahead in front: a
position whose character is not in the set fails after one test. The matches are the
same, because the set holds every character a match can start with; where the set
cannot be known (a match may be empty, or start with any character) the pattern is
compiled as it is.

Pure module: no spaCy, no Django.
"""

from __future__ import annotations

import re
import string
from collections.abc import Iterable
from typing import Any

try:  # Python 3.11+: the regex parser lives in re._parser
    from re import _constants as _c  # type: ignore[attr-defined]  # private: not in typeshed
    from re import _parser as _p  # type: ignore[attr-defined]  # private: not in typeshed
except ImportError:  # pragma: no cover - older Pythons
    import sre_constants as _c
    import sre_parse as _p

# Characters the guard lists one by one; a set outside these is "unknown" (no guard).
_KNOWN = frozenset(string.printable) | frozenset("–—•·")
_CATEGORIES = {
    _c.CATEGORY_DIGIT: frozenset(string.digits),
    _c.CATEGORY_SPACE: frozenset(" \t\n\r\f\v"),
}
_INLINE_FLAGS = re.compile(r"\(\?[aiLmsux]+\)")
_ZERO_WIDTH = (_c.ASSERT, _c.ASSERT_NOT, _c.AT)
_REPEATS = tuple(
    op for op in (_c.MAX_REPEAT, _c.MIN_REPEAT, getattr(_c, "POSSESSIVE_REPEAT", None)) if op
)


class _Unknown(Exception):
    pass


def _charset(items: Iterable[tuple[Any, Any]]) -> frozenset[str]:
    chars: set[str] = set()
    negate = False
    for op, av in items:
        if op is _c.LITERAL:
            chars.add(chr(av))
        elif op is _c.RANGE:
            chars.update(chr(x) for x in range(av[0], av[1] + 1))
        elif op is _c.NEGATE:
            negate = True
        elif op is _c.CATEGORY and av in _CATEGORIES:
            chars |= _CATEGORIES[av]
        else:
            raise _Unknown
    return frozenset(_KNOWN - chars if negate else chars)


def _first(sequence: Iterable[tuple[Any, Any]]) -> tuple[frozenset[str], bool]:
    """(characters a match of ``sequence`` can start with, whether it can match empty)."""
    out: set[str] = set()
    for op, av in sequence:
        chars, empty = _first_of(op, av)
        out |= chars
        if not empty:
            return frozenset(out), False
    return frozenset(out), True


def _first_of(op: Any, av: Any) -> tuple[frozenset[str], bool]:
    if op is _c.LITERAL:
        return frozenset(chr(av)), False
    if op is _c.NOT_LITERAL:
        return _KNOWN - {chr(av)}, False
    if op is _c.IN:
        return _charset(av), False
    if op is _c.BRANCH:
        union: set[str] = set()
        empty = False
        for alternative in av[1]:
            c, e = _first(alternative)
            union |= c
            empty = empty or e
        return frozenset(union), empty
    if op is _c.SUBPATTERN:
        return _first(av[-1])
    if op in _REPEATS:
        low, _high, item = av
        chars, empty = _first(item)
        return chars, low == 0 or empty
    if op in _ZERO_WIDTH:
        return frozenset(), True  # look at what follows: a superset of the real first characters
    if op is getattr(_c, "ATOMIC_GROUP", None):
        return _first(av)
    raise _Unknown  # ANY, group references, conditionals ...


def first_chars(pattern: str, flags: int = 0) -> frozenset[str] | None:
    """Every character a non-empty match of ``pattern`` can start with, or None if unknown."""
    if flags & (re.IGNORECASE | re.VERBOSE):
        return None
    try:
        chars, empty = _first(_p.parse(pattern, flags))
    except _Unknown:
        return None
    return None if empty or not chars else chars


def guard(pattern: str) -> str:
    """``pattern`` with a first-character look-ahead in front when it is known.

    For one alternative of a larger alternation: the engine skips an alternative on its first
    character only when it starts with a literal or a character set, never when it starts
    with a group (a named group marks first), so without a guard it enters every group at
    every word start.
    """
    chars = first_chars(pattern)
    if chars is None or _INLINE_FLAGS.match(pattern):
        return pattern
    return f"(?=[{''.join(re.escape(c) for c in sorted(chars))}])" + pattern


def guarded(pattern: str, flags: int = 0) -> re.Pattern:
    """``re.compile(pattern, flags)`` with a first-character look-ahead in front when it is known."""
    chars = first_chars(pattern, flags)
    if chars is None or _INLINE_FLAGS.match(pattern):
        return re.compile(pattern, flags)  # (inline flags must stay at the start; rare here)
    charset = "".join(re.escape(c) for c in sorted(chars))
    return re.compile(f"(?=[{charset}])(?:{pattern})", flags)
