"""Regexes that fail fast where they cannot match: a first-character guard.

Python's regex engine tries a pattern at every position of the text. A pattern that
starts with a look-behind ("(?<![a-z])") or with several alternatives gets no help from
the engine's own first-character scan, so at every word start it tries every
alternative. ``guarded`` computes the set of characters any match can start with (from
the parsed pattern, ``re._parser``) and puts a one-character look-ahead in front: a
position whose character is not in the set fails after one test. The matches are the
same, because the set holds every character a match can start with; where the set
cannot be known (a match may be empty, or start with a character of a negated set or a
category, which Unicode makes too many to list) the pattern is compiled as it is.
``dispatched`` goes further for long alternations (see there).

Pure module: no spaCy, no Django.
"""

from __future__ import annotations

import _sre  # type: ignore[import-not-found]  # the regex engine: no stubs
import contextlib
import re
import string
from collections.abc import Iterable
from typing import Any

try:  # Python 3.11+: the regex parser lives in re._parser
    from re import _compiler  # type: ignore[attr-defined]  # private: not in typeshed
    from re import _constants as _c  # type: ignore[attr-defined]  # private: not in typeshed
    from re import _parser as _p  # type: ignore[attr-defined]  # private: not in typeshed
except ImportError:  # pragma: no cover - older Pythons
    import sre_compile as _compiler
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
        parsed = _p.parse(pattern, flags)
        _closed_start(parsed.data)
        chars, empty = _first(parsed)
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
    return re.compile(_guarded_text(pattern, flags), flags)


def _guarded_text(pattern: str, flags: int) -> str:
    chars = first_chars(pattern, flags)
    if chars is None or _INLINE_FLAGS.match(pattern):
        return pattern  # (inline flags must stay at the start; rare here)
    charset = "".join(re.escape(c) for c in sorted(chars))
    return f"(?=[{charset}])(?:{pattern})"


# --------------------------------------------------------------------------
# First-character dispatch of a long alternation
#
# At every position where it is tried, the engine walks an alternation's alternatives one by
# one. It passes over an alternative cheaply when that alternative begins with a literal or a
# character set the current character fails, but it must enter one that begins with a group,
# a look-around or a nested alternation, and a rule alternation of many groups costs most of
# its time there, at every word start. ``dispatched`` rewrites such an alternation as one
# alternative per first character, each a literal: "c" followed by what each original
# alternative matches after a "c" (its derivative, in the sense of Brzozowski), in the
# original order. At a given position only the alternatives that can start with that
# character can match, and they are tried in the same order, so the matches are the same.


_DISPATCH_DEPTH = 2  # characters
# Letters by how often they occur in English text, most often first
_LETTER_FREQUENCY = "etaoinsrhldcumfpgwybvkxjqz"


def _scan_order(ch: str) -> tuple[int, str]:
    rank = _LETTER_FREQUENCY.find(ch)
    return (rank if rank >= 0 else len(_LETTER_FREQUENCY), ch)


# What a str pattern's categories match (Unicode, as the engine tests them)
_IS_CATEGORY = {
    _c.CATEGORY_DIGIT: str.isdecimal,
    _c.CATEGORY_NOT_DIGIT: lambda ch: not ch.isdecimal(),
    _c.CATEGORY_SPACE: str.isspace,
    _c.CATEGORY_NOT_SPACE: lambda ch: not ch.isspace(),
    _c.CATEGORY_WORD: lambda ch: ch.isalnum() or ch == "_",
    _c.CATEGORY_NOT_WORD: lambda ch: not (ch.isalnum() or ch == "_"),
}


def _closed_start(sequence: Iterable[tuple[Any, Any]]) -> None:
    """Raise _Unknown unless every character a match of ``sequence`` can start with is named
    (a literal or a range; not a negated set, a category or any character, whose characters
    ``_first`` lists from the printable ones only)."""
    for op, av in sequence:
        if op is _c.LITERAL:
            return
        if op is _c.IN:
            if any(iop not in (_c.LITERAL, _c.RANGE) for iop, _iav in av):
                raise _Unknown
            return
        if op is _c.BRANCH:
            for alternative in av[1]:
                _closed_start(alternative.data)
            if all(alternative.getwidth()[0] for alternative in av[1]):
                return
        elif op is _c.SUBPATTERN:
            _closed_start(av[-1].data)
            if av[-1].getwidth()[0]:
                return
        elif op in _REPEATS:
            _closed_start(av[2].data)
            if av[0] and av[2].getwidth()[0]:
                return
        elif op not in _ZERO_WIDTH:
            raise _Unknown


class _Rewriter:
    def __init__(self, state: Any, flags: int, kind_groups: bool) -> None:
        self.state = state
        self.dotall = bool(flags & re.DOTALL)
        self.kind_groups = kind_groups

    def seq(self, data: list[tuple[Any, Any]]) -> Any:
        return _p.SubPattern(self.state, data)

    def holds(self, op: Any, av: Any, ch: str) -> bool:
        """Whether the one-character item (op, av) matches ``ch``."""
        o = ord(ch)
        if op is _c.LITERAL:
            return o == av
        if op is _c.NOT_LITERAL:
            return o != av
        if op is _c.ANY:
            return self.dotall or ch != "\n"
        if op is _c.IN:
            found = False
            negate = False
            for iop, iav in av:
                if iop is _c.NEGATE:
                    negate = True
                elif iop is _c.LITERAL:
                    found = found or o == iav
                elif iop is _c.RANGE:
                    found = found or iav[0] <= o <= iav[1]
                elif iop is _c.CATEGORY and iav in _IS_CATEGORY:
                    found = found or _IS_CATEGORY[iav](ch)
                else:
                    raise _Unknown
            return found != negate
        raise _Unknown

    def derive(self, items: list[tuple[Any, Any]], ch: str) -> list[tuple[Any, Any]] | None:
        """What ``items`` matches after a first character ``ch``; None: no match starts with it."""
        if not items:
            return None
        op, av = items[0]
        rest = items[1:]
        if op in (_c.LITERAL, _c.NOT_LITERAL, _c.ANY, _c.IN):
            return rest if self.holds(op, av, ch) else None
        if op is _c.BRANCH:
            return self.branch([self.derive([*alt.data, *rest], ch) for alt in av[1]])
        if op is _c.SUBPATTERN:
            group, add_flags, del_flags, sub = av
            if add_flags or del_flags:
                raise _Unknown
            if group is None:
                return self.derive([*sub.data, *rest], ch)
            if not self.kind_groups or sub.getwidth()[0] == 0:
                raise _Unknown  # (it would start a character late; it could end before it)
            inner = self.derive(list(sub.data), ch)
            return None if inner is None else [(op, (group, 0, 0, self.seq(inner))), *rest]
        if op in (_c.MAX_REPEAT, _c.MIN_REPEAT):
            low, high, item = av
            if item.getwidth()[0] == 0:
                raise _Unknown
            if high == 0:  # ("x{0}": nothing)
                return self.derive(rest, ch)
            first = self.derive(list(item.data), ch)
            once = None
            if first is not None:
                more = high if high == _c.MAXREPEAT else high - 1
                again = [(op, (max(low - 1, 0), more, item))] if more else []
                once = [*first, *again, *rest]
            if low:
                return once
            skip = self.derive(rest, ch)
            return self.branch([once, skip] if op is _c.MAX_REPEAT else [skip, once])
        if op in (_c.ASSERT, _c.ASSERT_NOT):
            direction, sub = av
            after = self.derive(rest, ch)
            if after is None:
                return None
            if direction < 0:
                # a look-behind saw the text before the character; after it, it sees the character too
                return [(op, (direction, self.seq([*sub.data, (_c.LITERAL, ord(ch))]))), *after]
            if sub.getwidth()[0] == 0:
                raise _Unknown
            ahead = self.derive(list(sub.data), ch)
            if ahead is None:  # a look-ahead that cannot match here
                return None if op is _c.ASSERT else after
            if not ahead:  # ... or one the character alone matched
                return after if op is _c.ASSERT else None
            return [(op, (direction, self.seq(ahead))), *after]
        if op is _c.AT and av in (_c.AT_BOUNDARY, _c.AT_NON_BOUNDARY):
            # a word boundary before the character: the character before it is (not) a word one
            after = self.derive(rest, ch)
            if after is None:
                return None
            word_char = ch.isalnum() or ch == "_"
            behind = self.seq([(_c.IN, [(_c.CATEGORY, _c.CATEGORY_WORD)]), (_c.LITERAL, ord(ch))])
            wanted = word_char != (av is _c.AT_BOUNDARY)  # a word character before it
            return [(_c.ASSERT if wanted else _c.ASSERT_NOT, (-1, behind)), *after]
        raise _Unknown  # other anchors, back-references, atomic groups ...

    def branch(self, options: list[list[tuple[Any, Any]] | None]) -> list[tuple[Any, Any]] | None:
        kept = [o for o in options if o is not None]
        if not kept:
            return None
        if len(kept) == 1:
            return kept[0]
        return [(_c.BRANCH, (None, [self.seq(o) for o in kept]))]

    def dispatch(
        self, alternatives: list[Any], min_alternatives: int, depth: int = 1
    ) -> list[tuple[Any, Any]]:
        """One alternative per first character for ``alternatives`` (a BRANCH's); down to
        ``depth`` characters where many alternatives share the first ones."""
        firsts = []
        for alt in alternatives:
            _closed_start(alt.data)
            chars, empty = _first(alt.data)
            if empty or not chars:
                raise _Unknown
            firsts.append(chars)
        by_char = []
        # (the alternatives start with different characters, so any order finds the same
        # matches; the engine tests them in turn, so the characters of running text come first)
        for ch in sorted(frozenset().union(*firsts), key=_scan_order):
            derived = self.branch(
                [
                    self.derive(list(alt.data), ch)
                    for alt, f in zip(alternatives, firsts, strict=True)
                    if ch in f
                ]
            )
            if derived is None:
                continue
            # an alternation that follows (after look-arounds), dispatched on the next character
            k = next((i for i, (op, _av) in enumerate(derived) if op not in _ZERO_WIDTH), None)
            if (
                depth < _DISPATCH_DEPTH
                and k is not None
                and derived[k][0] is _c.BRANCH
                and len(derived[k][1][1]) >= min_alternatives
            ):
                with contextlib.suppress(_Unknown):  # (else dispatched on the characters so far)
                    inner = self.dispatch(derived[k][1][1], min_alternatives, depth + 1)
                    derived = [*derived[:k], *inner, *derived[k + 1 :]]
            by_char.append(self.seq([(_c.LITERAL, ord(ch)), *derived]))
        if len(by_char) == 1:
            # (one first character: a plain sequence, which the engine finds by its literal
            # prefix, faster than by the character set it takes from an alternation)
            return list(by_char[0].data)
        return [(_c.BRANCH, (None, by_char))]

    def rewrite(self, items: list[tuple[Any, Any]], min_alternatives: int) -> list[tuple[Any, Any]]:
        """``items`` with each alternation of ``min_alternatives`` or more dispatched."""
        out = []
        for op, av in items:
            if op is _c.BRANCH and len(av[1]) >= min_alternatives:
                out.extend(self.dispatch(av[1], min_alternatives))
            elif op is _c.BRANCH:
                alternatives = [
                    self.seq(self.rewrite(list(a.data), min_alternatives)) for a in av[1]
                ]
                out.append((op, (None, alternatives)))
            elif op is _c.SUBPATTERN and av[0] is None and not av[1] and not av[2]:
                out.extend(self.rewrite(list(av[3].data), min_alternatives))
            else:
                out.append((op, av))
        return out


# A look-behind that every match starts with is tested before the dispatch, not after each
# first character, where a match may start with more characters than this: at a position inside
# a word the engine then fails on one test, where it would walk the dispatch to the character's
# alternative first (its first-character scan skips little when most letters can start a match).
# Where fewer characters can start a match, that scan skips most of the text, and the
# look-behind stays after the character (bench: global_re 28% faster hoisted, with 15 first
# characters; the 4 of the dictation phrases twice as slow).
_HOIST_BEHIND_ABOVE = 8  # first characters


def _behind_first(parsed: Any, rewriter: _Rewriter, min_alternatives: int, guarded: bool) -> Any:
    """The ``parsed`` pattern's leading look-behinds, then the rest dispatched (None: it starts
    with none, or few characters can start a match); ``guarded``: it starts with the guard."""
    items = list(parsed.data)[1:] if guarded else list(parsed.data)
    while len(items) == 1 and items[0][0] is _c.SUBPATTERN and items[0][1][0] is None:
        if items[0][1][1] or items[0][1][2]:
            return None  # (a group with flags of its own)
        items = list(items[0][1][3].data)
    lead = []
    while items and items[0][0] in (_c.ASSERT, _c.ASSERT_NOT) and items[0][1][0] < 0:
        lead.append(items.pop(0))
    if not lead or not items:
        return None
    rest = _p.SubPattern(parsed.state, items)
    _closed_start(rest.data)
    chars, empty = _first(rest.data)
    if empty or len(chars) <= _HOIST_BEHIND_ABOVE:
        return None
    return _p.SubPattern(parsed.state, [*lead, *rewriter.dispatch([rest], min_alternatives)])


def dispatched(
    pattern: str, flags: int = 0, *, kind_groups: bool = False, min_alternatives: int = 8
) -> re.Pattern:
    """``guarded(pattern, flags)`` dispatched on its first character (see above): the same
    matches, found faster. The whole pattern where it can be (then the engine also scans the text
    for the characters a match can start with), else each of its top-level alternations of
    ``min_alternatives`` or more alternatives; the alternations that follow the first character
    are dispatched on the second where they have that many.

    A capturing group that begins where an alternative begins would start one character late in
    the rewritten pattern. With ``kind_groups`` such groups are taken to name the kind of match
    only: their ``lastgroup`` / ``lastindex`` and the whole match (group 0) keep their meaning,
    their own spans do not. Without it, or where a part cannot be rewritten (an anchor, a
    back-reference ...), the pattern is compiled as ``guarded`` compiles it.
    """
    text = _guarded_text(pattern, flags)  # (compiled only where the rewrite cannot be made)
    try:
        parsed = _p.parse(text, flags)
        rewriter = _Rewriter(parsed.state, flags, kind_groups)
        try:
            # (past the first-character guard where one was put in front: it adds nothing)
            hoisted = _behind_first(parsed, rewriter, min_alternatives, guarded=text != pattern)
        except _Unknown:
            hoisted = None
        if hoisted is not None:
            tree = hoisted
        else:
            try:
                # the whole pattern as one alternative: every alternative of the result starts
                # with a literal, so the engine also skips the text's other characters without
                # trying a match there (its first-character scan)
                items = rewriter.dispatch([parsed], min_alternatives)
            except _Unknown:
                items = rewriter.rewrite(list(parsed.data), min_alternatives)
            tree = _p.SubPattern(parsed.state, items)
    except _Unknown:
        return re.compile(text, flags)
    # As re._compiler.compile does, except that the pattern keeps the text it is equivalent
    # to (``.pattern``; a copy or a pickle compiles that text again).
    state = tree.state
    index_group = [None] * state.groups
    for name, index in state.groupdict.items():
        index_group[index] = name
    return _sre.compile(
        text,
        flags | state.flags,
        _compiler._code(tree, flags),
        state.groups - 1,
        state.groupdict,
        tuple(index_group),
    )
